"""Dashboard figures: each a single query over the summaries (:mod:`crm.summaries`) within
what ``user`` may see, so the page runs the same queries, of the same cost, whatever the
number of leads.  A transaction that changes leads syncs the summaries before it
commits (the ``summaries`` event consumer is the guarantee behind it), so the figures
count every committed change."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.core.time import to_local, to_utc, utcnow
from crm.leads.models import Currency, Stage
from crm.organisations.models import Organisation
from crm.reference.models import Sector
from crm.summaries.queries import lead_rows, move_rows, overdue_rows

WEEKS = 12


@dataclass
class StageFigures:
    stage: Stage
    count: int = 0
    value_mad: Decimal = Decimal(0)
    value_usd: Decimal = Decimal(0)


def pipeline_by_stage(session: Session, user: User) -> list[StageFigures]:
    """Count and estimated value (MAD and USD apart, never converted) per stage."""
    figures = {stage: StageFigures(stage) for stage in Stage}
    rows = lead_rows(user)
    found = session.execute(
        select(rows.c.stage, rows.c.currency, func.sum(rows.c.leads), func.sum(rows.c.value)).group_by(
            rows.c.stage, rows.c.currency
        )
    ).all()
    for stage, currency, count, total in found:
        entry = figures[Stage(stage)]
        entry.count += int(count)
        if currency == Currency.MAD:
            entry.value_mad += Decimal(str(total or 0))
        elif currency == Currency.USD:
            entry.value_usd += Decimal(str(total or 0))
    return list(figures.values())


def leads_by_sector(session: Session, user: User) -> list[tuple[Sector | None, int]]:
    rows = lead_rows(user)
    count = func.sum(rows.c.leads)
    found = session.exec(
        select(Sector, count)  # type: ignore[call-overload]
        .select_from(rows)
        .outerjoin(Sector, col(Sector.id) == rows.c.sector_id)
        .group_by(*Sector.__table__.columns)  # type: ignore[attr-defined]
        .having(count > 0)
        .order_by(count.desc(), col(Sector.position))
    ).all()
    return [(sector, int(n)) for sector, n in found]


def leads_by_institution(session: Session, user: User) -> list[tuple[Organisation, int]]:
    """Leads per Moroccan organisation (the institution side of a lead)."""
    rows = lead_rows(user)
    counts = (
        select(rows.c.ma_organisation_id, func.sum(rows.c.leads).label("n"))
        .group_by(rows.c.ma_organisation_id)
        .subquery()
    )
    found = session.exec(
        select(Organisation, counts.c.n)
        .join(counts, counts.c.ma_organisation_id == col(Organisation.id))
        .where(counts.c.n > 0)
        .order_by(counts.c.n.desc(), col(Organisation.id))
    ).all()
    return [(org, int(n)) for org, n in found]


def overdue_by_owner(session: Session, user: User, now: datetime | None = None) -> list[tuple[User, int]]:
    rows = overdue_rows(user, now or utcnow())
    counts = select(rows.c.owner_id, func.sum(rows.c.followups).label("n")).group_by(rows.c.owner_id).subquery()
    found = session.exec(
        select(User, counts.c.n)
        .join(counts, counts.c.owner_id == col(User.id))
        .where(counts.c.n > 0)
        .order_by(counts.c.n.desc(), col(User.id))
    ).all()
    return [(owner, int(n)) for owner, n in found]


@dataclass
class WeekFigures:
    week_start: date
    advanced: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.advanced + self.other


@dataclass
class Movements:
    weeks: list[WeekFigures] = field(default_factory=list)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def stage_movements(session: Session, user: User, zone_name: str, now: datetime | None = None) -> Movements:
    """``lead.stage_changed`` events per week (Monday to Sunday in the viewer's zone) over
    the last 12 weeks, split into moves forward along the pipeline and the others.

    The weeks' bounds are turned into UTC instants here and the move tally's hours
    between them are summed (see :func:`crm.summaries.queries.move_rows`)."""
    now = now or utcnow()
    this_week = week_start(to_local(now, zone_name).date())
    first = this_week - timedelta(weeks=WEEKS - 1)
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    bounds = [to_utc(datetime(d.year, d.month, d.day), zone_name) for d in [*weeks, this_week + timedelta(weeks=1)]]
    moves = move_rows(user, bounds)
    rows = session.execute(
        select(moves.c.week, moves.c.advanced, func.sum(moves.c.moves)).group_by(moves.c.week, moves.c.advanced)
    ).all()
    advanced: Counter[int] = Counter()
    other: Counter[int] = Counter()
    for index, moved_forward, count in rows:
        (advanced if moved_forward else other)[index] += int(count)
    return Movements([WeekFigures(w, advanced[i], other[i]) for i, w in enumerate(weeks)])


def dashboard(session: Session, user: User, zone_name: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "stages": pipeline_by_stage(session, user),
        "sectors": leads_by_sector(session, user),
        "institutions": leads_by_institution(session, user),
        "overdue": overdue_by_owner(session, user, now),
        "movements": stage_movements(session, user, zone_name, now),
    }
