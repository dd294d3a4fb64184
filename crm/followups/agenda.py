"""Reads for the follow-up pages: open follow-ups grouped on the viewer's own calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.counting import Count, bounded_count
from crm.core.keyset import Key, Listing, listed, window
from crm.core.time import local_day_bounds, to_local, utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.filters import week_bounds
from crm.leads.models import Lead
from crm.leads.queries import visible_to
from crm.organisations.models import Organisation


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
    later; each group's first ``PER_GROUP`` and how many it has (:mod:`crm.core.counting`)."""

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


def _ids(viewer: User, owner: User | None) -> Any:
    """The ids of the same follow-ups, for counting them."""
    return (
        select(col(FollowUp.id))
        .join(Lead, col(Lead.id) == col(FollowUp.lead_id))
        .where(*_open_and_visible(viewer, owner))
    )


def group_bounds(viewer: User, group: str, now: datetime) -> list[Any]:
    """The condition on the due date that makes ``group``, on the viewer's calendar."""
    zone_name = viewer.timezone
    _, end_of_today = local_day_bounds(to_local(now, zone_name).date(), zone_name)
    _, end_of_week = week_bounds(now, zone_name)
    due = col(FollowUp.due_at)
    return {
        "overdue": [due < now],
        "today": [due >= now, due < end_of_today],
        "week": [due >= max(now, end_of_today), due < end_of_week],
        "later": [due >= max(now, end_of_today, end_of_week)],
    }[group]


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
    index, and a bounded count of the groups that have more."""
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
            grouped.counts[group] = bounded_count(session, _ids(viewer, owner).where(*where))
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
    count = bounded_count(session, _ids(viewer, owner).where(*where))
    return listed(found, count, [AgendaItem(*row) for row in found.rows])
