"""Follow-up pages: "my follow-ups" grouped on the user's clock, and the iCalendar feed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from icalendar import Calendar
from sqlmodel import Session, select

from crm.accounts.models import Role, User
from crm.core.events import Event
from crm.followups.agenda import agenda
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import complete_followup, reschedule_followup
from crm.leads.operations import add_watcher
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.web_helpers import login

HX = {"HX-Request": "true"}
# Sunday 29 November 2026, 22:00 UTC: Monday already in Asia, still Sunday afternoon in California.
NOW = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


def groups_of(page: str) -> dict[str, str]:
    """Each agenda group's HTML by its data-group key."""
    parts = re.split(r'(?=<section class="mb-4 agenda-group" data-group=")', page)
    found = {}
    for part in parts[1:]:
        key = re.match(r'<section class="mb-4 agenda-group" data-group="(\w+)"', part).group(1)
        found[key] = part.split("</section>")[0]
    return found


def _four_followups(session: Session, owner: User) -> None:
    lead = make_lead(session, owner=owner)
    make_followup(session, lead, datetime(2026, 11, 29, 8, 0), "UTC", title="Yesterday's call")  # overdue
    make_followup(session, lead, datetime(2026, 11, 29, 23, 30), "UTC", title="Late call")
    make_followup(session, lead, datetime(2026, 12, 1, 9, 0), "UTC", title="Tuesday demo")
    make_followup(session, lead, datetime(2026, 12, 20, 9, 0), "UTC", title="December review")


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # Casablanca (UTC+0): 23:30 UTC is still today (Sunday); Tuesday is next week.
        (
            "Africa/Casablanca",
            {"overdue": {"Yesterday's call"}, "today": {"Late call"}, "later": {"Tuesday demo", "December review"}},
        ),
        # Tokyo (UTC+9): it is Monday 07:00; 23:30 UTC is Monday 08:30 (today), Tuesday is this week.
        (
            "Asia/Tokyo",
            {
                "overdue": {"Yesterday's call"},
                "today": {"Late call"},
                "week": {"Tuesday demo"},
                "later": {"December review"},
            },
        ),
        # Los Angeles (UTC-8): Sunday 14:00; 23:30 UTC is Sunday 15:30, today; Tuesday is next week.
        (
            "America/Los_Angeles",
            {"overdue": {"Yesterday's call"}, "today": {"Late call"}, "later": {"Tuesday demo", "December review"}},
        ),
    ],
)
def test_follow_ups_are_grouped_on_the_users_own_clock(
    session: Session, zone: str, expected: dict[str, set[str]]
) -> None:
    owner = make_user(session, timezone=zone)
    _four_followups(session, owner)
    session.commit()
    grouped = agenda(session, owner, now=NOW)
    found = {key: {item.followup.title for item in items} for key, items in grouped.groups() if items}
    assert found == expected


def test_a_follow_up_crosses_from_today_to_tomorrow_at_local_midnight(session: Session) -> None:
    """02:00 UTC on Monday is 'today' for a user in Los Angeles (Sunday 18:00) but
    tomorrow (this week) for a user in Casablanca, at 22:00 UTC on Sunday."""
    la = make_user(session, timezone="America/Los_Angeles")
    casa = make_user(session, timezone="Africa/Casablanca")
    for owner in (la, casa):
        make_followup(session, make_lead(session, owner=owner), datetime(2026, 11, 30, 2, 0), "UTC", title="Call")
    session.commit()
    assert [i.followup.title for i in agenda(session, la, now=NOW).today] == ["Call"]
    assert agenda(session, casa, now=NOW).today == []
    assert [i.followup.title for i in agenda(session, casa, now=NOW).later] == ["Call"]  # Monday: a new week


def test_my_follow_ups_page_groups_in_the_users_zone(session: Session, client: Any) -> None:
    owner = make_user(session, email="officer@jisr.example", timezone="Asia/Tokyo", language="en")
    _four_followups(session, owner)
    make_followup(session, make_lead(session), datetime(2026, 11, 30, 9, 0), "UTC", title="Not mine")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        page = client.get("/followups").get_data(as_text=True)
    groups = groups_of(page)
    assert "Yesterday&#39;s call" in groups["overdue"]
    assert "Late call" in groups["today"]
    assert "Tuesday demo" in groups["week"]
    assert "December review" in groups["later"]
    assert "Not mine" not in page
    assert "Overdue" in page and "Later this week" in page


def test_all_owners_view_is_for_admins(session: Session, client: Any) -> None:
    make_user(session, email="admin@jisr.example", role=Role.ADMIN)
    make_user(session, email="officer@jisr.example")
    make_followup(session, make_lead(session), datetime(2030, 1, 1, 9), title="Someone's call")
    session.commit()
    login(client, "officer@jisr.example")
    assert client.get("/followups?owner=all").status_code == 403
    client.post("/logout")
    login(client, "admin@jisr.example")
    assert "Someone&#39;s call" not in client.get("/followups").get_data(as_text=True)
    assert "Someone&#39;s call" in client.get("/followups?owner=all").get_data(as_text=True)


def test_my_follow_ups_respect_lead_visibility(session: Session, client: Any) -> None:
    owner = make_user(session, email="owner@jisr.example")
    lead = make_lead(session, owner=owner, confidential=True)
    other = make_user(session, email="other@jisr.example")
    make_followup(session, lead, datetime(2030, 1, 1, 9), title="Secret call", owner_id=other.id)
    session.commit()
    # The follow-up's owner cannot see the confidential lead, so not its follow-up either.
    login(client, "other@jisr.example")
    assert "Secret call" not in client.get("/followups").get_data(as_text=True)
    add_watcher(session, lead, other.id)
    session.commit()
    assert "Secret call" in client.get("/followups").get_data(as_text=True)


