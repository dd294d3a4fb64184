"""Reads of pipeline economics: a lead's effective probability and weighted value, the
totals of a filtered list or of the board's columns (one aggregate query over the same
visible, filtered leads as the list, never a row loaded), and the reference rate.

Money is Decimal here and SQL numeric in the database; a weighted value is the value
times the probability over a hundred, rounded to the cent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.core.reference_cache import ProcessCache, watch
from crm.core.time import utcnow
from crm.leads.filters import LeadFilter, filter_conditions
from crm.leads.models import Currency, Lead, Stage
from crm.leads.queries import visible_to
from crm.pipeline.models import ReferenceRate, StageProbability
from crm.summaries.queries import over_lead_rows, summarisable

CENT = Decimal("0.01")
# Each stage's probability until an administrator sets another (percent).
BUILTIN_PROBABILITIES: dict[Stage, int] = {
    Stage.IDENTIFIED: 10,
    Stage.CONTACTED: 20,
    Stage.MEETING_HELD: 30,
    Stage.PROPOSAL: 50,
    Stage.NEGOTIATION: 70,
    Stage.AGREEMENT_SIGNED: 100,
    Stage.CLOSED_NO_GO: 0,
    Stage.ON_HOLD: 10,
}


def probability_field(stage: Stage) -> str:
    """The name of a stage's default probability in forms and field errors."""
    return f"probability_{stage.value}"


# The stages' defaults change a few times a year and are read on most requests: kept per
# process until they change anywhere (crm.core.reference_cache).
_DEFAULTS = ProcessCache(size=16)
watch(StageProbability)


def stage_probabilities(session: Session) -> dict[Stage, int]:
    """Every stage's default probability (one query, none while this process's copy is current)."""

    def load() -> dict[Stage, int]:
        found = dict(BUILTIN_PROBABILITIES)
        for stage, probability in session.exec(select(StageProbability.stage, StageProbability.probability)).all():
            found[Stage(stage)] = int(probability)
        return found

    bind = session.get_bind()
    database = str(bind.engine.url)  # a process may serve several databases (tests do)
    return dict(_DEFAULTS.get(database, load))


@dataclass(frozen=True)
class Probability:
    percent: int
    is_default: bool  # the stage's default, the lead having none of its own


def effective_probability(lead: Lead, defaults: dict[Stage, int]) -> Probability:
    if lead.probability is not None:
        return Probability(int(lead.probability), False)
    return Probability(defaults[Stage(lead.stage)], True)


def weigh(amount: Decimal | None, percent: int) -> Decimal | None:
    if amount is None:
        return None
    return (Decimal(amount) * percent / 100).quantize(CENT, ROUND_HALF_UP)


def weighted_value(lead: Lead, defaults: dict[Stage, int]) -> Decimal | None:
    return weigh(lead.estimated_value, effective_probability(lead, defaults).percent)


def probability_expression(defaults: dict[Stage, int]) -> Any:
    """SQL for a lead's effective probability: its own, else its stage's default."""
    by_stage = sa.case(*((col(Lead.stage) == stage, percent) for stage, percent in defaults.items()), else_=0)
    return func.coalesce(col(Lead.probability), by_stage)


# --- the reference rate ------------------------------------------------------------------


def current_rate(session: Session) -> ReferenceRate | None:
    """The rate in force (None when none was set, or it was withdrawn)."""
    newest = session.exec(select(ReferenceRate).order_by(col(ReferenceRate.id).desc()).limit(1)).first()
    return newest if newest is not None and newest.mad_per_usd is not None else None


@dataclass(frozen=True)
class Converted:
    """Both currencies added up in one, at the reference rate (an approximation)."""

    mad: Decimal
    usd: Decimal


def convert(amounts: dict[Currency, Decimal], rate: Decimal) -> Converted:
    mad = amounts.get(Currency.MAD, Decimal(0))
    usd = amounts.get(Currency.USD, Decimal(0))
    return Converted(
        mad=(mad + usd * rate).quantize(CENT, ROUND_HALF_UP),
        usd=(usd + mad / rate).quantize(CENT, ROUND_HALF_UP),
    )


# --- totals ------------------------------------------------------------------------------


