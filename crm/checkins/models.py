"""Outcome check-ins: what was asked of whom, the answers, and who asked to be left alone.

A check-in is one email to one contact who attended a meeting, ``days`` after it, about
the leads born in that meeting.  Its row is written in the same transaction as the mail
ledger row, unique per (meeting, days, contact): two dispatchers, or one run twice, ask
once.  An answer is unique per (meeting, days, contact, lead) — the scope of one signed
link — so a second click finds it and changes nothing.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow


class Outcome(enum.StrEnum):
    """Where a lead stands, as a contact outside Jisr says it."""

    NO_FURTHER_CONTACT = "no_further_contact"
    TALKING = "talking"
    NEGOTIATING = "negotiating"
    AGREEMENT_SIGNED = "agreement_signed"  # an agreement or a pilot
    NOT_RELEVANT = "not_relevant"


class Checkin(SQLModel, table=True):
    """One check-in mail that was queued (machinery, like a reminder rung: no event)."""

    __tablename__ = "checkin"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "days", "contact_id", name="uq_checkin_meeting_days_contact"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", ondelete="CASCADE")
    days: int
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE", index=True)
    # The leads the mail asked about (those born in the meeting, confidential ones left out).
    lead_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    mail_key: str = Field(max_length=200)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CheckinAnswer(Audited, SQLModel, table=True):
    __tablename__ = "checkin_answer"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "days", "contact_id", "lead_id", name="uq_checkin_answer_link"),
        sa.Index("ix_checkin_answer_meeting", "meeting_id", "days"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", ondelete="CASCADE")
    days: int
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE", index=True)
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE", index=True)
    outcome: Outcome = Field(sa_type=enum_column(Outcome, 24))
    comment: str = Field(default="", sa_type=sa.Text)
    # The lead's stage when the answer came, and whether the answer contradicts it.
    stage: str = Field(max_length=32)
    contradicts: bool = Field(default=False)
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CheckinOptOut(Audited, SQLModel, table=True):
    """A contact who asked for no more check-in mail (RFC 8058 one click, or its page)."""

    __tablename__ = "checkin_opt_out"

    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    via: str = Field(max_length=16)
    opted_out_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
