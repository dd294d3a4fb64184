"""Dashboard figures: each a single set-based query over the leads ``user`` may see, so the
page runs the same number of queries whatever the data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.core.events import Event
from crm.core.time import to_local, to_utc, utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Currency, Lead, Stage
from crm.leads.queries import visible_to
from crm.organisations.models import Organisation
from crm.reference.models import Sector

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
    rows = session.exec(
        select(Lead.stage, Lead.currency, func.count(), func.sum(Lead.estimated_value))  # type: ignore[call-overload]
        .where(visible_to(user))
        .group_by(col(Lead.stage), col(Lead.currency))
    ).all()
    for stage, currency, count, total in rows:
        entry = figures[Stage(stage)]
        entry.count += int(count)
        if currency == Currency.MAD:
            entry.value_mad += Decimal(total or 0)
        elif currency == Currency.USD:
            entry.value_usd += Decimal(total or 0)
    return list(figures.values())


def leads_by_sector(session: Session, user: User) -> list[tuple[Sector | None, int]]:
    rows = session.exec(
        select(Sector, func.count(col(Lead.id)))
        .select_from(Lead)
        .outerjoin(Sector, col(Sector.id) == col(Lead.sector_id))
        .where(visible_to(user))
        .group_by(*Sector.__table__.columns)  # type: ignore[attr-defined]
        .order_by(func.count(col(Lead.id)).desc(), col(Sector.position))
    ).all()
    return [(sector, int(count)) for sector, count in rows]


def leads_by_institution(session: Session, user: User) -> list[tuple[Organisation, int]]:
    """Leads per Moroccan organisation (the institution side of a lead)."""
    counts = (
        select(Lead.ma_organisation_id, func.count().label("n"))
        .where(visible_to(user))
        .group_by(col(Lead.ma_organisation_id))
        .subquery()
    )
    rows = session.exec(
        select(Organisation, counts.c.n)
        .join(counts, counts.c.ma_organisation_id == col(Organisation.id))
        .order_by(counts.c.n.desc(), col(Organisation.id))
    ).all()
    return [(org, int(n)) for org, n in rows]


def overdue_by_owner(session: Session, user: User, now: datetime | None = None) -> list[tuple[User, int]]:
    now = now or utcnow()
    counts = (
        select(FollowUp.owner_id, func.count().label("n"))
        .join(Lead, col(Lead.id) == col(FollowUp.lead_id))
        .where(FollowUp.status == FollowUpStatus.OPEN, col(FollowUp.due_at) < now, visible_to(user))
        .group_by(col(FollowUp.owner_id))
        .subquery()
    )
    rows = session.exec(
        select(User, counts.c.n)
        .join(counts, counts.c.owner_id == col(User.id))
        .order_by(counts.c.n.desc(), col(User.id))
    ).all()
    return [(owner, int(n)) for owner, n in rows]


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

    The weeks' bounds are turned into UTC instants here and the database counts the events
    between them: a few rows, where reading every event of the twelve weeks was some
    20,000 at 100,000 leads."""
    now = now or utcnow()
    this_week = week_start(to_local(now, zone_name).date())
    first = this_week - timedelta(weeks=WEEKS - 1)
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    bounds = [to_utc(datetime(d.year, d.month, d.day), zone_name) for d in [*weeks, this_week + timedelta(weeks=1)]]
    occurred = col(Event.occurred_at)
    week = sa.case(*((occurred < bounds[i + 1], i) for i in range(WEEKS)))
    moves = (
        select(week.label("week"), Event.payload["advanced"].as_boolean().label("advanced"))  # type: ignore[index]
        .join(Lead, col(Lead.id) == col(Event.lead_id))
        .where(Event.type == "lead.stage_changed", occurred >= bounds[0], occurred < bounds[-1], visible_to(user))
        .subquery()
    )
    rows = session.execute(
        select(moves.c.week, moves.c.advanced, func.count()).group_by(moves.c.week, moves.c.advanced)
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
