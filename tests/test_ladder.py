"""The reminder ladder on the wall clock of the recipient, across clock changes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from crm.core.time import to_local, to_utc
from crm.followups.ladder import next_waking, plan

CASA = "Africa/Casablanca"
CHICAGO = "America/Chicago"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ladder(due_local: datetime, zone: str, now: datetime, **kwargs):  # type: ignore[no-untyped-def]
    rungs, escalate = plan(
        to_utc(due_local, zone),
        zone=zone,
        send_hour=kwargs.get("send_hour", 9),
        days_before=kwargs.get("days_before", [3, 1]),
        now=now,
        escalate_after=kwargs.get("escalate_after", 3),
    )
    return {r.name: r.fire_at for r in rungs}, escalate


@pytest.mark.parametrize(
    ("due_local", "expected"),
    [
        # Ramadan switch 2026-02-15 03:00 → 02:00 (UTC+1 → UTC+0).
        (
            datetime(2026, 2, 16, 10, 0),
            {
                "before-3": utc(2026, 2, 13, 8),
                "before-1": utc(2026, 2, 15, 9),
                "due": utc(2026, 2, 16, 9),
                "overdue-1": utc(2026, 2, 17, 9),
            },
        ),
        # Back to UTC+1 on 2026-03-22 02:00 → 03:00.
        (
            datetime(2026, 3, 23, 10, 0),
            {
                "before-3": utc(2026, 3, 20, 9),
                "before-1": utc(2026, 3, 22, 8),
                "due": utc(2026, 3, 23, 8),
                "overdue-1": utc(2026, 3, 24, 8),
            },
        ),
        # Permanent UTC+0 from 2026-09-20 (stale tz data would say 08:00 UTC on the 21st).
        (
            datetime(2026, 9, 21, 10, 0),
            {
                "before-3": utc(2026, 9, 18, 8),
                "before-1": utc(2026, 9, 20, 9),
                "due": utc(2026, 9, 21, 9),
                "overdue-1": utc(2026, 9, 22, 9),
            },
        ),
    ],
)
def test_casablanca_rungs_fire_at_nine_local_across_clock_changes(due_local: datetime, expected: dict) -> None:
    rungs, escalate = ladder(due_local, CASA, now=utc(2026, 1, 1))
    assert rungs == expected and not escalate


def test_due_on_the_morning_of_the_ramadan_switch() -> None:
    """Due 09:00 on 2026-02-15: the day's reminder comes at 07:00 local, before it."""
    rungs, _ = ladder(datetime(2026, 2, 15, 9, 0), CASA, now=utc(2026, 1, 1))
    assert rungs["due"] == utc(2026, 2, 15, 7)
    assert rungs["before-1"] == utc(2026, 2, 14, 8)  # 09:00 at UTC+1


@pytest.mark.parametrize(
    ("due_local", "expected"),
    [
        # US spring forward 2026-03-08: CST (UTC-6) → CDT (UTC-5).
        (
            datetime(2026, 3, 9, 10, 0),
            {"before-3": utc(2026, 3, 6, 15), "before-1": utc(2026, 3, 8, 14), "due": utc(2026, 3, 9, 14)},
        ),
        # US fall back 2026-11-01: CDT → CST.
        (
            datetime(2026, 11, 2, 10, 0),
            {"before-3": utc(2026, 10, 30, 14), "before-1": utc(2026, 11, 1, 15), "due": utc(2026, 11, 2, 15)},
        ),
    ],
)
def test_us_recipient_across_dst(due_local: datetime, expected: dict) -> None:
    rungs, _ = ladder(due_local, CHICAGO, now=utc(2026, 1, 1))
    for name, instant in expected.items():
        assert rungs[name] == instant
        assert to_local(instant, CHICAGO).hour == 9


