"""The "notifications" consumer tells a lead's owner and watchers what others changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.core.time import utcnow
from crm.leads.models import Lead, LeadWatcher
from crm.notifications.models import Notification

LEAD_EVENTS = (
    "lead.updated",
    "lead.stage_changed",
    "activity.logged",
    "followup.scheduled",
    "followup.rescheduled",
    "followup.done",
    "followup.cancelled",
    "lead.watcher_added",
)


def notify(
    session: Session,
    user_ids: set[int],
    *,
    source: str,
    kind: str,
    lead_id: int | None,
    params: dict[str, object],
    occurred_at: datetime | None = None,
) -> None:
    """One notification per user and source, whatever happens twice, dated ``occurred_at``
    (the moment of what it tells; now, if not given)."""
    if not user_ids:
        return
    when = occurred_at or utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"user_id": uid, "source": source, "kind": kind, "lead_id": lead_id, "params": params, "occurred_at": when}
        for uid in sorted(user_ids)
    ]
    session.execute(insert(Notification).values(rows).on_conflict_do_nothing(index_elements=["user_id", "source"]))


@consumer("notifications", *LEAD_EVENTS, "lead.deleted")
def on_lead_event(session: Session, event: Event) -> None:
    if event.lead_id is None:
        return
    if event.type == "lead.deleted":
        _on_lead_deleted(session, event)
        return
    lead = session.get(Lead, event.lead_id)
    if lead is None:
        return
    watchers = set(session.exec(select(LeadWatcher.user_id).where(LeadWatcher.lead_id == lead.id)).all())
    audience = {lead.owner_id, *watchers} - {event.actor_id}
    if event.type == "lead.watcher_added":
        # Only the person who was added hears about it.
        audience = {int(event.payload.get("user_id", 0))} - {event.actor_id, 0}
    notify(
        session,
        audience,
        source=f"event:{event.id}",
        kind=event.type,
        lead_id=lead.id,
        params={"lead_title": lead.title, "actor_id": event.actor_id, **event.payload},
        occurred_at=event.occurred_at,
    )


def _on_lead_deleted(session: Session, event: Event) -> None:
    """The owner and watchers hear that the lead is gone (by the payload: the rows are)."""
    p = event.payload
    audience = {int(u) for u in [p.get("owner_id"), *p.get("watcher_ids", [])] if u} - {event.actor_id}
    notify(
        session,
        audience,
        source=f"event:{event.id}",
        kind=event.type,
        lead_id=None,
        params={"lead_title": p.get("title", ""), "actor_id": event.actor_id},
        occurred_at=event.occurred_at,
    )
