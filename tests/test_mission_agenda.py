"""The mission's agenda page and the conflict warnings on the mission page and when a
meeting is saved, in French and Arabic."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from crm.accounts.models import Role
from crm.missions.models import Meeting, Mission
from crm.missions.operations import create_mission, log_meeting
from crm.missions.plan import leg_rows
from crm.organisations.operations import create_contact
from tests.factories import make_organisation, make_user
from tests.web_helpers import login


def _text(page: str) -> str:
    """The page's text with bidi marks and narrow spaces made plain."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", page))
    return re.sub(r"[\u200e\u200f\u2066-\u2069]", "", plain).replace("\u202f", " ").replace("\xa0", " ")


def _world(session: Session) -> tuple[Mission, Any]:
    officer = make_user(session)
    org = make_organisation(session, "MA", acronym="MTNRA")
    sara = create_contact(session, organisation_id=org.id, name="Sara Amrani", email="s.amrani@mtnra.example")
    mission = create_mission(
        session,
        name="Digital mission",
        name_ar="البعثة الرقمية",
        name_fr="Mission numérique",
        starts_on=date(2024, 2, 11),
        ends_on=date(2024, 2, 21),
        legs=[
            {
                "name": "Houston",
                "timezone": "America/Chicago",
                "starts_on": date(2024, 2, 11),
                "ends_on": date(2024, 2, 14),
            },
            {"name": "Silicon Valley", "timezone": "America/Los_Angeles", "starts_on": date(2024, 2, 15)},
        ],
        delegate_ids=[sara.id],
        delegate_roles={sara.id: "head"},
        actor=officer,
    )
    houston, valley = leg_rows(session, mission.id)
    for title, wall, leg in (
        ("Oracle", datetime(2024, 2, 12, 10), houston),
        ("Tyler Technologies", datetime(2024, 2, 12, 10, 30), houston),
        ("Cisco", datetime(2024, 2, 16, 9), valley),
    ):
        log_meeting(
            session, title=title, starts_local=wall, mission_id=mission.id, leg_id=leg.id, contact_ids=[sara.id]
        )
    return mission, sara


def test_the_agenda_shows_the_week_on_the_legs_clock_with_the_viewers_time_in_french(
    session: Session, client: Any
) -> None:
    make_user(session, email="leila@jisr.example", language="fr", timezone="Africa/Casablanca")
    mission, _ = _world(session)
    session.commit()
    login(client, "leila@jisr.example")
    response = client.get(f"/missions/{mission.id}/agenda?week=2024-02-14")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-monday="2024-02-12"' in page
    text = _text(page)
    assert "Mission numérique" in text
    oracle = page.split('data-testid="agenda-meeting"')[1]
    # 10:00 in Houston (UTC−6) is 17:00 in Casablanca (UTC+1 in February 2024).
    assert "10:00–11:00" in _text(oracle) and "Votre heure : 17:00" in _text(oracle)
    assert 'data-testid="agenda-conflict"' in oracle
    assert "Sara Amrani est attendue" in text or "Sara Amrani est attendu" in text
    days = re.findall(r'data-testid="agenda-day" data-day="([0-9-]+)"', page)
    assert days == [f"2024-02-{d}" for d in range(12, 19)]
    assert page.count('data-testid="agenda-day-leg"') == 7  # 12–14 Houston, 15–18 Silicon Valley
    # The next week has the Cisco meeting; there is none after the mission's last week.
    nxt = client.get(f"/missions/{mission.id}/agenda?week=2024-02-19").get_data(as_text=True)
    assert 'data-testid="agenda-previous"' in nxt and 'data-testid="agenda-next"' not in nxt


