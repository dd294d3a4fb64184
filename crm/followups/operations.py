"""Writes to follow-ups; each records its event.  Rescheduling bumps ``due_version`` so
the reminder ladder of the old date stops and a new one starts."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from crm.accounts.models import User
from crm.accounts.permissions import require_editor
from crm.core.db import pk
from crm.core.errors import ValidationError
from crm.core.events import record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import to_utc, utcnow
from crm.core.validation import clean_text, clean_zone
from crm.followups.links import (
    DONE_NEXT_WEEK,
    SNOOZE,
    ReminderLink,
    link_problem,
    next_week_target,
    on_day_target,
    snooze_target,
)
from crm.followups.models import FollowUp, FollowUpStatus, ReminderLinkUse
from crm.leads.models import Lead
from crm.leads.rights import check_followup_action, check_followup_reassignment


def _check_owner(session: Session, owner_id: int) -> User:
    owner = session.get(User, owner_id)
    if owner is None or not owner.is_active or not owner.can_edit():
        raise ValidationError.single("owner_id", _l("The owner must be an active officer or admin."))
    return owner


def _check_wall(due_local: datetime) -> None:
    if due_local.tzinfo is not None:
        raise ValidationError.single("due_local", _l("Give the wall time and its time zone separately."))


def schedule_followup(
    session: Session,
    lead: Lead,
    *,
    title: str,
    due_local: datetime,
    timezone: str,
    owner_id: int | None = None,
    actor: User | None = None,
) -> FollowUp:
    require_editor(actor)
    _check_wall(due_local)
    zone = clean_zone(timezone)
    owner = _check_owner(session, owner_id or lead.owner_id)
    followup = FollowUp(
        lead_id=pk(lead),
        title=clean_text(title, "title", max_length=300),
        due_local=due_local,
        timezone=zone,
        due_at=to_utc(due_local, zone),
        owner_id=pk(owner),
    )
    session.add(followup)
    record_event(
        session,
        "followup.scheduled",
        followup,
        actor=actor,
        lead_id=pk(lead),
        payload={
            "title": followup.title,
            "due_local": due_local,
            "timezone": zone,
            "due_at": followup.due_at,
            "owner_id": owner.id,
            "due_version": 1,
        },
    )
    return followup


def _require_open(followup: FollowUp) -> None:
    if followup.status != FollowUpStatus.OPEN:
        raise ValidationError.single("status", _l("This follow-up is already closed."))


def reschedule_followup(
    session: Session,
    followup: FollowUp,
    *,
    due_local: datetime,
    timezone: str | None = None,
    actor: User | None = None,
) -> bool:
    require_editor(actor)
    _require_open(followup)
    _check_wall(due_local)
    zone = clean_zone(timezone or followup.timezone)
    if due_local == followup.due_local and zone == followup.timezone:
        return False
    old = {"due_local": followup.due_local, "timezone": followup.timezone, "due_at": followup.due_at}
    followup.due_local = due_local
    followup.timezone = zone
    followup.due_at = to_utc(due_local, zone)
    followup.due_version += 1
    followup.updated_at = utcnow()
    record_event(
        session,
        "followup.rescheduled",
        followup,
        actor=actor,
        lead_id=followup.lead_id,
        payload={
            "from": old,
            "to": {"due_local": due_local, "timezone": zone, "due_at": followup.due_at},
            "due_version": followup.due_version,
        },
    )
    return True


def reassign_followup(session: Session, followup: FollowUp, owner_id: int, *, actor: User | None = None) -> bool:
    """Give the follow-up to someone else: its owner or the lead's managers may."""
    require_editor(actor)
    _require_open(followup)
    owner = _check_owner(session, owner_id)
    if owner.id == followup.owner_id:
        return False
    lead = session.get(Lead, followup.lead_id)
    if lead is None:
        raise ValidationError.single("lead_id", _l("Unknown lead."))
    check_followup_reassignment(actor, followup.owner_id, lead)
    old = followup.owner_id
    followup.owner_id = pk(owner)
    followup.updated_at = utcnow()
    record_event(
        session,
        "followup.reassigned",
        followup,
        actor=actor,
        lead_id=followup.lead_id,
        payload={"from": old, "to": owner.id},
    )
    return True


def complete_followup(session: Session, followup: FollowUp, *, actor: User | None = None) -> None:
    require_editor(actor)
    _require_open(followup)
    now = utcnow()
    followup.status = FollowUpStatus.DONE
    followup.completed_at = now
    followup.updated_at = now
    record_event(
        session,
        "followup.done",
        followup,
        actor=actor,
        lead_id=followup.lead_id,
        payload={"on_time": now <= followup.due_at},
    )


