"""Reads for Today: the viewer's follow-ups on their own calendar (``crm.followups.agenda``),
recent changes on the leads they own or watch, and the count shown in the navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from crm.accounts.models import User
from crm.core.time import local_day_bounds, to_local, utcnow
from crm.feed.models import RECENT_DAYS
from crm.feed.queries import recent_events
from crm.followups.agenda import Agenda, agenda
from crm.leads.models import Lead
from crm.leads.timeline import TimelineEntry, describe
from crm.summaries.queries import due_before

__all__ = [
    "NAV_COUNT_LIMIT",
    "RECENT_DAYS",
    "RECENT_LIMIT",
    "RecentChange",
    "TodayPage",
    "due_count",
    "end_of_today",
    "recent_changes",
    "today_page",
]

RECENT_LIMIT = 20
# Each group of the day's follow-ups shows its first rows, each with its "done + next" and
# "snooze" forms; the follow-ups page has them all, a page at a time.  At 50 a group a busy
# officer's page carried 150 rows and 300 forms (570 KB, some 180 ms to make).
TODAY_PER_GROUP = 15


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
    found = due_before(session, viewer, end_of_today(now, viewer.timezone))
    return found if limit is None else min(found, limit + 1)


def recent_changes(
    session: Session, viewer: User, *, now: datetime | None = None, limit: int = RECENT_LIMIT
) -> list[RecentChange]:
    """What others did lately on the leads the viewer owns or watches, newest first, among
    the leads the viewer may see (the lead list's rule), told as the lead's timeline tells it.

    Read from the viewer's feed (:mod:`crm.feed`), which keeps a day more than the window:
    ``now`` is the clock, give or take a day."""
    now = now or utcnow()
    rows = recent_events(session, viewer, since=now - timedelta(days=RECENT_DAYS), limit=limit)
    entries = describe(session, [event for event, _lead in rows])
    return [RecentChange(entry, lead) for entry, (_event, lead) in zip(entries, rows, strict=True)]


def today_page(session: Session, viewer: User, *, now: datetime | None = None) -> TodayPage:
    now = now or utcnow()
    return TodayPage(
        agenda=agenda(session, viewer, now=now, per_group=TODAY_PER_GROUP),
        recent=recent_changes(session, viewer, now=now),
        now=now,
    )