def test_mark_done_from_my_follow_ups(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    lead = make_lead(session, owner=me)
    first = make_followup(session, lead, datetime(2030, 1, 1, 9), title="First")
    second = make_followup(session, lead, datetime(2030, 1, 2, 9), title="Second")
    session.commit()
    login(client, "officer@jisr.example")
    response = client.post(f"/followups/{first.id}/done", headers=HX)
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment.lstrip().startswith('<div id="agenda"')
    assert "First" not in fragment and "Second" in fragment
    assert client.post(f"/followups/{second.id}/done").status_code == 302
    session.expire_all()
    assert {f.status for f in session.exec(select(FollowUp)).all()} == {FollowUpStatus.DONE}
    done = session.exec(select(Event).where(Event.type == "followup.done")).all()
    assert len(done) == 2 and {e.actor_id for e in done} == {me.id}


def test_viewer_cannot_mark_done(session: Session, client: Any) -> None:
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    followup = make_followup(session, make_lead(session), datetime(2030, 1, 1, 9))
    session.commit()
    login(client, "viewer@jisr.example")
    assert client.post(f"/followups/{followup.id}/done").status_code == 403


# --- the calendar feed ------------------------------------------------------------------


def _feed_url(client: Any) -> str:
    page = client.post("/followups/calendar/token").get_data(as_text=True)
    return re.search(r'data-testid="calendar-feed-url" readonly value="([^"]+)"', page).group(1)


def test_calendar_feed_lists_open_follow_ups_with_their_details(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="fr")
    add = make_organisation(session, "MA", acronym="ADD", name_fr="Agence de Développement du Digital")
    oracle = make_organisation(session, "US", name_en="Oracle")
    lead = make_lead(
        session, owner=me, title="Sovereign cloud", ma_organisation_id=add.id, us_organisation_id=oracle.id
    )
    kept = make_followup(session, lead, datetime(2030, 3, 15, 9, 0), "America/Chicago", title="Send the proposal")
    done = make_followup(session, lead, datetime(2030, 3, 16, 9, 0), title="Already done")
    make_followup(session, make_lead(session), datetime(2030, 3, 17, 9, 0), title="Someone else's")
    complete_followup(session, done)
    session.commit()
    login(client, "officer@jisr.example")
    url = _feed_url(client)
    assert url.startswith("http://jisr.test/followups/calendar/") and url.endswith(".ics")
    assert "Créer une nouvelle adresse de flux" in client.get("/settings").get_data(as_text=True)
    client.post("/logout")  # the feed needs no session
    response = client.get(url.removeprefix("http://jisr.test"))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.mimetype_params == {"charset": "utf-8"}
    assert b"\r\nMETHOD:PUBLISH\r\n" in response.data and b"\r\nDTSTART:20300315T140000Z\r\n" in response.data
    calendar = Calendar.from_ical(response.data)
    events = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert len(events) == 1
    event = events[0]
    assert event.decoded("dtstart") == datetime(2030, 3, 15, 14, 0, tzinfo=UTC)  # 09:00 in Chicago (CDT)
    assert str(event["summary"]) == "Send the proposal — Sovereign cloud"
    description = str(event["description"])
    assert "Agence de Développement du Digital" in description and "Oracle" in description
    assert "Organisation marocaine" in description  # in the user's language
    assert str(event["url"]) == f"http://jisr.test/leads/{lead.id}"
    assert (str(event["uid"]), int(event["sequence"])) == (f"followup-{kept.id}@jisr", 1)
    # A reschedule updates the same calendar entry: same UID, higher SEQUENCE, new start.
    reschedule_followup(session, kept, due_local=datetime(2030, 3, 20, 9, 0))
    session.commit()
    calendar = Calendar.from_ical(client.get(url.removeprefix("http://jisr.test")).data)
    [moved] = calendar.walk("VEVENT")
    assert (str(moved["uid"]), int(moved["sequence"])) == (f"followup-{kept.id}@jisr", 2)
    assert moved.decoded("dtstart") == datetime(2030, 3, 20, 14, 0, tzinfo=UTC)


def test_calendar_token_is_stored_hashed_and_a_new_one_revokes_the_old(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    session.commit()
    login(client, "officer@jisr.example")
    settings = client.get("/settings").get_data(as_text=True)
    assert 'data-testid="generate-calendar-token"' in settings
    first = _feed_url(client)
    token = first.rsplit("/", 1)[1].removesuffix(".ics")
    session.expire_all()
    stored = session.get(User, me.id).calendar_token_hash
    assert stored and token not in stored and len(stored) == 64
    assert session.exec(select(Event).where(Event.type == "user.calendar_token_generated")).first() is not None
    second = _feed_url(client)
    assert second != first
    assert client.get(first.removeprefix("http://jisr.test")).status_code == 404
    assert client.get(second.removeprefix("http://jisr.test")).status_code == 200


def test_wrong_calendar_token_is_a_404(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    session.commit()
    assert client.get("/followups/calendar/not-a-token.ics").status_code == 404
    assert client.get("/followups/calendar/.ics").status_code == 404
    login(client, "officer@jisr.example")
    url = _feed_url(client)
    from crm.accounts.operations import deactivate_user

    deactivate_user(session, session.get(User, me.id), actor=None)
    session.commit()
    assert client.get(url.removeprefix("http://jisr.test")).status_code == 404  # a deactivated user's feed stops
