"""A notification is stored as a kind + parameters and worded when shown, in the
reader's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime
from crm.core.time import utcnow


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_user_unread", "user_id", "read_at", "id"),
        sa.UniqueConstraint("user_id", "source", name="uq_notification_user_source"),
        sa.Index("ix_notification_user_occurred", "user_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    # What caused it, unique per user: "event:<id>" or "reminder:<followup>:<rung>:<version>".
    source: str = Field(max_length=120)
    kind: str = Field(max_length=48)
    lead_id: int | None = Field(default=None, foreign_key="lead.id", ondelete="CASCADE", index=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # When what it tells happened (the event's moment, the reminder's), which the list shows.
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
