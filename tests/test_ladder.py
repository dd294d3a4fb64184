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


# --- the "due" rung of a follow-up due before the send hour -----------------------------
LOS_ANGELES = "America/Los_Angeles"
# Days around which the wall clock changes: US DST start and end, Morocco's Ramadan switch
# (UTC+1 → UTC+0 on 2026-02-15, back on 2026-03-22) and its move to UTC+0 on 2026-09-20;
# each with the day after, and an ordinary day.
CHANGE_DAYS = {
    LOS_ANGELES: [(2026, 3, 8), (2026, 3, 9), (2026, 11, 1), (2026, 11, 2), (2026, 5, 12)],
    CASA: [(2026, 2, 15), (2026, 2, 16), (2026, 3, 22), (2026, 3, 23), (2026, 9, 20), (2026, 9, 21), (2026, 5, 12)],
}
# Around midnight, the early morning (with the hours a clock change skips or repeats), 07:00
# (waking) + one hour of notice, and the send hour.
DUE_TIMES = [(0, 0), (0, 30), (1, 30), (2, 30), (3, 0), (6, 59), (7, 0), (7, 59), (8, 0), (8, 30), (8, 59)]
DUE_TIMES += [(9, 0), (9, 1), (23, 30)]


def _expected_due_rung(due_at: datetime, zone: str, send_hour: int) -> tuple[datetime, int]:
    """The rule, written out: the send hour of the due day if before the due time; else 07:00
    that day if that leaves an hour; else 20:00 the day before.  With the day the reminder
    must then call the due day (0 "today", 1 "tomorrow")."""
    local = to_local(due_at, zone)
    day = local.date()
    if (local.hour, local.minute) > (send_hour, 0):
        return to_utc(datetime(day.year, day.month, day.day, send_hour), zone), 0
    if (local.hour, local.minute) >= (8, 0):
        return to_utc(datetime(day.year, day.month, day.day, 7), zone), 0
    eve = day - timedelta(days=1)
    return to_utc(datetime(eve.year, eve.month, eve.day, 20), zone), 1


@pytest.mark.parametrize(
    ("zone", "day", "due_time"),
    [(zone, day, t) for zone, days in CHANGE_DAYS.items() for day in days for t in DUE_TIMES],
)
def test_the_due_reminder_comes_on_the_due_day_or_the_evening_before_and_is_worded_so(
    zone: str, day: tuple[int, int, int], due_time: tuple[int, int]
) -> None:
    from crm.followups.ladder import days_until

    due_at = to_utc(datetime(*day, *due_time), zone)
    rungs, _ = plan(due_at, zone=zone, send_hour=9, days_before=[3, 1], now=utc(2026, 1, 1), escalate_after=3)
    fired = {r.name: r.fire_at for r in rungs}
    expected_fire, expected_days = _expected_due_rung(due_at, zone, 9)
    assert fired["due"] == expected_fire, (to_local(fired["due"], zone), to_local(due_at, zone))
    assert fired["due"] < due_at
    assert days_until(due_at, fired["due"], zone) == expected_days
    assert 7 <= to_local(fired["due"], zone).hour < 21
    # The day-before reminder never repeats an evening-before "due" one, and comes first.
    assert fired.get("before-1", fired["due"] - timedelta(seconds=1)) < fired["due"]
    assert fired["overdue-1"] > due_at and days_until(due_at, fired["overdue-1"], zone) == -1


@pytest.mark.parametrize(("send_hour", "due_minute_of_day"), [(9, 8 * 60 + 59), (9, 9 * 60), (9, 9 * 60 + 1)])
def test_around_the_send_hour(send_hour: int, due_minute_of_day: int) -> None:
    """08:59 and 09:00 are before (or at) the 09:00 send hour: reminded at 07:00; 09:01 at 09:00."""
    due_at = to_utc(datetime(2026, 6, 10) + timedelta(minutes=due_minute_of_day), CASA)
    rungs, _ = plan(due_at, zone=CASA, send_hour=send_hour, days_before=[1], now=utc(2026, 1, 1), escalate_after=3)
    fire = to_local({r.name: r.fire_at for r in rungs}["due"], CASA)
    assert (fire.day, fire.hour) == ((10, 9) if due_minute_of_day > 9 * 60 else (10, 7))


def test_due_at_three_is_reminded_the_evening_before_once() -> None:
    due_at = to_utc(datetime(2026, 6, 10, 3, 0), CASA)
    rungs, _ = ladder(datetime(2026, 6, 10, 3, 0), CASA, now=utc(2026, 1, 1))
    assert rungs["due"] == to_utc(datetime(2026, 6, 9, 20, 0), CASA)
    assert rungs["before-1"] == to_utc(datetime(2026, 6, 9, 9, 0), CASA) < rungs["due"] < due_at
    # With the send hour at 20:00 the "day before" reminder would come with the "due" one: it goes.
    late, _ = ladder(datetime(2026, 6, 10, 3, 0), CASA, now=utc(2026, 1, 1), send_hour=20)
    assert "before-1" not in late and late["due"] == to_utc(datetime(2026, 6, 9, 20, 0), CASA)


@pytest.mark.parametrize("zone", [CASA, LOS_ANGELES, "Asia/Tokyo", "Pacific/Chatham"])
def test_a_reminder_never_calls_a_day_today_that_is_not_the_due_day(zone: str) -> None:
    """Generated: any due instant, send hour and planning moment.  Every reminder before the
    due instant is worded from the day it fires on: "today" only on the due day, "tomorrow"
    (for the "due" rung) only for a due time too early to be reminded that morning."""
    from crm.followups.ladder import EARLY_NOTICE, WAKE_HOUR, days_until

    rng = random.Random(20261206)
    start = utc(2026, 1, 1)
    for _ in range(600):
        due = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        now = due - timedelta(minutes=rng.randrange(-2 * 24 * 60, 5 * 24 * 60))
        send_hour = rng.randrange(7, 21)
        rungs, _ = plan(due, zone=zone, send_hour=send_hour, days_before=[3, 1], now=now, escalate_after=3)
        for rung in rungs:
            if rung.fire_at >= due:
                continue
            days = days_until(due, rung.fire_at, zone)
            assert days >= 0, (rung, due, now)
            if rung.name == "due":
                local_due = to_local(due, zone)
                early_enough = to_utc(datetime(*local_due.timetuple()[:3], WAKE_HOUR), zone) + EARLY_NOTICE <= due
                assert days == 0 or (days == 1 and not early_enough), (rung, to_local(due, zone), send_hour, now)
            else:
                assert rung.name.startswith("before-") and days >= 1, (rung, due, now)
