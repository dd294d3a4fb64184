"""A delegate's itinerary: the .ics puts each meeting at its instant in its own zone (with
the file's own VTIMEZONE rules agreeing), the signed feed works without a login until it is
revoked, and the PDF is in the delegate's language with both clocks."""

from __future__ import annotations

import html
import re
import subprocess
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from icalendar import Calendar
from sqlmodel import Session, select

from crm.core.events import Event
from crm.itineraries.models import ItineraryFeed
from tests.itinerary_world import MEETINGS, MISSION_NAME, World, build
from tests.web_helpers import login


def pdftotext(data: bytes, tmp_path: Path) -> str:
    """The PDF's text in reading order, one space between words (a title may wrap in its
    cell), without the bidi marks poppler adds around runs."""
    source = tmp_path / "document.pdf"
    source.write_bytes(data)
    text = subprocess.run(["pdftotext", str(source), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(re.sub("[\u202a-\u202e\u2066-\u2069]", "", text).split())


def _paths(world: World, contact_id: int | None = None) -> str:
    return f"/missions/{world.mission.id}/itineraries/{contact_id or world.amina.id}"


def _feed_url(client: Any, world: World) -> str:
    page = client.get(_paths(world)).get_data(as_text=True)
    found = re.search(r'data-testid="itinerary-feed-url" readonly value="([^"]+)"', page)
    assert found, page
    return html.unescape(found.group(1)).replace("http://localhost", "")


def test_the_ics_puts_each_meeting_at_its_instant_in_its_own_zone(session: Session, client: Any) -> None:
    world = build(session)
    login(client, "viewer@jisr.example")  # reading an itinerary needs no right to change
    response = client.get(_paths(world) + ".ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"].startswith("attachment")
    calendar = Calendar.from_ical(response.data)
    zones = {str(tz["TZID"]): tz for tz in calendar.walk("VTIMEZONE")}
    assert set(zones) == {"America/Chicago", "America/Los_Angeles", "Africa/Casablanca"}
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {title for title, *_ in MEETINGS}  # not the meeting Amina skips
    for title, wall, zone, instant in MEETINGS:
        event = events[title]
        start, end = event["DTSTART"], event["DTEND"]
        assert start.params["TZID"] == zone
        assert start.dt.replace(tzinfo=None) == wall  # the wall time at the place
        assert start.dt.astimezone(UTC) == instant.replace(tzinfo=UTC), title
        assert end.dt.astimezone(UTC) - start.dt.astimezone(UTC) == timedelta(hours=1), title
        if title == "Late call with Houston":  # ends at the second 01:30 (CST): said in UTC
            assert "TZID" not in end.params and end.to_ical() == b"20261101T073000Z"
        else:
            assert end.params["TZID"] == zone
        # The file's own rules (what Outlook reads) give the same instant.
        own = zones[zone].to_tz()
        assert wall.replace(tzinfo=own).astimezone(UTC) == instant.replace(tzinfo=UTC), title
        assert str(event["UID"]) == f"meeting-{world.meetings[title].id}@jisr"
    # Morocco is on UTC+0 for good from 20 September 2026 (current tz data, not the old rules).
    casablanca = zones["Africa/Casablanca"].to_tz()
    assert MEETINGS[5][1].replace(tzinfo=casablanca).utcoffset() == timedelta(0)
    assert MEETINGS[4][1].replace(tzinfo=casablanca).utcoffset() == timedelta(hours=1)
    # The text is in Amina's language (Arabic), the place as the meeting says it.
    cisco = events["Cisco cybersecurity lab"]
    assert str(cisco["LOCATION"]) == "Cisco cybersecurity lab HQ"
    description = str(cisco["DESCRIPTION"])
    assert MISSION_NAME in description and "أمينة التازي" in description
    assert "البعثة" in description.split(MISSION_NAME)[0]  # the label, in Arabic
    # Fetched again, the same UIDs: a calendar updates its entries instead of doubling them.
    again = Calendar.from_ical(client.get(_paths(world) + ".ics").data)
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == {str(e["UID"]) for e in events.values()}


def test_a_delegate_without_meetings_has_an_empty_itinerary(session: Session, client: Any) -> None:
    world = build(session)
    login(client, "officer@jisr.example")
    page = client.get(_paths(world, world.youssef.id)).get_data(as_text=True)
    assert 'data-testid="itinerary-empty"' in page
    calendar = Calendar.from_ical(client.get(_paths(world, world.youssef.id) + ".ics").data)
    assert calendar.walk("VEVENT") == [] and calendar.walk("VTIMEZONE") == []
    # Someone who is no delegate of the mission has no itinerary in it.
    other = session.exec(select(Event).where(Event.type == "contact.created")).all()
    jane = next(e.entity_id for e in other if e.entity_id not in (world.amina.id, world.youssef.id))
    assert client.get(_paths(world, jane)).status_code == 404
    assert client.get(f"/missions/999999/itineraries/{world.amina.id}.ics").status_code == 404


def test_itineraries_need_a_login(session: Session, client: Any) -> None:
    world = build(session)
    for suffix in ("", ".ics", ".pdf"):
        response = client.get(_paths(world) + suffix)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_signed_feed_works_without_login_until_revoked(session: Session, client: Any, app: Any) -> None:
    world = build(session)
    login(client, "officer@jisr.example")
    url = _feed_url(client, world)
    outsider = app.test_client()  # a calendar application: no session
    response = outsider.get(url)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert len(Calendar.from_ical(response.data).walk("VEVENT")) == len(MEETINGS)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert outsider.get(f"/itineraries/feed/{forged}.ics").status_code == 404
    assert outsider.get("/itineraries/feed/not-a-token.ics").status_code == 404
    assert outsider.get(f"/itineraries/feed/{'x' * 600}.ics").status_code == 404

    # A viewer may not revoke the address: refused, nothing written.
    viewer = app.test_client()
    login(viewer, "viewer@jisr.example")
    assert viewer.post(_paths(world) + "/revoke").status_code == 403
    session.expire_all()
    assert session.exec(select(ItineraryFeed)).all() == []

    assert client.post(_paths(world) + "/revoke").status_code == 302
    assert outsider.get(url).status_code == 404  # the old address is refused
    new_url = _feed_url(client, world)
    assert new_url != url and outsider.get(new_url).status_code == 200
    session.expire_all()
    (event,) = session.exec(select(Event).where(Event.type == "mission.itinerary_feed_revoked")).all()
    assert event.entity_id == world.mission.id and event.actor_id == world.officer.id
    assert event.payload == {"contact_id": world.amina.id, "generation": 1}
    # Revoking for someone who is no delegate of the mission: 404, nothing written.
    assert client.post(f"/missions/{world.mission.id}/itineraries/999999/revoke").status_code == 404


def test_the_pdf_is_in_the_delegates_language_with_both_clocks(session: Session, client: Any, tmp_path: Path) -> None:
    world = build(session)
    login(client, "officer@jisr.example")  # the officer reads French; Amina reads Arabic
    response = client.get(_paths(world) + ".pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdftotext(response.data, tmp_path)
    assert MISSION_NAME in text and "أمينة التازي" in text
    for title, *_ in MEETINGS:
        assert title in text
    assert "Meeting without Amina" not in text
    # Houston on 9 March at 09:00 (UTC−05:00), 14:00 in Casablanca (UTC+00:00 during Ramadan).
    assert "09:00–10:00" in text and "14:00–15:00" in text
    assert re.search(r"UTC\u221205:00", text) and "شيكاغو" in text  # Chicago, named in Arabic

    french = pdftotext(client.get(_paths(world) + ".pdf?lang=fr").data, tmp_path)
    assert "Itinéraire" in french and MISSION_NAME in french
    bad = client.get(_paths(world) + ".pdf?lang=xx")
    assert bad.status_code == 400 and "Choisissez l’arabe, le français ou l’anglais." in bad.get_data(as_text=True)
    empty = pdftotext(client.get(_paths(world, world.youssef.id) + ".pdf").data, tmp_path)
    assert MISSION_NAME in empty and "Youssef Alami" in empty


def test_the_mission_page_links_each_delegates_itinerary(session: Session, client: Any) -> None:
    world = build(session)
    login(client, "viewer@jisr.example")
    page = client.get(f"/missions/{world.mission.id}").get_data(as_text=True)
    assert _paths(world) in page and _paths(world, world.youssef.id) in page
    assert f"/meetings/{world.skipped.id}/briefing.pdf" in page
    itinerary = client.get(_paths(world)).get_data(as_text=True)
    assert "Cisco cybersecurity lab" in itinerary and "Meeting without Amina" not in itinerary
    assert 'data-testid="itinerary-feed-revoke"' not in itinerary  # a viewer cannot revoke
