"""Inbound mail: the ledger of raw messages as they arrived, and the emails filed on leads.

A message is stored raw first (:class:`InboundMail`, unique on Message-ID and recipient
address, so a second delivery of the same message to the same address is refused by the
database), with an ``email.received`` event in the same transaction; the "inbound"
consumer then files it, exactly once, into an :class:`EmailMessage` with its activity on
the lead.  A crash between the two leaves the raw row and the unconsumed event, which
the relay delivers again.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow


class InboundState(enum.StrEnum):
    RECEIVED = "received"  # stored, not filed yet
    FILED = "filed"  # on a lead
    TO_FILE = "to_file"  # waits in its user's "To file" tray
    REVIEW = "review"  # not from a user on a personal address: an administrator looks
    DROPPED = "dropped"  # set aside by whoever reviewed it


class Direction(enum.StrEnum):
    INBOUND = "inbound"  # from someone outside to an officer
    OUTBOUND = "outbound"  # from an officer (written in Jisr, or copied to Jisr)


class InboundMail(SQLModel, table=True):
    """The ledger of raw messages (machinery, like the outbound ledger: its own event is
    ``email.received``, written with it)."""

    __tablename__ = "inbound_mail"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "address", name="uq_inbound_mail_message_address"),
        sa.Index("ix_inbound_mail_user_state", "user_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The Message-ID without its angle brackets (a digest of the bytes when it has none).
    message_id: str = Field(max_length=300)
    # The logging address it was delivered to (the SMTP envelope's, lower case).
    address: str = Field(max_length=254)
    via: str = Field(max_length=8)  # "smtp" or "imap"
    envelope_from: str = Field(default="", max_length=254)
    raw: bytes = Field(sa_type=sa.LargeBinary)
    size: int
    state: InboundState = Field(default=InboundState.RECEIVED, sa_type=enum_column(InboundState, 12))
    # The user whose personal address received it (their tray), or None for a lead address.
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    lead_id: int | None = Field(default=None, foreign_key="lead.id", ondelete="SET NULL", index=True)
    # Leads proposed in the tray (ids), best first.
    suggestions: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    filed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EmailMessage(Audited, SQLModel, table=True):
    """One email on one lead, with the activity that shows it in the lead's history."""

    __tablename__ = "email_message"
    __table_args__ = (
        sa.UniqueConstraint("lead_id", "message_id", name="uq_email_message_lead_message"),
        sa.Index("ix_email_message_message_id", "message_id"),
        sa.Index("ix_email_message_lead_sent", "lead_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE")
    activity_id: int = Field(foreign_key="activity.id", ondelete="CASCADE", unique=True)
    inbound_mail_id: int | None = Field(default=None, foreign_key="inbound_mail.id", ondelete="SET NULL")
    outbound_key: str | None = Field(default=None, max_length=200)
    direction: Direction = Field(sa_type=enum_column(Direction, 8))
    message_id: str = Field(max_length=300)
    # The Message-ID of the first message of the thread this one belongs to.
    thread_id: str = Field(max_length=300, index=True)
    in_reply_to: str = Field(default="", max_length=300)
    from_address: str = Field(default="", max_length=254)
    from_name: str = Field(default="", max_length=200)
    to: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    cc: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    subject: str = Field(default="", max_length=998)
    sent_at: datetime = Field(sa_type=UTCDateTime)
    text: str = Field(default="", sa_type=sa.Text)
    html: str = Field(default="", sa_type=sa.Text)  # sanitised; remote images not loaded
    has_remote_images: bool = Field(default=False)
    # [{"index": n, "filename": ..., "content_type": ..., "size": ...}] of the raw message's parts.
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
