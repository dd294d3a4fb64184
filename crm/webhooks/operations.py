"""Writes to webhook endpoints; each records its event.  Only administrators manage
endpoints (the checks are here, so the API and the CLI get them too); secrets never go
into an event's payload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlmodel import Session

from crm.accounts.models import Role, User
from crm.core.db import pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event, changes_of, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.core.validation import clean_text
from crm.webhooks.addresses import AddressPolicy, UnsafeTarget, check_target
from crm.webhooks.catalogue import ALL_EVENTS, EVENT_TYPES, PING
from crm.webhooks.ledger import fail_waiting, reset_failed
from crm.webhooks.models import DisabledReason, WebhookEndpoint, WebhookEndpointHealth
from crm.webhooks.signing import new_secret

# After a rotation the previous secret keeps signing (as a second v1) this long.
SECRET_GRACE = timedelta(hours=24)


def _require_admin(actor: User | None) -> None:
    """``None`` is Jisr itself (e.g. the sender disabling a failing endpoint)."""
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied("not an administrator", message=_l("Only administrators manage webhooks."))


def _policy(policy: AddressPolicy | None) -> AddressPolicy:
    if policy is not None:
        return policy
    return AddressPolicy.from_config(current_app.config) if has_app_context() else AddressPolicy()


def _clean_url(url: str, policy: AddressPolicy | None) -> str:
    try:
        return check_target(url or "", _policy(policy)).url
    except UnsafeTarget as exc:
        raise ValidationError.single("url", exc.message) from None


def _clean_event_types(values: list[str] | tuple[str, ...]) -> list[str]:
    chosen = [str(v) for v in values]
    if ALL_EVENTS in chosen:
        return [ALL_EVENTS]
    unknown = sorted(set(chosen) - set(EVENT_TYPES))
    if unknown:
        raise ValidationError.single("event_types", _l("Unknown event type: %(name)s", name=unknown[0]))
    if not chosen:
        raise ValidationError.single("event_types", _l("Choose at least one event type, or all of them."))
    return [name for name in EVENT_TYPES if name in chosen]


def create_webhook_endpoint(
    session: Session,
    *,
    url: str,
    event_types: list[str] | tuple[str, ...],
    description: str = "",
    include_confidential: bool = False,
    actor: User | None = None,
    policy: AddressPolicy | None = None,
) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret (``endpoint.secret``, to show once)."""
    _require_admin(actor)
    endpoint = WebhookEndpoint(
        url=_clean_url(url, policy),
        description=clean_text(description, "description", max_length=300, required=False),
        event_types=_clean_event_types(event_types),
        include_confidential=bool(include_confidential),
        secret=new_secret(),
        created_by_id=getattr(actor, "id", None),
    )
    session.add(endpoint)
    session.flush()
    session.add(WebhookEndpointHealth(endpoint_id=pk(endpoint)))
    record_event(
        session,
        "webhook.endpoint_created",
        endpoint,
        actor=actor,
        payload={
            "url": endpoint.url,
            "event_types": endpoint.event_types,
            "include_confidential": endpoint.include_confidential,
        },
    )
    return endpoint


def update_webhook_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    url: str,
    event_types: list[str] | tuple[str, ...],
    description: str,
    include_confidential: bool,
    actor: User | None = None,
    policy: AddressPolicy | None = None,
) -> dict[str, list[Any]]:
    _require_admin(actor)
    fields = {
        "url": _clean_url(url, policy),
        "description": clean_text(description, "description", max_length=300, required=False),
        "event_types": _clean_event_types(event_types),
        "include_confidential": bool(include_confidential),
    }
    changes = changes_of(endpoint, fields)
    if changes:
        endpoint.updated_at = utcnow()
        record_event(session, "webhook.endpoint_updated", endpoint, actor=actor, payload={"changes": changes})
    return changes