@dataclass
class Totals:
    """How many leads, and their value and weighted value per currency (never mixed)."""

    count: int = 0
    value: dict[Currency, Decimal] = field(default_factory=dict)
    weighted: dict[Currency, Decimal] = field(default_factory=dict)

    def add(self, currency: Any, count: int, value: Any, weighted: Any) -> None:
        self.count += int(count)
        if currency is None or value is None:
            return
        money = Currency(currency)
        self.value[money] = self.value.get(money, Decimal(0)) + Decimal(str(value)).quantize(CENT)
        cents = (Decimal(str(weighted)) / 100).quantize(CENT, ROUND_HALF_UP)
        self.weighted[money] = self.weighted.get(money, Decimal(0)) + cents

    @property
    def currencies(self) -> list[Currency]:
        return [c for c in Currency if c in self.value]

    def converted_value(self, rate: ReferenceRate | None) -> Converted | None:
        if rate is None or rate.mad_per_usd is None or not self.value:
            return None
        return convert(self.value, Decimal(rate.mad_per_usd))

    def converted_weighted(self, rate: ReferenceRate | None) -> Converted | None:
        if rate is None or rate.mad_per_usd is None or not self.weighted:
            return None
        return convert(self.weighted, Decimal(rate.mad_per_usd))


@dataclass
class Figures:
    """Totals with the reference rate they may be converted at."""

    totals: Totals
    rate: ReferenceRate | None


@dataclass
class BoardFigures:
    columns: dict[Stage, Totals]
    rate: ReferenceRate | None

    def of(self, stage: Any) -> Totals:
        return self.columns.get(Stage(stage), Totals())


def _aggregate(defaults: dict[Stage, int], *group: Any) -> Any:
    amount = col(Lead.estimated_value)
    weighted = sa.type_coerce(amount * probability_expression(defaults), sa.Numeric(24, 4))
    return select(  # type: ignore[call-overload]
        *group, col(Lead.currency), func.count(), func.sum(amount), func.sum(weighted)
    ).group_by(*group, col(Lead.currency))


def _conditions(user: User, lead_filter: LeadFilter | None, now: datetime | None) -> list[Any]:
    found = [visible_to(user)]
    if lead_filter is not None:
        found += filter_conditions(lead_filter, now=now or utcnow(), zone_name=user.timezone)
    return found


def lead_totals(
    session: Session, user: User, *, lead_filter: LeadFilter | None = None, now: datetime | None = None
) -> Figures:
    """The totals of the lead list as ``user`` sees it with ``lead_filter`` (three queries)."""
    defaults = stage_probabilities(session)
    totals = Totals()
    query = _aggregate(defaults).where(*_conditions(user, lead_filter, now))
    for currency, count, value, weighted in session.exec(query).all():
        totals.add(currency, count, value, weighted)
    return Figures(totals, current_rate(session))


def board_totals(
    session: Session, user: User, *, lead_filter: LeadFilter | None = None, now: datetime | None = None
) -> BoardFigures:
    """The totals of each board column, the whole column (not only the cards shown): from
    the lead tally when the filter narrows only by what it keeps (:mod:`crm.summaries`),
    the stage defaults weighing the values of leads without a probability of their own."""
    defaults = stage_probabilities(session)
    columns: dict[Stage, Totals] = {}
    if summarisable(lead_filter):
        statement, parameters = over_lead_rows(_tally_totals, user, lead_filter)
        for stage, currency, count, valued, value, own, by_default in session.execute(statement, parameters):
            weighted = Decimal(str(own)) + Decimal(str(by_default)) * defaults[Stage(stage)]
            columns.setdefault(Stage(stage), Totals()).add(currency or None, count, value if valued else None, weighted)
        return BoardFigures(columns, current_rate(session))
    query = _aggregate(defaults, col(Lead.stage)).where(*_conditions(user, lead_filter, now))
    for stage, currency, count, value, weighted in session.exec(query).all():
        columns.setdefault(Stage(stage), Totals()).add(currency, count, value, weighted)
    return BoardFigures(columns, current_rate(session))


def _tally_totals(rows: Any) -> Any:
    """Each stage's and currency's sums over the tally rows ``rows`` (:func:`lead_rows`)."""
    return (
        select(  # type: ignore[call-overload]
            rows.c.stage,
            rows.c.currency,
            func.sum(rows.c.leads),
            func.sum(rows.c.valued),
            func.sum(rows.c.value),
            func.sum(rows.c.weighted_own),
            func.sum(rows.c.value_default),
        )
        .group_by(rows.c.stage, rows.c.currency)
        .having(func.sum(rows.c.leads) > 0)
    )
