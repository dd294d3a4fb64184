"""Agenda conflicts: a person in two meetings at once, a meeting outside its leg's dates,
two legs' meetings too close for the travel; instants compared in UTC across clock changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count

from sqlmodel import Session

from crm.core.time import to_utc
from crm.missions.conflicts import ConflictKind, find_conflicts, mission_conflicts
from crm.missions.models import Meeting, MissionLeg
from crm.missions.operations import create_mission, log_meeting
from crm.missions.plan import leg_rows
from crm.organisations.models import Contact
from crm.organisations.operations import create_contact
from tests.factories import make_organisation, make_user

_ids = count(1)
MARGIN = timedelta(hours=3)
HOUSTON = MissionLeg(
    id=1,
    mission_id=1,
    name="Houston",
    timezone="America/Chicago",
    starts_on=date(2024, 3, 8),
    ends_on=date(2024, 3, 12),
)
VALLEY = MissionLeg(
    id=2,
    mission_id=1,
    name="Valley",
    timezone="America/Los_Angeles",
    starts_on=date(2024, 3, 12),
    ends_on=date(2024, 3, 15),
)
SARA = Contact(id=7, organisation_id=1, name="Sara Amrani")


def _meeting(wall: datetime, leg: MissionLeg, minutes: int = 60) -> Meeting:
    return Meeting(
        id=next(_ids),
        mission_id=1,
        leg_id=leg.id,
        title=f"Meeting at {wall:%d %H:%M}",
        starts_local=wall,
        timezone=leg.timezone,
        starts_at=to_utc(wall, leg.timezone),
        duration_minutes=minutes,
    )


def _kinds(
    meetings: list[Meeting], people: dict[int, list[Contact]] | None = None
) -> list[tuple[str, tuple[int, ...]]]:
    found = find_conflicts(meetings, [HOUSTON, VALLEY], people or {}, MARGIN)
    return [(c.kind.value, c.meeting_ids) for c in found]


def test_a_person_in_two_overlapping_meetings_is_a_conflict_and_back_to_back_is_not() -> None:
    first = _meeting(datetime(2024, 3, 8, 10), HOUSTON, 90)
    overlapping = _meeting(datetime(2024, 3, 8, 11), HOUSTON)
    after = _meeting(datetime(2024, 3, 8, 11, 30), HOUSTON)  # starts as the first ends
    people = {m.id or 0: [SARA] for m in (first, overlapping, after)}
    found = find_conflicts([after, overlapping, first], [HOUSTON, VALLEY], people, MARGIN)
    assert [(c.kind, c.meeting_ids, c.contact) for c in found] == [
        (ConflictKind.DOUBLE_BOOKED, (first.id, overlapping.id), SARA),
        (ConflictKind.DOUBLE_BOOKED, (overlapping.id, after.id), SARA),
    ]
    # Without a person in common, overlapping meetings are two rooms, not a conflict.
    assert _kinds([first, overlapping]) == []


def test_overlap_across_the_spring_forward_is_counted_in_real_time() -> None:
    """10 March 2024, Houston: 02:00 does not exist.  A two-hour meeting from 01:00 CST ends
    at 04:00 CDT (on the wall), so a 03:30 meeting overlaps it; wall-clock arithmetic
    (01:00 + 2 h = 03:00) would miss it."""
    night = _meeting(datetime(2024, 3, 10, 1, 0), HOUSTON, 120)
    later = _meeting(datetime(2024, 3, 10, 3, 30), HOUSTON)
    assert night.ends_at - night.starts_at == timedelta(hours=2)
    people = {night.id or 0: [SARA], later.id or 0: [SARA]}
    assert _kinds([night, later], people) == [("double_booked", (night.id, later.id))]


def test_no_overlap_across_the_fall_back_when_the_wall_clock_says_so() -> None:
    """3 November 2024, Houston: 01:00–02:00 happens twice.  A two-hour meeting from 00:30
    CDT ends at 01:30 CST on the wall, so a 02:00 meeting does not overlap it, though
    wall-clock arithmetic (00:30 + 2 h = 02:30) would say it does."""
    autumn = MissionLeg(
        id=1, mission_id=1, name="H", timezone="America/Chicago", starts_on=date(2024, 11, 1), ends_on=date(2024, 11, 5)
    )
    first = _meeting(datetime(2024, 11, 3, 0, 30), autumn, 120)
    second = _meeting(datetime(2024, 11, 3, 2, 0), autumn)
    assert second.starts_at - first.ends_at == timedelta(minutes=30)
    people = {first.id or 0: [SARA], second.id or 0: [SARA]}
    assert find_conflicts([first, second], [autumn], people, MARGIN) == []
    third = _meeting(datetime(2024, 11, 3, 1, 15), autumn)  # the first 01:15 (CDT): inside the first
    people[third.id or 0] = [SARA]
    found = find_conflicts([first, second, third], [autumn], people, MARGIN)
    assert [(c.kind, c.meeting_ids) for c in found] == [(ConflictKind.DOUBLE_BOOKED, (first.id, third.id))]


def test_a_meeting_outside_its_legs_dates_read_on_the_legs_calendar() -> None:
    inside = _meeting(datetime(2024, 3, 12, 23, 0), HOUSTON)  # ends at midnight: still the 12th
    late = _meeting(datetime(2024, 3, 12, 23, 30), HOUSTON)  # runs into the 13th
    early = _meeting(datetime(2024, 3, 7, 18, 0), HOUSTON)  # already the 8th in UTC, not in Houston
    assert _kinds([inside, late, early]) == [("outside_leg", (early.id,)), ("outside_leg", (late.id,))]


def test_meetings_of_two_legs_need_the_travel_margin_between_them() -> None:
    last_houston = _meeting(datetime(2024, 3, 12, 9, 0), HOUSTON)  # ends 15:00 UTC
    too_soon = _meeting(datetime(2024, 3, 12, 9, 30), VALLEY)  # 16:30 UTC: 1 h 30 later
    enough = _meeting(datetime(2024, 3, 12, 10, 0), VALLEY)  # 17:00 UTC... still 2 h
    far = _meeting(datetime(2024, 3, 13, 9, 0), VALLEY)
    assert _kinds([last_houston, too_soon]) == [("travel", (last_houston.id, too_soon.id))]
    assert _kinds([last_houston, enough]) == [("travel", (last_houston.id, enough.id))]
    assert _kinds([last_houston, far]) == []
    # Exactly the margin is enough: 15:00 UTC + 3 h = 18:00 UTC = 11:00 in California (PDT).
    assert _kinds([last_houston, _meeting(datetime(2024, 3, 12, 11, 0), VALLEY)]) == []


def test_mission_conflicts_reads_a_whole_mission_in_three_queries(session: Session, app: object) -> None:
    officer = make_user(session)
    org = make_organisation(session, "MA")
    sara = create_contact(session, organisation_id=org.id, name="Sara Amrani", email="s@x.example")
    mission = create_mission(
        session,
        name="M",
        starts_on=date(2024, 3, 8),
        ends_on=date(2024, 3, 15),
        legs=[
            {
                "name": "Houston",
                "timezone": "America/Chicago",
                "starts_on": date(2024, 3, 8),
                "ends_on": date(2024, 3, 11),
            },
            {
                "name": "Valley",
                "timezone": "America/Los_Angeles",
                "starts_on": date(2024, 3, 12),
                "ends_on": date(2024, 3, 15),
            },
        ],
        actor=officer,
    )
    houston, valley = leg_rows(session, mission.id)
    for n in range(20):  # many meetings without conflicts
        log_meeting(
            session,
            title=f"M{n}",
            starts_local=datetime(2024, 3, 8 + n // 6, 8 + n % 6),
            mission_id=mission.id,
            leg_id=houston.id,
            duration_minutes=30,
        )
    a = log_meeting(
        session,
        title="A",
        starts_local=datetime(2024, 3, 13, 9),
        mission_id=mission.id,
        leg_id=valley.id,
        contact_ids=[sara.id],
    )
    b = log_meeting(
        session,
        title="B",
        starts_local=datetime(2024, 3, 13, 9, 30),
        mission_id=mission.id,
        leg_id=valley.id,
        contact_ids=[sara.id],
    )
    session.commit()
    statements: list[str] = []
    engine = session.get_bind()

    def count_statement(*args: object) -> None:
        statements.append(str(args[2]))

    import sqlalchemy as sa

    sa.event.listen(engine, "before_cursor_execute", count_statement)
    try:
        found = mission_conflicts(session, mission.id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count_statement)
    assert [(c.kind, c.meeting_ids) for c in found] == [(ConflictKind.DOUBLE_BOOKED, (a.id, b.id))]
    assert len(statements) == 3
