"""Leads, their watchers and the activities logged on them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow


class Stage(enum.StrEnum):
    IDENTIFIED = "identified"
    CONTACTED = "contacted"
    MEETING_HELD = "meeting_held"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    AGREEMENT_SIGNED = "agreement_signed"
    CLOSED_NO_GO = "closed_no_go"
    ON_HOLD = "on_hold"

    @property
    def is_closed(self) -> bool:
        return self in (Stage.AGREEMENT_SIGNED, Stage.CLOSED_NO_GO)

    @property
    def rank(self) -> int:
        """Position along the pipeline; on hold sits outside it (-1)."""
        return PIPELINE.index(self) if self in PIPELINE else -1


PIPELINE = (
    Stage.IDENTIFIED,
    Stage.CONTACTED,
    Stage.MEETING_HELD,
    Stage.PROPOSAL,
    Stage.NEGOTIATION,
    Stage.AGREEMENT_SIGNED,
)
# The lists' order of stages: the pipeline, then on hold, then closed-no-go.
STAGE_ORDER = (*PIPELINE, Stage.ON_HOLD, Stage.CLOSED_NO_GO)


def stage_rank_sql(column: str = "stage") -> str:
    """SQL for a stage's place in :data:`STAGE_ORDER` (what ``lead.stage_rank`` stores)."""
    whens = " ".join(f"WHEN '{stage.value}' THEN {rank}" for rank, stage in enumerate(STAGE_ORDER))
    return f"CASE {column} {whens} ELSE {len(STAGE_ORDER)} END"


class PartnershipType(enum.StrEnum):
    TECHNOLOGY_PARTNERSHIP = "technology_partnership"
    INVESTMENT = "investment"
    TRAINING_AND_SKILLS = "training_and_skills"
    TECHNOLOGY_TRANSFER = "technology_transfer"
    B2B_SALE = "b2b_sale"
    EXCHANGE_PROGRAMME = "exchange_programme"
    CAPACITY_BUILDING = "capacity_building"
    PILOT = "pilot"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Currency(enum.StrEnum):
    MAD = "MAD"
    USD = "USD"


class ActivityKind(enum.StrEnum):
    NOTE = "note"
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"


class LeadWatcher(Audited, SQLModel, table=True):
    __tablename__ = "lead_watcher"

    lead_id: int = Field(foreign_key="lead.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE", index=True)


class Lead(Audited, SQLModel, table=True):
    __tablename__ = "lead"
    # ``stage_rank`` comes back with the INSERT or UPDATE that changes it (RETURNING), not
    # through one more query when read afterwards.
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        sa.Index("ix_lead_stage_updated", "stage", "updated_at"),
        # The lists' orders, ties broken by id (keyset pages: crm/core/keyset.py).
        sa.Index("ix_lead_updated_id", "updated_at", "id"),
        sa.Index("ix_lead_created_id", "created_at", "id"),
        sa.Index("ix_lead_title_sort", sa.text("lower(title)"), "id"),
        sa.Index("ix_lead_value_id", "estimated_value", "id"),
        sa.Index("ix_lead_stage_rank_id", "stage_rank", "id"),
        sa.Index("ix_lead_next_due_id", "next_due_at", "id"),
        # The owner order walks each owner's leads by id (crm/leads/queries.py).
        sa.Index("ix_lead_owner_id_id", "owner_id", "id"),
        sa.CheckConstraint("estimated_value IS NULL OR estimated_value >= 0", name="value_positive"),
        sa.CheckConstraint("estimated_value IS NULL OR currency IS NOT NULL", name="value_has_currency"),
        sa.CheckConstraint(
            "probability IS NULL OR (probability >= 0 AND probability <= 100)", name="probability_range"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_type=sa.Text)
    ma_organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    us_organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    mission_id: int | None = Field(default=None, foreign_key="mission.id", index=True, ondelete="SET NULL")
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True, ondelete="SET NULL")
    sector_id: int | None = Field(default=None, foreign_key="sector.id", index=True, ondelete="SET NULL")
    partnership_type: PartnershipType = Field(sa_type=enum_column(PartnershipType))
    stage: Stage = Field(default=Stage.IDENTIFIED, sa_type=enum_column(Stage))
    owner_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT")
    priority: Priority = Field(default=Priority.NORMAL, sa_type=enum_column(Priority, 8))
    estimated_value: Decimal | None = Field(default=None, sa_type=sa.Numeric(16, 2))
    currency: Currency | None = Field(default=None, sa_type=enum_column(Currency, 3))
    # The chance of winning it, in percent; None: its stage's default (crm.pipeline).
    probability: int | None = Field(default=None, sa_type=sa.SmallInteger)
    expected_close_on: date | None = Field(default=None)
    confidential: bool = Field(default=False)
    search_text: str = Field(default="", sa_type=sa.Text)
    stage_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Kept by the database, never written here: the stage's place in the lists' order, and
    # the earliest due instant of the lead's open follow-ups (triggers on ``followup`` keep
    # it in the transaction that changes them: migration 20261206_c2d7e4a9f1b3).  Both are
    # sort keys that an index can walk, where a CASE or an aggregate sorted every lead.
    stage_rank: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.SmallInteger, sa.Computed(stage_rank_sql(), persisted=True), nullable=True),
    )
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Activity(Audited, SQLModel, table=True):
    __tablename__ = "activity"
    __table_args__ = (
        sa.Index("ix_activity_lead_occurred", "lead_id", "occurred_at"),
        sa.Index("ix_activity_occurred_id", "occurred_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE")
    kind: ActivityKind = Field(sa_type=enum_column(ActivityKind, 16))
    body: str = Field(sa_type=sa.Text)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    author_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SavedFilter(Audited, SQLModel, table=True):
    """A named lead-list query string kept for one user (e.g. "My overdue cloud leads")."""

    __tablename__ = "saved_filter"
    __table_args__ = (sa.UniqueConstraint("user_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    query: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
