"""The "webhooks" consumer turns each offered event into one delivery per endpoint that
wants it; "webhook_alerts" tells the admins when Jisr disabled a failing endpoint.

Confidential leads: an event about a confidential lead (judged by the lead as it is when
the event is consumed) reaches only the endpoints whose admin ticked "include
confidential leads" (off by default): an endpoint is a system outside Jisr's visibility
rules, so it gets what its admin chose to share, not what every officer may see.
An endpoint receives only events that happened after it was registered.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from crm.accounts.mail import email_user
from crm.accounts.models import Role, User
from crm.core.consumers import consumer
from crm.core.events import Event, kick, kick_after_commit
from crm.core.text import isolate
from crm.leads.models import Lead
from crm.notifications.consumers import notify
from crm.webhooks.catalogue import EVENT_TYPES, PING, wants
from crm.webhooks.ledger import write_deliveries
from crm.webhooks.models import WebhookEndpoint

SENDER = "crm.webhooks.sweep"


def endpoints_for(session: Session, event: Event) -> list[WebhookEndpoint]:
    if event.type == PING:
        endpoint = session.get(WebhookEndpoint, event.entity_id) if event.entity_id else None
        return [endpoint] if endpoint is not None else []
    active = session.exec(
        select(WebhookEndpoint).where(col(WebhookEndpoint.is_active).is_(True)).order_by(col(WebhookEndpoint.id))
    ).all()
    chosen = [e for e in active if wants(e.event_types, event.type) and e.created_at <= event.occurred_at]
    if chosen and event.lead_id is not None:
        lead = session.get(Lead, event.lead_id)
        # A deleted lead's event says what it was; any other event of a lead that is gone
        # is held to the stricter rule.
        gone_open = lead is None and event.type == "lead.deleted" and event.payload.get("confidential") is False
        if (lead is None and not gone_open) or (lead is not None and lead.confidential):
            chosen = [e for e in chosen if e.include_confidential]
    return chosen


@consumer("webhooks", *EVENT_TYPES, PING)
def on_event(session: Session, event: Event) -> None:
    if write_deliveries(session, event, endpoints_for(session, event)):
        kick_after_commit(session, SENDER)


@consumer("webhook_alerts", "webhook.endpoint_disabled")
def on_endpoint_disabled(session: Session, event: Event) -> None:
    if event.payload.get("reason") != "failing":
        return  # an admin did it: the admins know
    admins = set(session.exec(select(User.id).where(User.role == Role.ADMIN, col(User.is_active).is_(True))).all())
    params: dict[str, Any] = {
        "endpoint_id": event.entity_id,
        "url": event.payload.get("url", ""),
        "consecutive_failures": event.payload.get("consecutive_failures", 0),
    }
    notify(
        session,
        {int(a) for a in admins if a is not None},
        source=f"event:{event.id}",
        kind=event.type,
        lead_id=None,
        params=params,
        occurred_at=event.occurred_at,
    )
    _mail_admins(session, event, [int(a) for a in admins if a is not None], params)


def _mail_admins(session: Session, event: Event, admin_ids: list[int], params: dict[str, Any]) -> None:
    """Each administrator is also told by email, in their language: a disabled endpoint
    means a system outside Jisr stops hearing of changes until someone acts."""
    for admin in session.exec(select(User).where(col(User.id).in_(admin_ids)).order_by(col(User.id))).all():
        email_user(
            session,
            admin,
            "webhook_disabled",
            dedupe_key=f"webhook-disabled:{event.id}:{admin.id}",
            kind="webhook_disabled",
            url=isolate(str(params["url"])),
            failures=int(params["consecutive_failures"] or 0),
            endpoint_id=params["endpoint_id"],
        )


def kick_sender() -> None:
    """New deliveries are sent right away rather than at the next sweep."""
    kick(SENDER)
