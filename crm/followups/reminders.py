"""Planning the reminder ladder of follow-ups into :class:`ReminderRung` rows.

The "reminders" consumer calls these when a follow-up is scheduled, rescheduled,
reassigned, done or cancelled; the dispatcher (crm.followups.dispatch) sends what is due.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.core.db import pk
from crm.core.time import utcnow
from crm.followups.ladder import Rung, plan
from crm.followups.models import FollowUp, FollowUpStatus, ReminderRung, RungStatus
from crm.leads.models import Lead


def escalation_recipients(session: Session, followup: FollowUp) -> list[User]:
    """The lead owner's supervisor, or else every active admin (never the owner itself).
    A supervisor who may not see a confidential lead is skipped for the admins."""
    from crm.leads.queries import can_see

    lead = session.get(Lead, followup.lead_id)
    owner = session.get(User, lead.owner_id if lead else followup.owner_id)
    if owner is not None and owner.supervisor_id:
        supervisor = session.get(User, owner.supervisor_id)
        if supervisor is not None and supervisor.is_active and lead is not None and can_see(session, supervisor, lead):
            return [supervisor]
    admins = session.exec(select(User).where(User.role == Role.ADMIN, col(User.is_active).is_(True))).all()
    return [a for a in admins if a.id != followup.owner_id]


def add_rungs(session: Session, followup: FollowUp, recipient_id: int, rungs: Iterable[Rung]) -> int:
    """Insert rungs that are not planned yet (same follow-up, version, name, recipient)."""
    existing = set(
        session.exec(
            select(ReminderRung.rung).where(
                ReminderRung.followup_id == followup.id,
                col(ReminderRung.due_version) == followup.due_version,
                col(ReminderRung.recipient_id) == recipient_id,
            )
        ).all()
    )
    added = 0
    for rung in rungs:
        if rung.name in existing:
            continue
        session.add(
            ReminderRung(
                followup_id=pk(followup),
                due_version=followup.due_version,
                rung=rung.name,
                recipient_id=recipient_id,
                fire_at=rung.fire_at,
            )
        )
        existing.add(rung.name)
        added += 1
    return added


def skip_pending(session: Session, followup_id: int, *, keep_version: int | None = None) -> None:
    """Stop the ladder (of older versions when ``keep_version`` is given)."""
    condition = sa.and_(col(ReminderRung.followup_id) == followup_id, col(ReminderRung.status) == RungStatus.PENDING)
    if keep_version is not None:
        condition = sa.and_(condition, col(ReminderRung.due_version) != keep_version)
    session.execute(sa.update(ReminderRung).where(condition).values(status=RungStatus.SKIPPED))


def plan_followup(session: Session, followup: FollowUp, now: datetime | None = None) -> int:
    """(Re)plan the ladder of an open follow-up for its current owner and due version."""
    skip_pending(session, pk(followup), keep_version=followup.due_version)
    if followup.status != FollowUpStatus.OPEN:
        skip_pending(session, pk(followup))
        return 0
    now = now or utcnow()
    owner = session.get(User, followup.owner_id)
    if owner is None or not owner.is_active:
        return 0
    # A reassigned follow-up: the previous owner's pending rungs of this version stop.
    session.execute(
        sa.update(ReminderRung)
        .where(
            col(ReminderRung.followup_id) == followup.id,
            col(ReminderRung.status) == RungStatus.PENDING,
            col(ReminderRung.rung) != "escalation",
            col(ReminderRung.recipient_id) != owner.id,
        )
        .values(status=RungStatus.SKIPPED)
    )
    escalate_after = int(current_app.config.get("ESCALATION_AFTER_DAYS", 3))
    rungs, escalate = plan(
        followup.due_at,
        zone=owner.timezone,
        send_hour=owner.reminder_send_hour,
        days_before=list(owner.reminder_days_before or [3, 1]),
        now=now,
        escalate_after=escalate_after,
    )
    added = add_rungs(session, followup, pk(owner), rungs)
    if escalate:
        added += plan_escalation(session, followup, now)
    return added


def plan_escalation(session: Session, followup: FollowUp, now: datetime) -> int:
    from crm.followups.ladder import next_waking

    added = 0
    for recipient in escalation_recipients(session, followup):
        fire = next_waking(now, recipient.timezone)
        added += add_rungs(session, followup, pk(recipient), [Rung("escalation", fire)])
    return added


def replan_for_user(session: Session, user_id: int, now: datetime | None = None) -> int:
    """After a change of zone, send hour or lead times: replan the user's open follow-ups."""
    followups = session.exec(
        select(FollowUp).where(FollowUp.owner_id == user_id, FollowUp.status == FollowUpStatus.OPEN)
    ).all()
    total = 0
    for followup in followups:
        session.execute(
            sa.update(ReminderRung)
            .where(
                col(ReminderRung.followup_id) == followup.id,
                col(ReminderRung.status) == RungStatus.PENDING,
                col(ReminderRung.recipient_id) == user_id,
            )
            .values(status=RungStatus.SKIPPED)
        )
        session.execute(
            sa.delete(ReminderRung).where(
                col(ReminderRung.followup_id) == followup.id,
                col(ReminderRung.status) == RungStatus.SKIPPED,
                col(ReminderRung.recipient_id) == user_id,
                col(ReminderRung.due_version) == followup.due_version,
                col(ReminderRung.sent_at).is_(None),
            )
        )
        total += plan_followup(session, followup, now)
    return total
