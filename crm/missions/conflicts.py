"""What is wrong with a mission's agenda: a person in two meetings at once, a meeting
outside its leg's dates, and two legs' meetings too close for the travel between them.

Instants are compared in UTC (a meeting's end is its start plus its duration, so a
daylight-saving change in between is counted right); leg dates are read on the leg's
own calendar."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise

from flask import current_app, has_app_context
from sqlmodel import Session, col, select

from crm.core.db import pk
from crm.core.time import to_local
from crm.missions.models import Meeting, MeetingContact, MissionLeg
from crm.organisations.models import Contact

DEFAULT_TRAVEL_MARGIN_HOURS = 3.0


class ConflictKind(StrEnum):
    DOUBLE_BOOKED = "double_booked"
    OUTSIDE_LEG = "outside_leg"
    TRAVEL = "travel"


@dataclass(frozen=True)
class Conflict:
    kind: ConflictKind
    meetings: tuple[Meeting, ...]
    contact: Contact | None = None
    legs: tuple[MissionLeg, ...] = field(default_factory=tuple)

    @property
    def meeting_ids(self) -> tuple[int, ...]:
        return tuple(pk(m) for m in self.meetings)


def travel_margin() -> timedelta:
    """The least time between meetings of two legs (setting ``MISSION_TRAVEL_MARGIN_HOURS``)."""
    hours = DEFAULT_TRAVEL_MARGIN_HOURS
    if has_app_context():
        hours = float(current_app.config.get("MISSION_TRAVEL_MARGIN_HOURS", hours))
    return timedelta(hours=hours)


def _local_days(meeting: Meeting, zone: str) -> tuple[date, date]:
    """The first and last calendar day the meeting touches in ``zone``."""
    last_moment = meeting.ends_at - timedelta(microseconds=1)
    return to_local(meeting.starts_at, zone).date(), to_local(max(last_moment, meeting.starts_at), zone).date()


def find_conflicts(
    meetings: Sequence[Meeting],
    legs: Iterable[MissionLeg],
    attendees: Mapping[int, Sequence[Contact]],
    margin: timedelta,
) -> list[Conflict]:
    """Every conflict among ``meetings`` (``attendees``: the people of each meeting id)."""
    ordered = sorted(meetings, key=lambda m: (m.starts_at, pk(m)))
    leg_by_id = {pk(leg): leg for leg in legs}
    found: list[Conflict] = []

    by_person: dict[int, list[Meeting]] = defaultdict(list)
    people: dict[int, Contact] = {}
    for meeting in ordered:
        for person in attendees.get(pk(meeting), ()):
            by_person[pk(person)].append(meeting)
            people[pk(person)] = person
    for person_id, theirs in by_person.items():
        for index, first in enumerate(theirs):
            for second in theirs[index + 1 :]:
                if second.starts_at >= first.ends_at:
                    break
                found.append(Conflict(ConflictKind.DOUBLE_BOOKED, (first, second), contact=people[person_id]))

    for meeting in ordered:
        leg = leg_by_id.get(meeting.leg_id or 0)
        if leg is None:
            continue
        first_day, last_day = _local_days(meeting, leg.timezone)
        if first_day < leg.starts_on or last_day > leg.ends_on:
            found.append(Conflict(ConflictKind.OUTSIDE_LEG, (meeting,), legs=(leg,)))

    on_legs = [m for m in ordered if m.leg_id in leg_by_id]
    for before, after in pairwise(on_legs):
        if before.leg_id != after.leg_id and after.starts_at - before.ends_at < margin:
            legs_pair = (leg_by_id[before.leg_id or 0], leg_by_id[after.leg_id or 0])
            found.append(Conflict(ConflictKind.TRAVEL, (before, after), legs=legs_pair))
    return found


def mission_conflicts(session: Session, mission_id: int, margin: timedelta | None = None) -> list[Conflict]:
    """The conflicts of one mission's agenda, in three queries whatever its size."""
    meetings = list(session.exec(select(Meeting).where(Meeting.mission_id == mission_id)).all())
    if not meetings:
        return []
    legs = session.exec(select(MissionLeg).where(MissionLeg.mission_id == mission_id)).all()
    attendees: dict[int, list[Contact]] = defaultdict(list)
    for meeting_id, contact in session.exec(
        select(MeetingContact.meeting_id, Contact)
        .join(Contact, col(Contact.id) == col(MeetingContact.contact_id))
        .join(Meeting, col(Meeting.id) == col(MeetingContact.meeting_id))
        .where(Meeting.mission_id == mission_id)
    ).all():
        attendees[meeting_id].append(contact)
    return find_conflicts(meetings, legs, attendees, travel_margin() if margin is None else margin)


def conflicts_of_meeting(conflicts: Iterable[Conflict], meeting_id: int) -> list[Conflict]:
    return [c for c in conflicts if meeting_id in c.meeting_ids]
