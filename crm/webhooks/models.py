"""Webhook endpoints (audited settings), their health, and the delivery ledger."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow


class DisabledReason(enum.StrEnum):
    ADMIN = "admin"  # an administrator switched it off
    FAILING = "failing"  # Jisr switched it off after repeated failures


class WebhookEndpoint(Audited, SQLModel, table=True):
    """Where Jisr posts events.  The signing secret is kept in the clear (it keys the
    HMAC, so it cannot be hashed): anyone who reads this table can forge deliveries."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=300)
    # Event types from crm.webhooks.catalogue, or ["*"] for all of them.
    event_types: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Events of confidential leads reach the endpoint only when an admin asked for them.
    include_confidential: bool = Field(default=False)
    is_active: bool = Field(default=True)
    disabled_reason: DisabledReason | None = Field(default=None, sa_type=enum_column(DisabledReason, 16))
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    secret: str = Field(max_length=100)
    # After a rotation the old secret still signs (as a second v1) until this instant.
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    secret_rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def secrets_in_use(self, now: datetime) -> list[str]:
        """The secrets that sign a delivery sent at ``now``: the current one first."""
        found = [self.secret]
        if self.previous_secret and self.previous_secret_until and self.previous_secret_until > now:
            found.append(self.previous_secret)
        return found


class WebhookEndpointHealth(SQLModel, table=True):
    """How an endpoint's deliveries are going; updated by the sender with each attempt
    (operational counters, like the mail ledger, not audited settings)."""

    __tablename__ = "webhook_endpoint_health"

    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", primary_key=True, ondelete="CASCADE")
    # Deliveries given up in a row since the last success.
    consecutive_failures: int = Field(default=0)
    # First failed attempt since the last successful one.
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint, written by the consumer in the event's transaction and
    sent with a lease; the body is fixed when written, so every retry sends the same bytes."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
        # The endpoint page lists the newest deliveries of one endpoint.
        sa.Index("ix_webhook_delivery_endpoint_newest", "endpoint_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The Jisr-Delivery header: the same on every retry, so receivers can drop repeats.
    public_id: str = Field(max_length=36, unique=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE")
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE")
    event_type: str = Field(max_length=64)
    body: str = Field(sa_type=sa.Text)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=enum_column(DeliveryStatus, 16))
    attempts: int = Field(default=0)
    # Attempts made before an admin asked for a redelivery: each round has the full budget.
    attempts_before_redelivery: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enqueued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_duration_ms: int | None = Field(default=None)
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class WebhookAttempt(SQLModel, table=True):
    """One try at sending a delivery: the log that admins read."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (sa.Index("ix_webhook_attempt_delivery", "delivery_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", ondelete="CASCADE")
    number: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    duration_ms: int | None = Field(default=None)
    status_code: int | None = Field(default=None)
    response_excerpt: str = Field(default="", max_length=500)
    error: str | None = Field(default=None, max_length=500)
    # What the attempt led to: delivered, retry or failed.
    outcome: DeliveryStatus = Field(sa_type=enum_column(DeliveryStatus, 16))
