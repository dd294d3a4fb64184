"""Reads for Today: the viewer's follow-ups on their own calendar (``crm.followups.agenda``),
recent changes on the leads they own or watch, and the count shown in the navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from crm.accounts.models import User
from crm.core.events import Event
from crm.core.time import local_day_bounds, to_local, utcnow
from crm.followups.agenda import Agenda, agenda
from crm.leads.models import Lead, LeadWatcher
from crm.leads.queries import visible_to
from crm.leads.timeline import TimelineEntry, describe
from crm.summaries.queries import due_before

RECENT_DAYS = 14
RECENT_LIMIT = 20


@dataclass
class RecentChange:
    entry: TimelineEntry
    lead: Lead


@dataclass
class TodayPage:
    agenda: Agenda
    recent: list[RecentChange]
    now: datetime

    @property
    def due_now(self) -> int:
        return self.agenda.count("overdue").value + self.agenda.count("today").value


def end_of_today(now: datetime, zone_name: str) -> datetime:
    return local_day_bounds(to_local(now, zone_name).date(), zone_name)[1]


# The navigation shows "99+" beyond this.
NAV_COUNT_LIMIT = 99


def due_count(session: Session, viewer: User, *, now: datetime | None = None, limit: int | None = None) -> int:
    """The viewer's open follow-ups overdue or due by the end of their day, among the
    leads they may see (as the page shows): from the due tally (:mod:`crm.summaries`),
    the same cost whatever the number of follow-ups, as the navigation shows it on every
    page.  With ``limit``, no more than ``limit`` + 1 (the badge's "more than")."""
    now = now or utcnow()
    found = int(session.exec(due_before(viewer, end_of_today(now, viewer.timezone))).one())
    return found if limit is None else min(found, limit + 1)


def recent_changes(
    session: Session, viewer: User, *, now: datetime | None = None, limit: int = RECENT_LIMIT
) -> list[RecentChange]:
    """What others did lately on the leads the viewer owns or watches, newest first, among
    the leads the viewer may see (the lead list's rule), told as the lead's timeline tells it."""
    now = now or utcnow()
    watched = select(LeadWatcher.lead_id).where(LeadWatcher.user_id == viewer.id)
    query = (
        select(Event, Lead)  # type: ignore[call-overload]
        .join(Lead, col(Lead.id) == col(Event.lead_id))
        .where(
            or_(col(Lead.owner_id) == viewer.id, col(Lead.id).in_(watched)),
            visible_to(viewer),
            or_(col(Event.actor_id).is_(None), col(Event.actor_id) != viewer.id),
            col(Event.occurred_at) >= now - timedelta(days=RECENT_DAYS),
        )
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(limit)
    )
    rows = session.exec(query).all()
    entries = describe(session, [event for event, _lead in rows])
    return [RecentChange(entry, lead) for entry, (_event, lead) in zip(entries, rows, strict=True)]


def today_page(session: Session, viewer: User, *, now: datetime | None = None) -> TodayPage:
    now = now or utcnow()
    return TodayPage(agenda=agenda(session, viewer, now=now), recent=recent_changes(session, viewer, now=now), now=now)
