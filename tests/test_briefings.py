"""A meeting's briefing sheet: the US organisation's profile, the leads with it that the
reader may see (a confidential one only for its owner, watchers and administrators), the
meetings before this one, its contacts and the meeting's notes — in the reader's language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from crm.missions.operations import log_meeting
from crm.organisations.models import Country
from crm.organisations.operations import create_contact
from tests.factories import make_lead, make_organisation
from tests.itinerary_world import MISSION_NAME, World, build
from tests.test_itineraries import pdftotext
from tests.test_query_counts import _statements
from tests.web_helpers import login

SECRET = "Secret Oracle acquisition talks"


def _world(session: Session) -> World:
    world = build(session)
    cisco = world.meetings["Cisco cybersecurity lab"]
    make_lead(
        session,
        owner=world.officer,
        title="Sovereign cloud pilot",
        meeting_id=cisco.id,
        ma_organisation_id=world.add.id,
        us_organisation_id=world.oracle.id,
    )
    make_lead(
        session,
        owner=world.other,
        title=SECRET,
        confidential=True,
        ma_organisation_id=world.add.id,
        us_organisation_id=world.oracle.id,
    )
    log_meeting(
        session,
        title="Oracle OpenWorld side meeting",
        starts_local=datetime(2025, 9, 10, 14, 0),
        timezone="America/Los_Angeles",
        organisation_ids=[world.oracle.id or 0],
        actor=world.officer,
    )
    session.commit()
    return world


def _sheet(client: Any, world: World, tmp_path: Path, query: str = "") -> str:
    response = client.get(f"/meetings/{world.meetings['Cisco cybersecurity lab'].id}/briefing.pdf{query}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return pdftotext(response.data, tmp_path)


def test_the_briefing_sheet_profiles_the_us_organisation(session: Session, client: Any, tmp_path: Path) -> None:
    world = _world(session)
    login(client, "officer@jisr.example")
    text = _sheet(client, world, tmp_path, "?lang=en")
    assert "Briefing sheet: Cisco cybersecurity lab" in text and MISSION_NAME in text
    assert "Oracle Corporation (ORCL)" in text and "https://www.oracle.com" in text
    assert "United States" in text and "Company" in text
    assert "Jane Miller" in text and "VP Public Sector" in text  # its contacts
    assert "أمينة التازي" in text  # who attends
    assert "Notes of Cisco cybersecurity lab" in text
    assert "Sovereign cloud pilot" in text and "born at this meeting" in text
    # The meetings with Oracle before this one, not those after it.
    assert "Oracle OpenWorld side meeting" in text and "Port of Houston digital twin" in text
    assert "Follow-up with DGSSI" not in text
    # The Moroccan side is not profiled: the sheet is about whom the delegation meets.
    assert "Digital Development Agency" not in text


def test_a_confidential_lead_stays_off_the_sheet_of_who_cannot_see_it(
    session: Session, client: Any, app: Any, tmp_path: Path
) -> None:
    world = _world(session)
    login(client, "officer@jisr.example")
    assert SECRET not in _sheet(client, world, tmp_path)
    viewer = app.test_client()
    login(viewer, "viewer@jisr.example")
    assert SECRET not in _sheet(viewer, world, tmp_path)
    for email in ("other@jisr.example", "admin@jisr.example"):  # its owner, an administrator
        reader = app.test_client()
        login(reader, email)
        assert SECRET in _sheet(reader, world, tmp_path)


def test_the_sheet_speaks_the_language_asked_for(session: Session, client: Any, tmp_path: Path) -> None:
    world = _world(session)
    login(client, "officer@jisr.example")
    assert "Fiche de briefing" in _sheet(client, world, tmp_path)  # the officer reads French
    arabic = _sheet(client, world, tmp_path, "?lang=ar")
    assert "ورقة الإحاطة" in arabic and "الاجتماعات السابقة" in arabic and "Oracle Corporation" in arabic
    bad = client.get(f"/meetings/{world.meetings['Cisco cybersecurity lab'].id}/briefing.pdf?lang=de")
    assert bad.status_code == 400 and "anglais" in bad.get_data(as_text=True)
    empty = client.get(f"/meetings/{world.skipped.id}/briefing.pdf")
    assert "Aucune organisation" in pdftotext(empty.data, tmp_path)
    assert client.get("/meetings/999999/briefing.pdf").status_code == 404


def test_the_briefing_sheet_needs_a_login(session: Session, client: Any) -> None:
    world = _world(session)
    response = client.get(f"/meetings/{world.meetings['Cisco cybersecurity lab'].id}/briefing.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_itineraries_and_sheets_run_a_constant_number_of_queries(session: Session, client: Any, app: Any) -> None:
    world = _world(session)
    login(client, "officer@jisr.example")
    cisco = world.meetings["Cisco cybersecurity lab"]
    paths = (
        f"/meetings/{cisco.id}/briefing.pdf",
        f"/missions/{world.mission.id}/itineraries/{world.amina.id}",
        f"/missions/{world.mission.id}/itineraries/{world.amina.id}.ics",
    )
    few = _statements(app, client, *paths)
    for n in range(8):
        partner = make_organisation(session, Country.US, name_en=f"Partner {n}")
        make_lead(session, owner=world.officer, ma_organisation_id=world.add.id, us_organisation_id=world.oracle.id)
        create_contact(session, organisation_id=world.oracle.id or 0, name=f"Oracle person {n}", actor=world.officer)
        log_meeting(
            session,
            title=f"Extra meeting {n}",
            starts_local=datetime(2026, 3, 8, 8 + n, 0),
            timezone="America/Los_Angeles",
            mission_id=world.mission.id,
            organisation_ids=[world.oracle.id or 0, partner.id or 0],
            contact_ids=[world.amina.id or 0, world.youssef.id or 0],
            actor=world.officer,
        )
    session.commit()
    assert _statements(app, client, *paths) == few
