"""Reads for the follow-up pages: open follow-ups grouped on the viewer's own calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm.accounts.models import User
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


@dataclass
class Agenda:
    """Open follow-ups: overdue, due later today, later this week (Monday to Sunday) and later."""

    overdue: list[AgendaItem] = field(default_factory=list)
    today: list[AgendaItem] = field(default_factory=list)
    this_week: list[AgendaItem] = field(default_factory=list)
    later: list[AgendaItem] = field(default_factory=list)

    def groups(self) -> list[tuple[str, list[AgendaItem]]]:
        return [("overdue", self.overdue), ("today", self.today), ("week", self.this_week), ("later", self.later)]

    @property
    def total(self) -> int:
        return sum(len(items) for _, items in self.groups())


def open_followups(session: Session, viewer: User, *, owner: User | None, limit: int = 500) -> list[AgendaItem]:
    """Open follow-ups on leads the viewer may see (of ``owner`` only, unless ``None``), by due date."""
    ma = aliased(Organisation)
    us = aliased(Organisation)
    query = (
        select(FollowUp, Lead, ma, us, User)  # type: ignore[call-overload]
        .join(Lead, col(Lead.id) == col(FollowUp.lead_id))
        .join(ma, ma.id == Lead.ma_organisation_id)
        .join(us, us.id == Lead.us_organisation_id)
        .join(User, col(User.id) == col(FollowUp.owner_id))
        .where(col(FollowUp.status) == FollowUpStatus.OPEN, visible_to(viewer))
        .order_by(col(FollowUp.due_at), col(FollowUp.id))
        .limit(limit)
    )
    if owner is not None:
        query = query.where(col(FollowUp.owner_id) == owner.id)
    return [AgendaItem(*row) for row in session.exec(query).all()]


def agenda(session: Session, viewer: User, *, all_owners: bool = False, now: datetime | None = None) -> Agenda:
    """The viewer's follow-ups (or everyone's) grouped by the viewer's local day and week."""
    now = now or utcnow()
    zone_name = viewer.timezone
    _, end_of_today = local_day_bounds(to_local(now, zone_name).date(), zone_name)
    _, end_of_week = week_bounds(now, zone_name)
    grouped = Agenda()
    for item in open_followups(session, viewer, owner=None if all_owners else viewer):
        due = item.followup.due_at
        if due < now:
            grouped.overdue.append(item)
        elif due < end_of_today:
            grouped.today.append(item)
        elif due < end_of_week:
            grouped.this_week.append(item)
        else:
            grouped.later.append(item)
    return grouped
