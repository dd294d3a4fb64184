"""The "reminders" consumer keeps each follow-up's reminder ladder in step with events."""

from __future__ import annotations

from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.followups.models import FollowUp
from crm.followups.reminders import plan_followup, replan_for_user, skip_pending

REMINDER_FIELDS = {"timezone", "reminder_send_hour", "reminder_days_before"}


@consumer(
    "reminders",
    "followup.scheduled",
    "followup.rescheduled",
    "followup.reassigned",
    "followup.done",
    "followup.cancelled",
    "user.preferences_changed",
)
def on_followup_event(session: Session, event: Event) -> None:
    if event.type == "user.preferences_changed":
        if event.entity_id is not None and REMINDER_FIELDS & set(event.payload.get("changes", {})):
            replan_for_user(session, event.entity_id)
        return
    if event.entity_id is None:
        return
    followup = session.get(FollowUp, event.entity_id)
    if followup is None:
        return
    if event.type in ("followup.done", "followup.cancelled"):
        skip_pending(session, event.entity_id)
        return
    # The follow-up's current state decides: a late, out-of-order event changes nothing wrong.
    plan_followup(session, followup)
