"""Signed one-click links in reminder mail: "done", "done, next in a week", "snooze to
tomorrow" (itsdangerous, one salt per action, like the set-password and unsubscribe links).

A link names the follow-up, its ``due_version``, the action and the recipient, and is
good for ``MAX_AGE`` (14 days).  It is its own authority — no login, no CSRF token — so:

* opening it (GET) only shows what it would do: mail scanners fetch links, and must change
  nothing (RFC 8058 practice); the button on that page POSTs;
* a link works once: its digest goes into ``reminder_link_use`` (unique) in the same
  transaction as the change, so a second use — or two at once — changes nothing;
* it acts only on the follow-up as it was mailed: completed, cancelled, rescheduled (a new
  ``due_version``) or reassigned since, the link says so and changes nothing;
* only a follow-up's owner is sent action links; escalation mail carries "open the lead".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import Session, select

from crm.accounts.models import User
from crm.core.db import pk
from crm.core.signed import read_timed
from crm.core.time import to_local, to_utc
from crm.followups.models import FollowUp, FollowUpStatus, ReminderLinkUse
from crm.leads.models import Lead

DONE = "done"
DONE_NEXT_WEEK = "done-next-week"
SNOOZE = "snooze"
ACTIONS = (DONE, DONE_NEXT_WEEK, SNOOZE)
SALTS = {action: f"jisr.followup-link.{action}" for action in ACTIONS}
MAX_AGE = 14 * 24 * 3600
NEXT_AFTER = timedelta(days=7)

# Why a genuine, unexpired link cannot act (what its page then says).
USED = "used"
NOT_YOURS = "not-yours"
COMPLETED = "completed"
CANCELLED = "cancelled"
RESCHEDULED = "rescheduled"
REASSIGNED = "reassigned"


@dataclass(frozen=True)
class ReminderLink:
    """What a genuine link says; ``expired`` when it is older than ``MAX_AGE``."""

    action: str
    followup_id: int
    due_version: int
    recipient_id: int
    digest: str
    expired: bool = False


def _serializer(action: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALTS[action])


def link_token(followup: FollowUp, recipient_id: int, action: str) -> str:
    return _serializer(action).dumps({"f": pk(followup), "v": followup.due_version, "r": recipient_id})


def link_url(followup: FollowUp, recipient_id: int, action: str) -> str:
    """For an email: on ``BASE_URL`` (a worker writing an email has no request)."""
    return f"{current_app.config['BASE_URL']}/followups/link/{link_token(followup, recipient_id, action)}"


def _claim(action: str, data: Any, token: str, *, expired: bool) -> ReminderLink | None:
    if not isinstance(data, dict):
        return None
    values = [data.get(k) for k in ("f", "v", "r")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in values):
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    return ReminderLink(action, values[0], values[1], values[2], digest, expired)  # type: ignore[arg-type]


def read_link(token: str) -> ReminderLink | None:
    """The link ``token`` is, or ``None`` when we did not sign it.  An expired link is
    still read (its signature is checked first) so that its page can say which it was."""
    for action in ACTIONS:
        found = read_timed(_serializer(action), token, MAX_AGE)
        if found is not None:
            return _claim(action, found[0], token, expired=found[1])
    return None


def _at_wall_time(day: date, followup: FollowUp) -> datetime:
    return followup.due_local.replace(year=day.year, month=day.month, day=day.day)


def snooze_target(followup: FollowUp, now: datetime, *, days: int = 1) -> datetime:
    """``days`` from today (in the follow-up's zone; tomorrow by default) at its local hour,
    and never before it is due now."""
    later = to_local(now, followup.timezone).date() + timedelta(days=days)
    target = _at_wall_time(later, followup)
    while to_utc(target, followup.timezone) <= followup.due_at:
        target += timedelta(days=1)
    return target


def on_day_target(followup: FollowUp, day: date) -> datetime:
    """``day`` at the follow-up's local hour (a date picked to snooze it to)."""
    return _at_wall_time(day, followup)


def next_week_target(followup: FollowUp, now: datetime) -> datetime:
    """A week from today (in the follow-up's zone), at the follow-up's local hour."""
    return _at_wall_time(to_local(now, followup.timezone).date() + NEXT_AFTER, followup)


def use_of(session: Session, link: ReminderLink) -> ReminderLinkUse | None:
    return session.exec(select(ReminderLinkUse).where(ReminderLinkUse.token_digest == link.digest)).first()


def link_problem(session: Session, followup: FollowUp, link: ReminderLink, reader: User | None) -> str | None:
    """Why ``link`` may not act on ``followup`` now, or ``None`` when it may."""
    from crm.leads.queries import can_see

    if use_of(session, link) is not None:
        return USED
    lead = session.get(Lead, followup.lead_id)
    if reader is None or not reader.is_active or not reader.can_edit() or lead is None:
        return NOT_YOURS
    if followup.status == FollowUpStatus.DONE:
        return COMPLETED
    if followup.status == FollowUpStatus.CANCELLED:
        return CANCELLED
    if followup.due_version != link.due_version:
        return RESCHEDULED
    if followup.owner_id != reader.id:
        return REASSIGNED
    if not can_see(session, reader, lead):
        return NOT_YOURS
    return None
