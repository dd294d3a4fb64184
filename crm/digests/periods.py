"""Digest periods on the subscriber's wall clock.

A weekly digest covers Monday 00:00 → Monday 00:00 *local* and falls due on the chosen
weekday and hour of the week after; a daily one covers yesterday and falls due today at
the hour; a monthly one covers last month and falls due on the 1st at the hour.  Bounds
are resolved to UTC late, with the current tz data, so a decree that moves Morocco's
clock moves the digest with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm.core.time import to_local, to_utc
from crm.digests.models import Cadence


@dataclass(frozen=True)
class Period:
    key: str  # "2026-W48", "2026-11-28", "2026-11"
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    due_at: datetime  # UTC instant the digest of this period is sent

    def previous(self, cadence: Cadence | str, zone_name: str, weekday: int, hour: int) -> Period:
        return period_containing(self.start - timedelta(seconds=1), cadence, zone_name, weekday, hour)


def _midnight(day: date, zone_name: str) -> datetime:
    return to_utc(datetime(day.year, day.month, day.day), zone_name)


def _at(day: date, hour: int, zone_name: str) -> datetime:
    return to_utc(datetime(day.year, day.month, day.day, hour), zone_name)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _period(cadence: Cadence, first: date, zone_name: str, weekday: int, hour: int) -> Period:
    """The period starting on local day ``first`` (a Monday, any day, or a 1st)."""
    if cadence == Cadence.WEEKLY:
        nxt = first + timedelta(days=7)
        year, week, _ = first.isocalendar()
        return Period(
            f"{year}-W{week:02d}",
            _midnight(first, zone_name),
            _midnight(nxt, zone_name),
            _at(nxt + timedelta(days=weekday), hour, zone_name),
        )
    if cadence == Cadence.DAILY:
        nxt = first + timedelta(days=1)
        return Period(
            first.isoformat(), _midnight(first, zone_name), _midnight(nxt, zone_name), _at(nxt, hour, zone_name)
        )
    nxt = _next_month(first)
    return Period(f"{first:%Y-%m}", _midnight(first, zone_name), _midnight(nxt, zone_name), _at(nxt, hour, zone_name))


def _first_day(cadence: Cadence, day: date) -> date:
    if cadence == Cadence.WEEKLY:
        return day - timedelta(days=day.weekday())
    if cadence == Cadence.MONTHLY:
        return day.replace(day=1)
    return day


def period_containing(instant: datetime, cadence: Cadence | str, zone_name: str, weekday: int, hour: int) -> Period:
    """The (possibly unfinished) period in which ``instant`` falls, on the local calendar."""
    cadence = Cadence(cadence)
    first = _first_day(cadence, to_local(instant, zone_name).date())
    return _period(cadence, first, zone_name, weekday, hour)


def latest_due_period(now: datetime, cadence: Cadence | str, zone_name: str, weekday: int, hour: int) -> Period:
    """The most recent finished period whose send time has come."""
    current = period_containing(now, cadence, zone_name, weekday, hour)
    candidate = current.previous(cadence, zone_name, weekday, hour)
    while candidate.due_at > now:
        candidate = candidate.previous(cadence, zone_name, weekday, hour)
    return candidate


_KEYS = {
    Cadence.WEEKLY: re.compile(r"^(\d{4})-W(\d{2})$"),
    Cadence.DAILY: re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    Cadence.MONTHLY: re.compile(r"^(\d{4})-(\d{2})$"),
}


def parse_period(key: str, cadence: Cadence | str, zone_name: str, weekday: int, hour: int) -> Period | None:
    """The period named by ``key`` for this cadence, or ``None`` if it names none."""
    cadence = Cadence(cadence)
    match = _KEYS[cadence].match(key or "")
    if not match:
        return None
    numbers = [int(n) for n in match.groups()]
    try:
        if cadence == Cadence.WEEKLY:
            first = date.fromisocalendar(numbers[0], numbers[1], 1)
        elif cadence == Cadence.DAILY:
            first = date(numbers[0], numbers[1], numbers[2])
        else:
            first = date(numbers[0], numbers[1], 1)
        return _period(cadence, first, zone_name, weekday, hour)
    except (ValueError, OverflowError):  # no such day, or beyond the calendar (9999-12)
        return None
