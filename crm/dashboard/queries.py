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

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.core.time import to_local, to_utc, utcnow
from crm.leads.choices import Named, filter_choices, named
from crm.leads.models import Currency, Stage
from crm.organisations.models import Organisation
from crm.summaries.queries import moves_statement, over_lead_rows, overdue_statement

WEEKS = 12


@dataclass
class StageFigures:
    stage: Stage
    count: int = 0
    value_mad: Decimal = Decimal(0)
    value_usd: Decimal = Decimal(0)


def _lead_figures(session: Session, user: User) -> list[Any]:
    """``(part, stage, currency, ident, leads, value)`` rows: by stage and currency (part
    0), by sector (1, ``ident`` the sector's id, 0 for none) and by Moroccan organisation
    (2), in one statement over one reading of the lead tally as ``user`` sees it."""
    statement, parameters = over_lead_rows(_figures_statement, user)
    return list(session.execute(statement, parameters).all())


def _figures_statement(rows: Any) -> Any:
    """The three groupings of :func:`_lead_figures` over the tally rows ``rows``."""
    tally: Any = sa.select(rows).cte("seen")
    text, amount = sa.literal("", sa.String), sa.literal(0, sa.Numeric(20, 2))
    leads = func.sum(tally.c.leads)
    parts = [
        sa.select(
            sa.literal(0), tally.c.stage, tally.c.currency, sa.literal(0), leads, func.sum(tally.c.value)
        ).group_by(tally.c.stage, tally.c.currency),
        sa.select(sa.literal(1), text, text, tally.c.sector_id, leads, amount).group_by(tally.c.sector_id),
        sa.select(sa.literal(2), text, text, tally.c.ma_organisation_id, leads, amount).group_by(
            tally.c.ma_organisation_id
        ),
    ]
    return sa.union_all(*parts)


def pipeline_by_stage(rows: list[Any]) -> list[StageFigures]:
    """Count and estimated value (MAD and USD apart, never converted) per stage."""
    figures = {stage: StageFigures(stage) for stage in Stage}
    for _part, stage, currency, _ident, count, total in (row for row in rows if row[0] == 0):
        entry = figures[Stage(stage)]
        entry.count += int(count)
        if currency == Currency.MAD:
            entry.value_mad += Decimal(str(total or 0))
        elif currency == Currency.USD:
            entry.value_usd += Decimal(str(total or 0))
    return list(figures.values())


def leads_by_sector(rows: list[Any], sectors: list[Named]) -> list[tuple[Named | None, int]]:
    """Leads per sector, the most first (then in the sectors' order; no sector last)."""
    place = {sector.id: (n, sector) for n, sector in enumerate(sectors)}
    found = [
        (place.get(int(ident), (len(place), None)), int(count)) for part, *_, ident, count, _v in rows if part == 1
    ]
    found = [(where, count) for where, count in found if count > 0]
    found.sort(key=lambda item: (-item[1], item[0][0]))
    return [(where[1], count) for where, count in found]


def leads_by_institution(session: Session, rows: list[Any], kept: list[Named]) -> list[tuple[Named, int]]:
    """Leads per Moroccan organisation (the institution side of a lead), the most first."""
    counts = {int(row[3]): int(row[4]) for row in rows if row[0] == 2 and row[4] > 0}
    known = {org.id: org for org in kept}
    missing = [ident for ident in counts if ident not in known]
    if missing:  # an organisation not among the filter's (it moved country)
        others = session.exec(select(Organisation).where(col(Organisation.id).in_(missing))).all()
        known.update({int(org.id or 0): named(org) for org in others})
    found = [(known[ident], count) for ident, count in counts.items() if ident in known]
    return sorted(found, key=lambda item: (-item[1], item[0].id))


def overdue_by_owner(session: Session, user: User, now: datetime | None = None) -> list[tuple[User, int]]:
    statement, parameters = overdue_statement(_overdue_owners, user, now or utcnow())
    return [(owner, int(n)) for owner, n in session.exec(statement, params=parameters).all()]


def _overdue_owners(rows: Any) -> Any:
    """The owners with overdue follow-ups among ``rows`` (:func:`overdue_rows`), the most first."""
    counts = select(rows.c.owner_id, func.sum(rows.c.followups).label("n")).group_by(rows.c.owner_id).subquery()
    return (
        select(User, counts.c.n)
        .join(counts, counts.c.owner_id == col(User.id))
        .where(counts.c.n > 0)
        .order_by(counts.c.n.desc(), col(User.id))
    )


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
    statement, parameters = moves_statement(_weekly_moves, user, bounds)
    rows = session.execute(statement, parameters).all()
    advanced: Counter[int] = Counter()
    other: Counter[int] = Counter()
    for index, moved_forward, count in rows:
        (advanced if moved_forward else other)[index] += int(count)
    return Movements([WeekFigures(w, advanced[i], other[i]) for i, w in enumerate(weeks)])


def _weekly_moves(moves: Any) -> Any:
    """Moves per week and direction among ``moves`` (:func:`move_rows`)."""
    return select(moves.c.week, moves.c.advanced, func.sum(moves.c.moves)).group_by(moves.c.week, moves.c.advanced)


def dashboard(session: Session, user: User, zone_name: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    rows = _lead_figures(session, user)
    kept = filter_choices(session)
    return {
        "stages": pipeline_by_stage(rows),
        "sectors": leads_by_sector(rows, kept.sectors),
        "institutions": leads_by_institution(session, rows, kept.ma_organisations),
        "overdue": overdue_by_owner(session, user, now),
        "movements": stage_movements(session, user, zone_name, now),
    }
