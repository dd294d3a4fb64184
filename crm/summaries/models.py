"""The summaries: tallies of the leads, of their stage moves and of the open follow-ups,
each kept beside a "member" table remembering under which key every lead, move and
follow-up is counted.

The consumer (:mod:`crm.summaries.sync`) brings a lead's members in line with the lead
as it is now, taking each out of the tally row it was counted under and adding it to
the row it belongs to: replaying an event, or receiving events out of order, changes
nothing, and a deleted lead leaves every figure.

Keys hold no NULL (a primary key cannot): no currency is ``""``, no sector is ``0``, and
the owner of a non-confidential lead's moves and follow-ups is ``0`` (visibility needs it
only for confidential leads, and leaving it out keeps those tallies small).

No foreign keys: a member outlives its lead until the deletion is consumed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime

MONEY = sa.Numeric(20, 2)
WEIGHTED = sa.Numeric(24, 2)  # a value times a percentage, summed


class SummaryLead(SQLModel, table=True):
    """A lead as the lead tally counts it."""

    __tablename__ = "summary_lead"

    lead_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    stage: str = Field(max_length=32)
    currency: str = Field(max_length=3)
    sector_id: int
    ma_organisation_id: int
    owner_id: int
    confidential: bool
    value: Decimal | None = Field(default=None, sa_type=sa.Numeric(16, 2))
    probability: int | None = Field(default=None, sa_type=sa.SmallInteger)


class LeadTally(SQLModel, table=True):
    """Leads per (stage, currency, sector, Moroccan organisation, owner, confidentiality):
    how many, how many with a value, their value, and what weighted values need: the
    values of leads with their own probability already weighted (value × percent), the
    values of the others summed, for the stage's default to weigh when read (an
    administrator may change it)."""

    __tablename__ = "summary_lead_tally"

    stage: str = Field(max_length=32, primary_key=True)
    currency: str = Field(max_length=3, primary_key=True)
    sector_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    ma_organisation_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    owner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    confidential: bool = Field(primary_key=True)
    leads: int = 0
    valued: int = 0
    value: Decimal = Field(default=Decimal(0), sa_type=MONEY)
    weighted_own: Decimal = Field(default=Decimal(0), sa_type=WEIGHTED)
    value_default: Decimal = Field(default=Decimal(0), sa_type=MONEY)


class SummaryMove(SQLModel, table=True):
    """A ``lead.stage_changed`` event as the move tally counts it."""

    __tablename__ = "summary_move"

    event_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    lead_id: int = Field(index=True)
    hour: datetime = Field(sa_type=UTCDateTime)
    advanced: bool
    confidential: bool
    owner_id: int


class MoveTally(SQLModel, table=True):
    """Stage moves per UTC hour: any zone's whole-hour week bounds are sums of hours."""

    __tablename__ = "summary_move_tally"

    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    advanced: bool = Field(primary_key=True)
    confidential: bool = Field(primary_key=True)
    owner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    moves: int = 0


class SummaryFollowUp(SQLModel, table=True):
    """An open follow-up as the due tally counts it (a closed one has no member)."""

    __tablename__ = "summary_followup"

    followup_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    lead_id: int = Field(index=True)
    hour: datetime = Field(sa_type=UTCDateTime)
    owner_id: int
    confidential: bool
    lead_owner_id: int


class DueTally(SQLModel, table=True):
    """Open follow-ups per due hour (UTC) and owner: the overdue ones are the hours before
    the current one, plus the current hour's read live."""

    __tablename__ = "summary_due_tally"

    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    owner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    confidential: bool = Field(primary_key=True)
    lead_owner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    followups: int = 0
