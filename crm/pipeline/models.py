"""The settings of pipeline economics: the probability a stage gives its leads when they
have none of their own, and the reference rate between the dirham and the dollar."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow
from crm.leads.models import Stage


class StageProbability(Audited, SQLModel, table=True):
    """An administrator's default probability for the leads of one stage (without a row,
    the stage's built-in default applies)."""

    __tablename__ = "stage_probability"
    __table_args__ = (sa.CheckConstraint("probability >= 0 AND probability <= 100", name="probability_range"),)

    id: int | None = Field(default=None, primary_key=True)
    stage: Stage = Field(sa_type=enum_column(Stage), unique=True)
    probability: int = Field(sa_type=sa.SmallInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReferenceRate(Audited, SQLModel, table=True):
    """How many dirhams one dollar is taken to be worth, as set by an administrator; the
    newest row is the rate in force (a row without a rate withdraws it)."""

    __tablename__ = "reference_rate"
    __table_args__ = (sa.CheckConstraint("mad_per_usd IS NULL OR mad_per_usd > 0", name="rate_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    mad_per_usd: Decimal | None = Field(default=None, sa_type=sa.Numeric(12, 4))
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    set_by_id: int | None = Field(default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL")
