"""A mission for the itinerary tests: two legs in the United States and a meeting back in
Casablanca, with clock changes around the meetings (made through the operations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from crm.accounts.models import Role, User
from crm.missions.models import Meeting, Mission
from crm.missions.operations import create_mission, log_meeting
from crm.organisations.models import Contact, Country, Organisation
from crm.organisations.operations import create_contact
from tests.factories import make_organisation, make_user

MISSION_NAME = "البعثة الرقمية إلى الولايات المتحدة"
PLACES = [
    {"name": "Houston, Texas", "timezone": "America/Chicago"},
    {"name": "Silicon Valley", "timezone": "America/Los_Angeles"},
]
# (title, wall time, zone, the instant it is): on both sides of the 2026 clock changes in
# the United States (8 March, 1 November) and of Morocco's move to UTC+0 (20 September).
MEETINGS = [
    ("Port of Houston digital twin", datetime(2026, 3, 6, 9, 0), "America/Chicago", datetime(2026, 3, 6, 15, 0)),
    ("NASA Johnson innovation office", datetime(2026, 3, 9, 9, 0), "America/Chicago", datetime(2026, 3, 9, 14, 0)),
    ("Oracle sovereign cloud", datetime(2026, 3, 7, 10, 0), "America/Los_Angeles", datetime(2026, 3, 7, 18, 0)),
    ("Cisco cybersecurity lab", datetime(2026, 3, 8, 10, 0), "America/Los_Angeles", datetime(2026, 3, 8, 17, 0)),
    ("Debrief at ADD", datetime(2026, 9, 19, 10, 0), "Africa/Casablanca", datetime(2026, 9, 19, 9, 0)),
    ("Follow-up with DGSSI", datetime(2026, 9, 21, 10, 0), "Africa/Casablanca", datetime(2026, 9, 21, 10, 0)),
    # 01:30 happens twice in Chicago on 1 November: the first (CDT, UTC−5) is meant.
    ("Late call with Houston", datetime(2026, 11, 1, 1, 30), "America/Chicago", datetime(2026, 11, 1, 6, 30)),
]


@dataclass
class World:
    officer: User
    other: User
    viewer: User
    admin: User
    mission: Mission
    amina: Contact  # a delegate who reads Arabic and attends every meeting but one
    youssef: Contact  # a delegate who attends none
    oracle: Organisation
    add: Organisation
    skipped: Meeting
    meetings: dict[str, Meeting] = field(default_factory=dict)


def build(session: Session) -> World:
    officer = make_user(session, email="officer@jisr.example", name="Officer Hind")
    other = make_user(session, email="other@jisr.example", name="Officer Karim")
    viewer = make_user(session, role=Role.VIEWER, email="viewer@jisr.example")
    admin = make_user(session, role=Role.ADMIN, email="admin@jisr.example")
    add = make_organisation(
        session,
        Country.MA,
        name_ar="وكالة التنمية الرقمية",
        name_fr="Agence de Développement du Digital",
        name_en="Digital Development Agency",
        acronym="ADD",
    )
    oracle = make_organisation(session, Country.US, name_en="Oracle Corporation", acronym="ORCL")
    oracle.website = "https://www.oracle.com"
    amina = create_contact(session, organisation_id=add.id or 0, name="أمينة التازي", language="ar", actor=officer)
    youssef = create_contact(session, organisation_id=add.id or 0, name="Youssef Alami", language="fr", actor=officer)
    create_contact(session, organisation_id=oracle.id or 0, name="Jane Miller", title="VP Public Sector", actor=officer)
    mission = create_mission(
        session,
        name=MISSION_NAME,
        starts_on=date(2026, 3, 5),
        ends_on=date(2026, 3, 10),
        places=PLACES,
        delegate_ids=[amina.id or 0, youssef.id or 0],
        actor=officer,
    )
    skipped = log_meeting(
        session,
        title="Meeting without Amina",
        starts_local=datetime(2026, 3, 7, 15, 0),
        timezone="America/Los_Angeles",
        mission_id=mission.id,
        actor=officer,
    )
    world = World(officer, other, viewer, admin, mission, amina, youssef, oracle, add, skipped)
    for title, wall, zone, _instant in MEETINGS:
        world.meetings[title] = log_meeting(
            session,
            title=title,
            starts_local=wall,
            timezone=zone,
            mission_id=mission.id,
            place="" if zone == "Africa/Casablanca" else f"{title} HQ",
            notes=f"Notes of {title}",
            organisation_ids=[oracle.id or 0, add.id or 0],
            contact_ids=[amina.id or 0],
            actor=officer,
        )
    session.commit()
    return world


def utc(moment: Any) -> datetime:
    return moment.astimezone(UTC)
