"""A subscription: who receives a digest, how often, in which language, about what."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.accounts.models import Language
from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited, Event
from crm.core.time import utcnow


class Cadence(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Subscription(Audited, SQLModel, table=True):
    __tablename__ = "subscription"
    __table_args__ = (
        sa.CheckConstraint("send_hour >= 0 AND send_hour <= 23", name="send_hour_range"),
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # A user of the app, or an external stakeholder (optionally linked to a contact).
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True, ondelete="CASCADE")
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True, ondelete="SET NULL")
    # Where the reader works (a contact's organisation, or chosen for any address).
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True, ondelete="SET NULL")
    name: str = Field(max_length=200)
    email: str = Field(max_length=254, index=True)
    language: Language = Field(default=Language.FR, sa_type=enum_column(Language, 2))
    timezone: str = Field(default="Africa/Casablanca", max_length=64)
    cadence: Cadence = Field(default=Cadence.WEEKLY, sa_type=enum_column(Cadence, 16))
    weekday: int = Field(default=0)  # Monday = 0, for weekly digests
    send_hour: int = Field(default=8)
    # {"ma_organisation_ids": [...], "us_organisation_ids": [...], "sector_ids": [...],
    #  "partnership_types": [...], "owner_ids": [...], "mission_ids": [...]}
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    include_confidential: bool = Field(default=False)
    send_when_empty: bool = Field(default=False)
    is_active: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    unsubscribed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # resubscribed


class DigestRun(SQLModel, table=True):
    """One digest of one subscription for one period: the archive, and the dedupe of the
    scheduler (two beats, or a beat and a "send now", write the row once)."""

    __tablename__ = "digest_run"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", ondelete="CASCADE")
    period: str = Field(max_length=16)
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    language: str = Field(max_length=2)
    # "queued" (a ledger row was written) or "empty" (nothing to tell; not sent)
    status: str = Field(max_length=16)
    mail_key: str | None = Field(default=None, max_length=200)
    subject: str = Field(default="", max_length=500)
    text_body: str = Field(default="", sa_type=sa.Text)
    html_body: str = Field(default="", sa_type=sa.Text)
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# Digests read a subscription's events by lead, type and time; this index on the shared
# event table keeps that read proportional to the subscription's leads, not the whole log.
_event: sa.Table = Event.__table__  # type: ignore[attr-defined]
sa.Index("ix_event_lead_type_occurred", _event.c.lead_id, _event.c.type, _event.c.occurred_at)
