"""Reads of the check-ins: the mission page's section (two queries, whatever the number of
meetings, check-ins and answers) and a contact's opt-out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.checkins.links import AnswerLink
from crm.checkins.models import Checkin, CheckinAnswer, CheckinOptOut
from crm.leads.models import Lead
from crm.leads.queries import visible_to
from crm.missions.models import Meeting
from crm.organisations.models import Contact


@dataclass(frozen=True)
class AnswerRow:
    lead_id: int
    lead_title: str
    contact: Contact
    days: int
    outcome: str
    stage: str
    contradicts: bool
    comment: str
    answered_at: datetime


@dataclass
class MeetingCheckins:
    meeting_id: int
    title: str
    starts_at: datetime
    # {days: (contacts asked, questions sent)}
    rounds: dict[int, tuple[int, int]] = field(default_factory=dict)
    answers: list[AnswerRow] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(questions for _, questions in self.rounds.values())

    @property
    def answered(self) -> int:
        return len(self.answers)

    @property
    def contradicting(self) -> int:
        return sum(1 for a in self.answers if a.contradicts)


@dataclass
class MissionCheckins:
    meetings: list[MeetingCheckins]

    @property
    def sent(self) -> int:
        return sum(m.sent for m in self.meetings)

    @property
    def answered(self) -> int:
        return sum(m.answered for m in self.meetings)

    @property
    def contradicting(self) -> int:
        return sum(m.contradicting for m in self.meetings)


def mission_checkins(session: Session, viewer: User, mission_id: int) -> MissionCheckins:
    """Per meeting of the mission: the check-ins sent (by days after), and the answers about
    the leads ``viewer`` may see, newest first."""
    by_meeting: dict[int, MeetingCheckins] = {}
    rounds: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for meeting_id, title, starts_at, days, lead_ids in session.execute(
        sa.select(col(Meeting.id), col(Meeting.title), col(Meeting.starts_at), col(Checkin.days), col(Checkin.lead_ids))
        .join(Checkin, col(Checkin.meeting_id) == col(Meeting.id))
        .where(col(Meeting.mission_id) == mission_id)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all():
        by_meeting.setdefault(meeting_id, MeetingCheckins(meeting_id, title, starts_at))
        counts = rounds[meeting_id][int(days)]
        counts[0] += 1
        counts[1] += len(lead_ids or [])
    for meeting_id, per_days in rounds.items():
        by_meeting[meeting_id].rounds = {d: (c[0], c[1]) for d, c in sorted(per_days.items())}
    answers = session.execute(
        sa.select(CheckinAnswer, col(Lead.title), Contact)
        .join(Lead, col(Lead.id) == col(CheckinAnswer.lead_id))
        .join(Contact, col(Contact.id) == col(CheckinAnswer.contact_id))
        .join(Meeting, col(Meeting.id) == col(CheckinAnswer.meeting_id))
        .where(col(Meeting.mission_id) == mission_id, visible_to(viewer))
        .order_by(col(CheckinAnswer.answered_at).desc(), col(CheckinAnswer.id).desc())
    ).all()
    for answer, lead_title, contact in answers:
        meeting = by_meeting.get(answer.meeting_id)
        if meeting is None:  # answered, but its check-in row is gone (cannot happen: cascade)
            continue
        meeting.answers.append(
            AnswerRow(
                answer.lead_id,
                lead_title,
                contact,
                answer.days,
                answer.outcome.value,
                answer.stage,
                answer.contradicts,
                answer.comment,
                answer.answered_at,
            )
        )
    return MissionCheckins(list(by_meeting.values()))


def answer_of(session: Session, link: AnswerLink) -> CheckinAnswer | None:
    return session.exec(
        select(CheckinAnswer).where(
            CheckinAnswer.meeting_id == link.meeting_id,
            CheckinAnswer.days == link.days,
            CheckinAnswer.contact_id == link.contact_id,
            CheckinAnswer.lead_id == link.lead_id,
        )
    ).first()


def opt_out_of(session: Session, contact_id: int) -> CheckinOptOut | None:
    return session.get(CheckinOptOut, contact_id)
