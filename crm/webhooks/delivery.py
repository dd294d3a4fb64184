"""Sending one delivery: claim it, check the address again, sign, post, record.

Retries: exponential backoff with jitter from ``WEBHOOK_RETRY_BASE_SECONDS`` (doubling,
capped at six hours, at least what a ``Retry-After`` asks), up to
``WEBHOOK_MAX_ATTEMPTS``.  The beat sweeper sends what is due; no task waits in the
broker for longer than a minute.

Automatic disabling: an endpoint whose deliveries failed (retries exhausted, or refused
at once) ``WEBHOOK_DISABLE_AFTER_FAILURES`` times in a row, or whose attempts have all
failed for ``WEBHOOK_DISABLE_AFTER_SECONDS`` (a day by default), is disabled by Jisr,
with a ``webhook.endpoint_disabled`` event (reason ``failing``) that tells the admins.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from crm.core.time import utcnow
from crm.webhooks.addresses import AddressPolicy, UnsafeTarget, check_target
from crm.webhooks.catalogue import PING
from crm.webhooks.ledger import Outcome, Result, abandon, claim, record_attempt
from crm.webhooks.models import DeliveryStatus, DisabledReason, WebhookDelivery, WebhookEndpoint
from crm.webhooks.operations import disable_webhook_endpoint
from crm.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header
from crm.webhooks.transport import TransportError, post

RETRY_CAP_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class DeliverySettings:
    timeout: float = 10.0
    lease: timedelta = timedelta(seconds=60)
    retry_base: float = 60.0
    retry_cap: float = RETRY_CAP_SECONDS
    max_attempts: int = 10
    disable_after_failures: int = 5
    disable_after: timedelta = timedelta(days=1)
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    tls: ssl.SSLContext | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> DeliverySettings:
        timeout = float(config["WEBHOOK_TIMEOUT_SECONDS"])
        # The lease outlives the slowest attempt (connect, send and read each within the timeout).
        lease = max(float(config["WEBHOOK_LEASE_SECONDS"]), 3 * timeout + 5)
        values: dict[str, Any] = {
            "timeout": timeout,
            "lease": timedelta(seconds=lease),
            "retry_base": float(config["WEBHOOK_RETRY_BASE_SECONDS"]),
            "max_attempts": int(config["WEBHOOK_MAX_ATTEMPTS"]),
            "disable_after_failures": int(config["WEBHOOK_DISABLE_AFTER_FAILURES"]),
            "disable_after": timedelta(seconds=float(config["WEBHOOK_DISABLE_AFTER_SECONDS"])),
            "policy": AddressPolicy.from_config(config),
            **overrides,
        }
        return cls(**values)


def headers_for(delivery: WebhookDelivery, endpoint: WebhookEndpoint, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        SIGNATURE_HEADER: signature_header(endpoint.secrets_in_use(now), timestamp, body),
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: delivery.public_id,
        "Jisr-Attempt": str(delivery.attempts),
    }


def _attempt(endpoint_url: str, body: bytes, headers: dict[str, str], settings: DeliverySettings) -> Result:
    try:
        target = check_target(endpoint_url, settings.policy)
    except UnsafeTarget as exc:
        return Result(error=f"address refused: {exc}", retryable=False)
    try:
        answer = post(target, body, headers, timeout=settings.timeout, tls=settings.tls)
    except TransportError as exc:
        return Result(error=str(exc)[:500], duration_ms=exc.duration_ms)
    return Result(
        status_code=answer.status,
        excerpt=answer.excerpt,
        duration_ms=answer.duration_ms,
        retry_after=answer.retry_after,
        error=None if 200 <= answer.status < 300 else f"HTTP {answer.status}",
    )


def send_delivery(
    session: Session, delivery_id: int, settings: DeliverySettings, *, now: datetime | None = None
) -> Outcome | None:
    """Send one due delivery; ``None`` when it is not due, someone else holds it, or it
    vanished with its endpoint.  Commits."""
    now = now or utcnow()
    delivery = claim(session, delivery_id, now=now, lease=settings.lease)
    if delivery is None:
        return None
    claimed_attempts = delivery.attempts
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None:
        session.rollback()
        return None
    if not endpoint.is_active and delivery.event_type != PING:
        abandon(session, delivery, "endpoint disabled", now=now)
        session.commit()
        return Outcome(DeliveryStatus.FAILED)
    body = delivery.body.encode("utf-8")
    headers = headers_for(delivery, endpoint, body, now)
    url = endpoint.url
    session.commit()  # no transaction stays open while the receiver answers
    result = _attempt(url, body, headers, settings)

    current = session.get(
        WebhookDelivery,
        delivery_id,
        populate_existing=True,
        with_for_update=session.get_bind().dialect.name == "postgresql",
    )
    if current is None or current.status != DeliveryStatus.SENDING or current.attempts != claimed_attempts:
        # The lease expired and the sweeper (or another sender) took the row over.
        session.rollback()
        return None
    outcome = record_attempt(
        session,
        current,
        result,
        now=now,
        base=settings.retry_base,
        cap=settings.retry_cap,
        max_attempts=settings.max_attempts,
    )
    health = outcome.health
    endpoint = session.get(WebhookEndpoint, current.endpoint_id, populate_existing=True)
    failed = outcome.status != DeliveryStatus.DELIVERED
    if health is not None and endpoint is not None and endpoint.is_active and failed:
        failing_for = now - health.failing_since if health.failing_since else timedelta(0)
        if health.consecutive_failures >= settings.disable_after_failures or failing_for >= settings.disable_after:
            disable_webhook_endpoint(
                session,
                endpoint,
                actor=None,
                reason=DisabledReason.FAILING,
                details={
                    "consecutive_failures": health.consecutive_failures,
                    "failing_since": health.failing_since,
                    "last_error": current.last_error,
                },
            )
    session.commit()
    return outcome
