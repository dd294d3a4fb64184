"""The "checkins" consumer: a lead's owner hears when a check-in answer contradicts the
lead's stage (see :func:`crm.checkins.outcomes.contradicts`), on the bell."""

from __future__ import annotations

from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.leads.models import Lead
from crm.notifications.consumers import notify


@consumer("checkins", "lead.checkin_answered")
def on_checkin_answered(session: Session, event: Event) -> None:
    if event.lead_id is None or not event.payload.get("contradicts"):
        return
    lead = session.get(Lead, event.lead_id)
    if lead is None:
        return
    notify(
        session,
        {lead.owner_id},
        source=f"event:{event.id}",
        kind="lead.checkin_contradicts",
        lead_id=lead.id,
        params={
            "lead_title": lead.title,
            "outcome": event.payload.get("outcome"),
            "stage": event.payload.get("stage"),
            "contact_id": event.payload.get("contact_id"),
        },
    )