def test_followup_due_in_ten_minutes_gets_its_reminder_now() -> None:
    now = to_utc(datetime(2026, 5, 12, 14, 0), CASA)
    rungs, _ = ladder(datetime(2026, 5, 12, 14, 10), CASA, now=now)
    assert rungs["due"] == now
    assert "before-1" not in rungs and "before-3" not in rungs


def test_passed_rung_waits_for_the_morning_and_is_not_doubled() -> None:
    """Created at 23:00, due at 08:00 tomorrow: one reminder at 07:00, not two."""
    now = to_utc(datetime(2026, 5, 12, 23, 0), CASA)
    rungs, _ = ladder(datetime(2026, 5, 13, 8, 0), CASA, now=now)
    assert rungs == {
        "due": to_utc(datetime(2026, 5, 13, 7, 0), CASA),
        "overdue-1": to_utc(datetime(2026, 5, 14, 9), CASA),
    }


def test_created_two_days_before_sends_the_one_day_rung_only_when_due() -> None:
    now = to_utc(datetime(2026, 5, 10, 12, 0), CASA)
    rungs, _ = ladder(datetime(2026, 5, 12, 10, 0), CASA, now=now)
    # before-3 passed but before-1 is still ahead: nothing is sent late.
    assert set(rungs) == {"before-1", "due", "overdue-1"}


def test_overdue_followup_gets_its_overdue_reminder_now_and_escalates() -> None:
    now = to_utc(datetime(2026, 5, 12, 11, 0), CASA)
    rungs, escalate = ladder(datetime(2026, 5, 7, 10, 0), CASA, now=now)
    assert rungs == {"overdue-5": now}
    assert escalate


def test_overdue_reminder_found_at_night_waits_for_seven() -> None:
    now = to_utc(datetime(2026, 5, 12, 22, 30), CASA)
    rungs, escalate = ladder(datetime(2026, 5, 11, 10, 0), CASA, now=now)
    assert rungs == {"overdue-1": to_utc(datetime(2026, 5, 13, 7, 0), CASA)}
    assert not escalate


def test_custom_lead_times_and_send_hour() -> None:
    rungs, _ = ladder(datetime(2026, 6, 20, 16, 0), CASA, now=utc(2026, 1, 1), days_before=[7, 2], send_hour=8)
    assert set(rungs) == {"before-7", "before-2", "due", "overdue-1"}
    assert all(to_local(t, CASA).hour == 8 for t in rungs.values())


@pytest.mark.parametrize("zone", [CASA, CHICAGO, "America/Los_Angeles", "Asia/Tokyo"])
def test_no_rung_ever_fires_at_night(zone: str) -> None:
    rng = random.Random(20260920)
    start = utc(2026, 1, 1)
    for _ in range(400):
        due = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        now = due - timedelta(minutes=rng.randrange(-7 * 24 * 60, 10 * 24 * 60))
        rungs, _ = plan(due, zone=zone, send_hour=rng.randrange(7, 21), days_before=[3, 1], now=now, escalate_after=3)
        for rung in rungs:
            assert 7 <= to_local(rung.fire_at, zone).hour < 21, (rung, due, now)
            assert rung.fire_at >= now - timedelta(seconds=1)


def test_next_waking() -> None:
    assert next_waking(to_utc(datetime(2026, 5, 12, 6, 59), CASA), CASA) == to_utc(datetime(2026, 5, 12, 7), CASA)
    assert next_waking(to_utc(datetime(2026, 5, 12, 21, 0), CASA), CASA) == to_utc(datetime(2026, 5, 13, 7), CASA)
    noon = to_utc(datetime(2026, 5, 12, 12, 0), CASA)
    assert next_waking(noon, CASA) == noon


def test_already_overdue_is_told_at_once_even_before_the_send_hour() -> None:
    """At 07:15, a follow-up five days overdue is reminded now, not at 09:00."""
    now = to_utc(datetime(2026, 11, 29, 7, 15), "America/New_York")
    rungs, _ = ladder(datetime(2026, 11, 24, 15, 0), "America/New_York", now=now)
    assert rungs == {"overdue-5": now}
