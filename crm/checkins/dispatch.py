"""The check-in dispatcher: hourly, ask the contacts of meetings held ``days`` ago.

A check-in of a meeting is due ``days`` calendar days after the meeting's own date, from
``SEND_HOUR`` (09:00) on the contact's clock, and is only sent while it is day there
(until ``QUIET_FROM``, 21:00); a dispatcher that was down catches up for ``LOOKBACK_DAYS``,
after which the moment has passed.  The meetings in question are found by a range on the
indexed ``meeting.starts_at``, so a run reads a few days of meetings whatever the history.

Each check-in is a :class:`Checkin` row (unique per meeting, days and contact) written with
its ledger row (key ``checkin:{meeting}:{days}:{contact}``) in one transaction: two
dispatchers at once, or one run twice, ask once.

Who is asked: every contact who attended, on both sides, with an address, not erased and
not opted out.  What about: the leads born in the meeting, except confidential ones — a
confidential lead is shown only to its owner, its watchers and administrators inside
Jisr, and a mail outside (which may be forwarded) would tell others that it exists.  A
meeting with nothing left to ask about sends nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from crm.checkins.links import list_headers, stop_url
from crm.checkins.mails import LeadQuestion, render_checkin
from crm.checkins.models import Checkin, CheckinOptOut
from crm.core.db import serialise_writers
from crm.core.ledger import queue_mail
from crm.core.time import to_local, to_utc, utcnow
from crm.leads.models import Lead
from crm.missions.models import Meeting, MeetingContact
from crm.organisations.models import Contact, Organisation

SEND_HOUR = 9
QUIET_FROM = 21
LOOKBACK_DAYS = 7


def configured_days() -> tuple[int, ...]:
    return tuple(current_app.config.get("CHECKIN_DAYS", (90, 180)) or ())


def due_day(meeting_day: date, days: int) -> date:
    return meeting_day + timedelta(days=days)


def fire_at(meeting_day: date, days: int, zone: str) -> datetime:
    """The first moment a check-in may go: 09:00 on the contact's clock, ``days`` after."""
    return to_utc(datetime.combine(due_day(meeting_day, days), time(SEND_HOUR)), zone)


def is_due(meeting_day: date, days: int, zone: str, now: datetime) -> bool:
    start = fire_at(meeting_day, days, zone)
    if not start <= now < start + timedelta(days=LOOKBACK_DAYS):
        return False
    return SEND_HOUR <= to_local(now, zone).hour < QUIET_FROM


def mail_key(meeting_id: int, days: int, contact_id: int) -> str:
    return f"checkin:{meeting_id}:{days}:{contact_id}"


@dataclass(frozen=True)
class Due:
    meeting_id: int
    days: int
    contact_id: int
    lead_ids: tuple[int, ...]


def _window(days: int, now: datetime) -> Any:
    """Meetings whose ``days``-th day after may be due now (a day of margin either side
    for the zones between the meeting's clock and the contact's)."""
    return sa.and_(
        col(Meeting.starts_at) > now - timedelta(days=days + LOOKBACK_DAYS + 2),
        col(Meeting.starts_at) <= now - timedelta(days=days - 2),
    )


def due_checkins(session: Session, now: datetime | None = None, days: Sequence[int] | None = None) -> list[Due]:
    """The check-ins to send now (three queries, whatever the number of meetings)."""
    now = now or utcnow()
    days = tuple(configured_days() if days is None else days)
    if not days:
        return []
    rows = session.execute(
        sa.select(col(Meeting.id), col(Meeting.starts_local), col(Contact.id), col(Contact.timezone))
        .join(MeetingContact, col(MeetingContact.meeting_id) == col(Meeting.id))
        .join(Contact, col(Contact.id) == col(MeetingContact.contact_id))
        .outerjoin(CheckinOptOut, col(CheckinOptOut.contact_id) == col(Contact.id))
        .where(
            sa.or_(*[_window(d, now) for d in days]),
            col(Contact.email).is_not(None),
            col(Contact.email) != "",
            col(Contact.erased_at).is_(None),
            col(CheckinOptOut.contact_id).is_(None),
        )
        .order_by(col(Meeting.id), col(Contact.id))
    ).all()
    wanted = [
        (int(m), d, int(c)) for m, local, c, zone in rows for d in days if is_due(local.date(), d, str(zone), now)
    ]
    if not wanted:
        return []
    meeting_ids = sorted({m for m, _, _ in wanted})
    leads: dict[int, list[int]] = defaultdict(list)
    for lead_id, meeting_id in session.execute(
        sa.select(col(Lead.id), col(Lead.meeting_id))
        .where(col(Lead.meeting_id).in_(meeting_ids), col(Lead.confidential).is_(False))
        .order_by(col(Lead.id))
    ).all():
        leads[int(meeting_id)].append(int(lead_id))
    sent = set(
        session.execute(
            sa.select(col(Checkin.meeting_id), col(Checkin.days), col(Checkin.contact_id)).where(
                col(Checkin.meeting_id).in_(meeting_ids)
            )
        ).all()
    )
    return [Due(m, d, c, tuple(leads[m])) for m, d, c in wanted if leads.get(m) and (m, d, c) not in sent]


def _claim(session: Session, due: Due, now: datetime) -> bool:
    """Write the check-in's row unless another dispatcher did (then: False).  On the table,
    not the model: an ORM-enabled insert reports no row count, and RETURNING says it all."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table: Any = Checkin.__table__  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .values(
            meeting_id=due.meeting_id,
            days=due.days,
            contact_id=due.contact_id,
            lead_ids=list(due.lead_ids),
            mail_key=mail_key(due.meeting_id, due.days, due.contact_id),
            sent_at=now,
        )
        .on_conflict_do_nothing(index_elements=["meeting_id", "days", "contact_id"])
        .returning(table.c.id)
    )
    return session.execute(statement).first() is not None


def _by_id(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {row.id: row for row in session.exec(select(model).where(col(model.id).in_(wanted))).all()}


def dispatch_due_checkins(session: Session, *, now: datetime | None = None, limit: int = 200) -> int:
    """Queue the mail of up to ``limit`` due check-ins; commit; return how many were queued."""
    now = now or utcnow()
    session.rollback()
    serialise_writers(session, "checkins")
    due = due_checkins(session, now)[:limit]
    if not due:
        session.commit()
        return 0
    meetings = _by_id(session, Meeting, (d.meeting_id for d in due))
    contacts = _by_id(session, Contact, (d.contact_id for d in due))
    leads = _by_id(session, Lead, (lead_id for d in due for lead_id in d.lead_ids))
    org_ids = [o for lead in leads.values() for o in (lead.ma_organisation_id, lead.us_organisation_id)]
    orgs = _by_id(session, Organisation, org_ids)
    queued = 0
    for item in due:
        if not _claim(session, item, now):
            continue  # another dispatcher asked first
        contact: Contact = contacts[item.contact_id]
        questions = [
            LeadQuestion(leads[i], orgs[leads[i].ma_organisation_id], orgs[leads[i].us_organisation_id])
            for i in item.lead_ids
        ]
        email = render_checkin(contact, meetings[item.meeting_id], item.days, questions)
        queued += int(
            queue_mail(
                session,
                dedupe_key=mail_key(item.meeting_id, item.days, item.contact_id),
                kind="checkin",
                to=contact.email or "",
                to_name=contact.name,
                language=contact.language.value,
                subject=email.subject,
                text=email.text,
                html=email.html,
                headers=list_headers(stop_url(item.contact_id)),
            )
        )
    session.commit()
    return queued
