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
