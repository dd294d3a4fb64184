"""Reads for the follow-up pages: open follow-ups grouped on the viewer's own calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.core.counting import Count
from crm.core.keyset import Key, Listing, listed, window
from crm.core.time import local_day_bounds, to_local, utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.filters import week_bounds
from crm.leads.models import Lead
from crm.leads.queries import visible_to
from crm.organisations.models import Organisation
from crm.summaries.queries import overdue_rows


@dataclass
class AgendaItem:
    followup: FollowUp
    lead: Lead
    ma_organisation: Organisation
    us_organisation: Organisation
    owner: User


GROUPS = ("overdue", "today", "week", "later")
# Each group of the agenda shows its first rows; the rest are a click away, a page at a time.
PER_GROUP = 50


@dataclass
class Agenda:
    """Open follow-ups: overdue, due later today, later this week (Monday to Sunday) and
    later; each group's first ``PER_GROUP`` and how many it has (from the due tally)."""

    overdue: list[AgendaItem] = field(default_factory=list)
    today: list[AgendaItem] = field(default_factory=list)
    this_week: list[AgendaItem] = field(default_factory=list)
    later: list[AgendaItem] = field(default_factory=list)
    counts: dict[str, Count] = field(default_factory=dict)

    def groups(self) -> list[tuple[str, list[AgendaItem]]]:
        return [("overdue", self.overdue), ("today", self.today), ("week", self.this_week), ("later", self.later)]

    def count(self, group: str) -> Count:
        return self.counts.get(group) or Count(len(dict(self.groups())[group]))

    def shows_all(self, group: str) -> bool:
        return self.count(group).exact and self.count(group).value == len(dict(self.groups())[group])

    @property
    def total(self) -> int:
        return sum(self.count(group).value for group in GROUPS)


def _open_and_visible(viewer: User, owner: User | None) -> list[Any]:
    """Open follow-ups on leads the viewer may see (of ``owner`` only, unless ``None``);
    the statement must join ``Lead``."""
    found = [col(FollowUp.status) == FollowUpStatus.OPEN, visible_to(viewer)]
    return found if owner is None else [*found, col(FollowUp.owner_id) == owner.id]


def _rows(viewer: User, owner: User | None) -> Any:
    """Open follow-ups on leads the viewer may see, with what a row shows."""
    ma = aliased(Organisation)
    us = aliased(Organisation)
    return (
        select(FollowUp, Lead, ma, us, User)  # type: ignore[call-overload]
        .join(Lead, col(Lead.id) == col(FollowUp.lead_id))
        .join(ma, ma.id == Lead.ma_organisation_id)
        .join(us, us.id == Lead.us_organisation_id)
        .join(User, col(User.id) == col(FollowUp.owner_id))
        .where(*_open_and_visible(viewer, owner))
    )


# Stands for "no end" when a group's follow-ups are counted as those due before its end.
_NO_END = datetime(3000, 1, 1, tzinfo=UTC)


def group_edges(viewer: User, group: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The instants that make ``group`` on the viewer's calendar: due from the first
    (``None``: any time before) until before the second (``None``: any time after)."""
    zone_name = viewer.timezone
    _, end_of_today = local_day_bounds(to_local(now, zone_name).date(), zone_name)
    _, end_of_week = week_bounds(now, zone_name)
    return {
        "overdue": (None, now),
        "today": (now, end_of_today),
        "week": (max(now, end_of_today), end_of_week),
        "later": (max(now, end_of_today, end_of_week), None),
    }[group]


def group_bounds(viewer: User, group: str, now: datetime) -> list[Any]:
    """The condition on the due date that makes ``group``, on the viewer's calendar."""
    start, end = group_edges(viewer, group, now)
    due = col(FollowUp.due_at)
    return [*([due >= start] if start is not None else []), *([due < end] if end is not None else [])]


def group_count(session: Session, viewer: User, owner: User | None, group: str, now: datetime) -> Count:
    """How many follow-ups ``group`` has, exactly, from the due tally (:mod:`crm.summaries`):
    those due before its end less those due before its start, each a sum over the whole
    hours plus the hour its instant cuts, read live.  Counting the follow-ups themselves read
    up to the bound's rows, through the leads for their visibility."""
    start, end = group_edges(viewer, group, now)

    def due_before(cutoff: datetime) -> int:
        rows = overdue_rows(viewer, cutoff, owner_id=owner.id if owner is not None else None)
        return int(session.execute(select(func.coalesce(func.sum(rows.c.followups), 0))).scalar_one())

    return Count(due_before(end or _NO_END) - (due_before(start) if start is not None else 0))


def open_followups(session: Session, viewer: User, *, owner: User | None, limit: int = 500) -> list[AgendaItem]:
    """Open follow-ups on leads the viewer may see (of ``owner`` only, unless ``None``), by due date."""
    query = _rows(viewer, owner).order_by(col(FollowUp.due_at), col(FollowUp.id)).limit(limit)
    return [AgendaItem(*row) for row in session.exec(query).all()]


def agenda(
    session: Session,
    viewer: User,
    *,
    all_owners: bool = False,
    now: datetime | None = None,
    per_group: int | None = None,
) -> Agenda:
    """The viewer's follow-ups (or everyone's) grouped by the viewer's local day and week:
    one query per group, each reading at most ``per_group`` + 1 rows through the due-date
    index, and the count of the groups that have more from the due tally."""
    now = now or utcnow()
    per_group = per_group or PER_GROUP
    owner = None if all_owners else viewer
    grouped = Agenda()
    for (group, items), name in zip(grouped.groups(), GROUPS, strict=True):
        where = group_bounds(viewer, name, now)
        query = _rows(viewer, owner).where(*where).order_by(col(FollowUp.due_at), col(FollowUp.id))
        found = [AgendaItem(*row) for row in session.exec(query.limit(per_group + 1)).all()]
        items.extend(found[:per_group])
        if len(found) > per_group:
            grouped.counts[group] = group_count(session, viewer, owner, name, now)
        else:
            grouped.counts[group] = Count(len(found))
    return grouped


def group_page(
    session: Session,
    viewer: User,
    group: str,
    *,
    all_owners: bool = False,
    cursor: str | None = None,
    per_page: int | None = None,
    now: datetime | None = None,
) -> Listing[AgendaItem]:
    """One group of the agenda, a page at a time by keyset on (due, id)."""
    now = now or utcnow()
    per_page = per_page or PER_GROUP
    owner = None if all_owners else viewer
    where = group_bounds(viewer, group, now)
    key = Key(col(FollowUp.due_at), col(FollowUp.id), descending=False)

    def fetch(condition: Any, order: list[Any], n: int) -> list[Any]:
        query = _rows(viewer, owner).where(*where)
        if condition is not None:
            query = query.where(condition)
        return list(session.exec(query.order_by(*order).limit(n)).all())

    found = window(fetch, key, group, cursor=cursor, limit=per_page, position_of=lambda row: (row[0].due_at, row[0].id))
    return listed(found, group_count(session, viewer, owner, group, now), [AgendaItem(*row) for row in found.rows])