def cancel_followup(session: Session, followup: FollowUp, *, actor: User | None = None, reason: str = "") -> None:
    require_editor(actor)
    _require_open(followup)
    followup.status = FollowUpStatus.CANCELLED
    followup.updated_at = utcnow()
    record_event(
        session,
        "followup.cancelled",
        followup,
        actor=actor,
        lead_id=followup.lead_id,
        payload={"reason": clean_text(reason, "reason", max_length=2000, required=False)},
    )


def follow_reminder_link(session: Session, followup: FollowUp, link: ReminderLink, actor: User) -> FollowUp | None:
    """Do what a reminder's one-click link says, as its recipient, through the operations
    above (so each change records its event); the next follow-up of "done, next in a week".

    The link's use is written first and flushed: its digest is unique, so a second use at
    the same moment fails there (``IntegrityError``) and the caller rolls back."""
    problem = link_problem(session, followup, link, actor)
    if problem is not None:
        raise ValidationError.single("link", problem)
    session.add(
        ReminderLinkUse(token_digest=link.digest, followup_id=pk(followup), user_id=pk(actor), action=link.action)
    )
    session.flush()
    now = utcnow()
    if link.action == SNOOZE:
        reschedule_followup(session, followup, due_local=snooze_target(followup, now), actor=actor)
        return None
    due_next = next_week_target(followup, now)
    complete_followup(session, followup, actor=actor)
    if link.action != DONE_NEXT_WEEK:
        return None
    lead = session.get(Lead, followup.lead_id)
    assert lead is not None  # link_problem checked it
    return schedule_followup(
        session,
        lead,
        title=followup.title,
        due_local=due_next,
        timezone=followup.timezone,
        owner_id=followup.owner_id,
        actor=actor,
    )


def _lead_of(session: Session, followup: FollowUp) -> Lead:
    lead = session.get(Lead, followup.lead_id)
    if lead is None:
        raise ValidationError.single("lead_id", _l("Unknown lead."))
    return lead


def close_followup(
    session: Session,
    followup: FollowUp,
    *,
    next_due_local: datetime | None = None,
    next_title: str | None = None,
    actor: User | None = None,
) -> FollowUp | None:
    """Mark the follow-up done and, given ``next_due_local`` (a wall time in the follow-up's
    zone), schedule the next one for the same owner: both in the caller's one transaction,
    the next one checked before anything changes.  Its owner or the lead's managers may."""
    require_editor(actor)
    _require_open(followup)
    lead = _lead_of(session, followup)
    check_followup_action(actor, followup.owner_id, lead)
    title = None
    if next_due_local is not None:
        _check_wall(next_due_local)
        title = clean_text(next_title if next_title is not None else followup.title, "title", max_length=300)
        if to_utc(next_due_local, followup.timezone) <= utcnow():
            raise ValidationError.single("due_local", _l("Choose a moment in the future."))
    complete_followup(session, followup, actor=actor)
    if next_due_local is None or title is None:
        return None
    return schedule_followup(
        session,
        lead,
        title=title,
        due_local=next_due_local,
        timezone=followup.timezone,
        owner_id=followup.owner_id,
        actor=actor,
    )


SNOOZE_DAYS = {"day": 1, "week": 7}
SNOOZE_HORIZON = timedelta(days=5 * 366)


def snooze_followup(
    session: Session,
    followup: FollowUp,
    *,
    by: str,
    on: date | None = None,
    now: datetime | None = None,
    actor: User | None = None,
) -> datetime:
    """Put the follow-up off at its local hour: ``by`` "day" (tomorrow), "week" (a week from
    today) or "date" (the day ``on``); never to a moment already past.  Its owner or the
    lead's managers may.  Returns the new wall time (in the follow-up's zone)."""
    require_editor(actor)
    _require_open(followup)
    check_followup_action(actor, followup.owner_id, _lead_of(session, followup))
    now = now or utcnow()
    if by in SNOOZE_DAYS:
        target = snooze_target(followup, now, days=SNOOZE_DAYS[by])
    elif by == "date" and on is not None:
        target = on_day_target(followup, on)
        instant = to_utc(target, followup.timezone)
        if instant <= now or instant - now > SNOOZE_HORIZON:
            raise ValidationError.single("on", _l("Choose a day from today on, within five years."))
    else:
        raise ValidationError.single("by", _l("Choose when to be reminded again."))
    reschedule_followup(session, followup, due_local=target, actor=actor)
    return target