def disable_webhook_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    actor: User | None = None,
    reason: DisabledReason | str = DisabledReason.ADMIN,
    details: dict[str, Any] | None = None,
) -> bool:
    """Stop sending: deliveries waiting for a (re)try are given up (they can be sent
    again from the log after the endpoint is enabled)."""
    _require_admin(actor)
    if not endpoint.is_active:
        return False
    why = DisabledReason(reason)
    now = utcnow()
    endpoint.is_active = False
    endpoint.disabled_reason = why
    endpoint.disabled_at = now
    endpoint.updated_at = now
    given_up = fail_waiting(session, pk(endpoint), "endpoint disabled")
    record_event(
        session,
        "webhook.endpoint_disabled",
        endpoint,
        actor=actor,
        payload={"reason": why, "url": endpoint.url, "deliveries_given_up": given_up, **(details or {})},
    )
    return True


def enable_webhook_endpoint(session: Session, endpoint: WebhookEndpoint, *, actor: User | None = None) -> bool:
    """Send again; the failure count starts from zero."""
    _require_admin(actor)
    if endpoint.is_active:
        return False
    endpoint.is_active = True
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.updated_at = utcnow()
    health = session.get(WebhookEndpointHealth, pk(endpoint))
    if health is None:
        session.add(WebhookEndpointHealth(endpoint_id=pk(endpoint)))
    else:
        health.consecutive_failures = 0
        health.failing_since = None
    record_event(session, "webhook.endpoint_enabled", endpoint, actor=actor, payload={"url": endpoint.url})
    return True


def rotate_webhook_secret(
    session: Session, endpoint: WebhookEndpoint, *, actor: User | None = None, now: datetime | None = None
) -> str:
    """A new signing secret, returned to be shown once; the old one keeps signing beside
    it for :data:`SECRET_GRACE`, so receivers can switch without losing deliveries."""
    _require_admin(actor)
    now = now or utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + SECRET_GRACE
    endpoint.secret = new_secret()
    endpoint.secret_rotated_at = now
    endpoint.updated_at = now
    record_event(
        session,
        "webhook.secret_rotated",
        endpoint,
        actor=actor,
        payload={"previous_secret_valid_until": endpoint.previous_secret_until},
    )
    return endpoint.secret


def reveal_webhook_secret(session: Session, endpoint: WebhookEndpoint, *, actor: User | None) -> str:
    """An administrator asks to see the secret again: allowed, and recorded."""
    _require_admin(actor)
    record_event(session, "webhook.secret_revealed", endpoint, actor=actor)
    return endpoint.secret


def delete_webhook_endpoint(session: Session, endpoint: WebhookEndpoint, *, actor: User | None = None) -> None:
    """The endpoint goes with its health and its delivery log."""
    _require_admin(actor)
    record_event(
        session,
        "webhook.endpoint_deleted",
        endpoint,
        actor=actor,
        payload={"url": endpoint.url, "event_types": endpoint.event_types},
    )
    session.delete(endpoint)


def send_webhook_ping(session: Session, endpoint: WebhookEndpoint, *, actor: User | None = None) -> Event:
    """A test event for this endpoint alone (also when it is disabled, to check a fix
    before enabling it); it travels the same path as every other event."""
    _require_admin(actor)
    return record_event(session, PING, endpoint, actor=actor, payload={"endpoint_id": pk(endpoint)})


def redeliver_webhook_deliveries(
    session: Session, endpoint: WebhookEndpoint, *, delivery_ids: list[int] | None = None, actor: User | None = None
) -> int:
    """Failed deliveries of ``endpoint`` (all, or those of ``delivery_ids``) are queued
    again with the same ``Jisr-Delivery`` id; returns how many."""
    _require_admin(actor)
    ids = reset_failed(session, pk(endpoint), delivery_ids)
    if ids:
        record_event(
            session,
            "webhook.redelivery_requested",
            endpoint,
            actor=actor,
            payload={"count": len(ids), "delivery_ids": ids[:100]},
        )
    return len(ids)