def test_the_agenda_in_arabic_is_right_to_left_and_a_bad_week_is_not_an_error(session: Session, client: Any) -> None:
    make_user(session, email="omar@jisr.example", role=Role.VIEWER, language="ar", timezone="America/Chicago")
    mission, _ = _world(session)
    session.commit()
    login(client, "omar@jisr.example")
    page = client.get(f"/missions/{mission.id}/agenda?week=2024-02-12").get_data(as_text=True)
    assert 'dir="rtl"' in page and "البعثة الرقمية" in page
    oracle = page.split('data-testid="agenda-meeting"')[1].split('data-testid="agenda-meeting"')[0]
    assert 'data-testid="agenda-viewer-time"' not in oracle  # the viewer lives on Houston's clock
    assert "في الوقت نفسه" in _text(page)
    assert client.get(f"/missions/{mission.id}/agenda?week=not-a-day").status_code == 200
    for far in ("0001-01-01", "9999-12-31"):  # the nearest of the mission's weeks
        far_page = client.get(f"/missions/{mission.id}/agenda?week={far}").get_data(as_text=True)
        assert 'data-monday="2024-02-05"' in far_page or 'data-monday="2024-02-19"' in far_page
    assert client.get("/missions/999999/agenda").status_code == 404


def test_the_mission_page_lists_conflicts_roles_and_legs(session: Session, client: Any) -> None:
    make_user(session, email="leila@jisr.example", language="fr")
    mission, _ = _world(session)
    session.commit()
    login(client, "leila@jisr.example")
    page = client.get(f"/missions/{mission.id}").get_data(as_text=True)
    assert page.count('data-testid="conflict"') == 1
    assert page.count('data-testid="mission-leg"') == 2 and "Chef de délégation" in page
    assert 'data-testid="mission-agenda"' in page


def test_saving_a_conflicting_meeting_is_allowed_with_a_warning(session: Session, client: Any) -> None:
    make_user(session, email="leila@jisr.example", language="fr")
    mission, sara = _world(session)
    session.commit()
    houston = leg_rows(session, mission.id)[0]
    login(client, "leila@jisr.example")
    data = {
        "title": "Microsoft",
        "leg_id": str(houston.id),
        "starts_local": "2024-02-16T15:00",
        "duration_minutes": "45",
        "timezone": "Africa/Casablanca",
        "contact_ids": [str(sara.id)],
        "leads-0-title": "",
    }
    response = client.post(f"/missions/{mission.id}/meetings/new", data=data, follow_redirects=True)
    assert response.status_code == 200
    meeting = session.exec(select(Meeting).where(Meeting.title == "Microsoft")).one()
    assert (meeting.timezone, meeting.duration_minutes, meeting.leg_id) == ("America/Chicago", 45, houston.id)
    text = _text(response.get_data(as_text=True))
    assert "Microsoft tombe en dehors des dates de Houston." in text
    warned = re.search(
        r'<div class="alert alert-warning" role="status" data-category="warning">(.*?)</div>',
        response.get_data(as_text=True),
    )
    assert warned and "Houston" in warned.group(1)  # shown as a warning, not as information
    bad = client.post(f"/meetings/{meeting.id}/edit", data={**data, "duration_minutes": "2"})
    assert bad.status_code == 400


def test_the_mission_list_hides_closed_missions_until_asked(session: Session, client: Any) -> None:
    officer = make_user(session, email="leila@jisr.example", language="fr")
    for name, status in (("Open mission", "under_way"), ("Old mission", "closed"), ("Shelved mission", "archived")):
        create_mission(
            session, name=name, starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), status=status, actor=officer
        )
    session.commit()
    login(client, "leila@jisr.example")
    default = client.get("/missions").get_data(as_text=True)
    assert "Open mission" in default and "Old mission" not in default and "Shelved mission" not in default
    closed = client.get("/missions?status=closed").get_data(as_text=True)
    assert "Old mission" in closed and "Open mission" not in closed and "Clôturée" in closed
    every = client.get("/missions?status=all").get_data(as_text=True)
    assert all(name in every for name in ("Open mission", "Old mission", "Shelved mission"))
    assert client.get("/missions?status=nonsense").status_code == 200
