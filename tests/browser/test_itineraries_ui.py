"""From the mission page to a delegate's itinerary in a real browser: the page passes axe's
WCAG AA checks in Arabic and French, the .ics downloaded from it holds the delegate's
meetings at their instants (with each meeting's TZID), and the briefing sheet is a PDF."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from tests.browser.conftest import OFFICER, LiveServer, login, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser


def _expected(live_server: LiveServer, mission_id: int, contact_id: int) -> dict[str, tuple[Any, str]]:
    """The delegate's meetings of the mission in the database: title → (UTC instant, zone)."""
    from sqlmodel import col, select

    from crm.core.db import db
    from crm.missions.models import Meeting, MeetingContact

    with live_server.app.app_context():
        rows = db.session.exec(
            select(Meeting)
            .join(MeetingContact, col(MeetingContact.meeting_id) == col(Meeting.id))
            .where(MeetingContact.contact_id == contact_id, Meeting.mission_id == mission_id)
        ).all()
        return {m.title: (m.starts_at.astimezone(UTC), m.timezone) for m in rows}


def _demo_mission_id(live_server: LiveServer) -> int:
    from sqlmodel import select

    from crm.core.db import db
    from crm.demo.data import MISSION
    from crm.missions.models import Mission

    with live_server.app.app_context():
        return int(db.session.exec(select(Mission.id).where(Mission.name == MISSION.name)).one() or 0)


def test_a_delegates_itinerary_from_the_mission_page(new_page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    page = new_page(bypass_csp=True, accept_downloads=True)
    login(page, OFFICER)
    page.goto("/missions")
    # The demo's mission (other tests may have added missions without delegates before it).
    mission_id = _demo_mission_id(live_server)
    page.locator(f"[data-testid=mission-row][data-id='{mission_id}'] a").first.click()
    page.locator("[data-testid=delegate-itinerary]").first.click()
    page.wait_for_selector("[data-testid=itinerary-meetings]")
    contact_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    problems = []
    for lang in ("ar", "fr"):  # French last: the demo officer's own language again
        switch_language(page, lang)
        page.add_script_tag(path=str(AXE))
        problems += [{"lang": lang, **v} for v in page.evaluate(RUN_AXE)]
    assert problems == [], problems

    with page.expect_download() as download:
        page.locator("[data-testid=itinerary-ics]").click()
    ics = tmp_path / "itinerary.ics"
    download.value.save_as(ics)
    calendar = Calendar.from_ical(ics.read_bytes())
    expected = _expected(live_server, mission_id, contact_id)
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert expected and set(events) == set(expected)
    for title, (instant, zone) in expected.items():
        start = events[title]["DTSTART"]
        assert start.params["TZID"] == zone and start.dt.astimezone(UTC) == instant, title
    assert {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")} == {zone for _, zone in expected.values()}

    with page.expect_download() as download:
        page.locator("[data-testid=briefing-link]").first.click()
    pdf = tmp_path / "briefing.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
