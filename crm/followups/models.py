"""A follow-up is due at a wall time in a zone; its UTC instant is resolved from them."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class FollowUp(Audited, SQLModel, table=True):
    __tablename__ = "followup"
    __table_args__ = (
        sa.Index("ix_followup_due_id", "due_at", "id"),
        sa.Index("ix_followup_status_due", "status", "due_at"),
        sa.Index("ix_followup_owner_status_due", "owner_id", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=300)
    due_local: datetime = Field(sa_type=sa.DateTime(timezone=False))  # wall time in `timezone`
    timezone: str = Field(max_length=64)
    due_at: datetime = Field(sa_type=UTCDateTime)
    owner_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT")
    status: FollowUpStatus = Field(default=FollowUpStatus.OPEN, sa_type=enum_column(FollowUpStatus, 16))
    # Bumped on every reschedule so an old reminder ladder stops and a new one starts.
    due_version: int = Field(default=1)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RungStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"


class ReminderRung(SQLModel, table=True):
    """One planned reminder of a follow-up's ladder, for one recipient and due version.

    ``rung`` is ``before-3``, ``before-1``, ``due``, ``overdue-<days>`` or ``escalation``.
    The dispatcher finds pending rungs whose moment has come with one indexed query.
    """

    __tablename__ = "reminder_rung"
    __table_args__ = (
        sa.UniqueConstraint("followup_id", "due_version", "rung", "recipient_id", name="uq_reminder_rung_key"),
        sa.Index("ix_reminder_rung_status_fire", "status", "fire_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    followup_id: int = Field(foreign_key="followup.id", ondelete="CASCADE", index=True)
    due_version: int
    rung: str = Field(max_length=32)
    recipient_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    fire_at: datetime = Field(sa_type=UTCDateTime)
    status: RungStatus = Field(default=RungStatus.PENDING, sa_type=enum_column(RungStatus, 16))
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReminderLinkUse(SQLModel, table=True):
    """A one-click link of a reminder that was used: its digest is unique, so a link acts
    once, and a second use (or two at once) finds this row and changes nothing."""

    __tablename__ = "reminder_link_use"

    id: int | None = Field(default=None, primary_key=True)
    token_digest: str = Field(max_length=64, unique=True)
    followup_id: int = Field(foreign_key="followup.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    action: str = Field(max_length=32)
    used_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
