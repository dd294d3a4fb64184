"""The reminder ladder of a follow-up: when each reminder is due, computed from the due
instant and the recipient's wall clock (zone, send hour), never from UTC arithmetic.

Rungs: ``before-N`` (N days before the due date, per the owner's setting, default 3 and
1), ``due`` (on the due day), ``overdue-N`` (daily after it) and ``escalation`` (to the
lead owner's supervisor, or the admins, after ``ESCALATION_AFTER_DAYS`` overdue days).
Each fires at the recipient's send hour (default 09:00), never between 21:00 and 07:00.

The ``due`` rung of a follow-up due *before* the send hour (say at 03:00, or 08:59 with a
09:00 send hour) cannot come at the send hour of its day.  The rule:

* on the due day at the earliest waking hour (07:00) when that is still at least
  ``EARLY_NOTICE`` (one hour) before the due time — "Due today at 08:30";
* otherwise the evening before at 20:00 (the last waking hour) — "Due tomorrow at 03:00".

The wording is never taken from the rung's name: the dispatcher words each reminder from
the day it is actually sent on, on the recipient's calendar (:func:`days_until`), so a
reminder that says "today" is always sent on the due day in the recipient's zone, and
one sent the evening before says "tomorrow", with the due time.
A rung whose moment passed before the follow-up was scheduled is sent at once (within
waking hours) if it is still the relevant one: the latest passed rung before the due
instant, or — for a follow-up already overdue — the current overdue day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm.core.time import to_local, to_utc

WAKE_HOUR = 7
SLEEP_HOUR = 21
EVENING_HOUR = SLEEP_HOUR - 1
# An on-the-day reminder must leave at least this long before the due time.
EARLY_NOTICE = timedelta(hours=1)


@dataclass(frozen=True)
class Rung:
    name: str
    fire_at: datetime


def at_local(day: date, hour: int, zone: str) -> datetime:
    return to_utc(datetime(day.year, day.month, day.day, hour, 0), zone)


def local_date(instant: datetime, zone: str) -> date:
    return to_local(instant, zone).date()


def next_waking(instant: datetime, zone: str) -> datetime:
    """``instant`` if it is between 07:00 and 21:00 where the recipient is, else the next 07:00."""
    local = to_local(instant, zone)
    if WAKE_HOUR <= local.hour < SLEEP_HOUR:
        return instant
    day = local.date() if local.hour < WAKE_HOUR else local.date() + timedelta(days=1)
    return at_local(day, WAKE_HOUR, zone)


def days_until(due_at: datetime, at: datetime, zone: str) -> int:
    """Calendar days from ``at`` to the due date where the recipient is: 0 on the due day,
    1 the day before ("tomorrow"), negative once overdue."""
    return (local_date(due_at, zone) - local_date(at, zone)).days


def due_rung(due_at: datetime, *, zone: str, send_hour: int) -> Rung:
    """The "due" rung: the send hour of the due day, or — due before it — 07:00 that day if
    that leaves ``EARLY_NOTICE``, or else 20:00 the day before (see the module docstring)."""
    due_day = local_date(due_at, zone)
    on_day = at_local(due_day, send_hour, zone)
    if on_day < due_at:
        return Rung("due", on_day)
    early = at_local(due_day, WAKE_HOUR, zone)
    if early + EARLY_NOTICE <= due_at:
        return Rung("due", early)
    return Rung("due", at_local(due_day - timedelta(days=1), EVENING_HOUR, zone))


def overdue_days(due_at: datetime, now: datetime, zone: str) -> int:
    """Whole local days between the due date and today (0 on the due day)."""
    return (local_date(now, zone) - local_date(due_at, zone)).days


def overdue_rung(due_at: datetime, days: int, *, zone: str, send_hour: int, now: datetime) -> Rung:
    """The reminder of the ``days``-th overdue day (sent at once if that day is today)."""
    fire = at_local(local_date(due_at, zone) + timedelta(days=days), send_hour, zone)
    fire = max(fire, due_at + timedelta(minutes=1))
    if fire <= now:
        fire = next_waking(now, zone)
    return Rung(f"overdue-{days}", fire)


def plan(
    due_at: datetime,
    *,
    zone: str,
    send_hour: int,
    days_before: list[int],
    now: datetime,
    escalate_after: int,
) -> tuple[list[Rung], bool]:
    """The rungs to plan now for the owner, and whether escalation is due already."""
    due_day = local_date(due_at, zone)
    before: list[Rung] = []
    for days in sorted({d for d in days_before if d > 0}, reverse=True):
        before.append(Rung(f"before-{days}", at_local(due_day - timedelta(days=days), send_hour, zone)))
    on_day = due_rung(due_at, zone=zone, send_hour=send_hour)
    # A "day before" reminder at (or after) an evening-before "due" one would say it twice.
    before = [r for r in before if r.fire_at < on_day.fire_at] + [on_day]
    before = [r for r in before if r.fire_at < due_at]

    rungs: list[Rung] = []
    if now < due_at:
        passed = [r for r in before if r.fire_at <= now]
        future = [r for r in before if r.fire_at > now]
        if passed:
            catch_up = next_waking(now, zone)
            # Only the latest passed rung matters, and only when no later one is still ahead.
            if catch_up < due_at and not future:
                rungs.append(Rung(passed[-1].name, catch_up))
        rungs.extend(future)
        rungs.append(overdue_rung(due_at, 1, zone=zone, send_hour=send_hour, now=now))
        return rungs, False
    # Already overdue when planned (scheduled late, reassigned, the demo's first run): the
    # owner hears at once, within waking hours; the daily reminders then come at the send hour.
    days = max(0, overdue_days(due_at, now, zone))
    rungs.append(Rung(f"overdue-{days}", next_waking(now, zone)))
    return rungs, days >= escalate_after
