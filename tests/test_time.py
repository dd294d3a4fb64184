"""Wall time + zone ⇄ UTC, with the clock changes that matter to Jisr's users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.core import time as jtime
from crm.core.time import (
    StaleTimeZoneData,
    check_tzdata,
    is_ambiguous,
    is_skipped,
    local_day_bounds,
    to_local,
    to_utc,
    wall_time,
)

CASA = "Africa/Casablanca"
CHICAGO = "America/Chicago"
LA = "America/Los_Angeles"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_pinned_tzdata_has_morocco_on_permanent_utc() -> None:
    check_tzdata()
    assert to_local(utc(2026, 10, 5, 9), CASA).utcoffset() == timedelta(0)
    assert to_local(utc(2027, 6, 1, 9), CASA).utcoffset() == timedelta(0)


def test_stale_tzdata_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rules that still predict UTC+1 after 2026-09-20 stop the program."""
    from datetime import timezone

    monkeypatch.setattr(jtime, "zone", lambda name: timezone(timedelta(hours=1)))
    with pytest.raises(StaleTimeZoneData, match="Africa/Casablanca"):
        check_tzdata()


def test_system_zoneinfo_is_not_used() -> None:
    import zoneinfo

    assert zoneinfo.TZPATH == ()


@pytest.mark.parametrize(
    ("wall", "expected_utc"),
    [
        # Before Ramadan 2026: UTC+1.
        (datetime(2026, 2, 14, 9, 0), utc(2026, 2, 14, 8, 0)),
        # 15 Feb 2026, 03:00 → 02:00: the hour 02:00–03:00 happens twice; first one wins.
        (datetime(2026, 2, 15, 2, 30), utc(2026, 2, 15, 1, 30)),
        (datetime(2026, 2, 15, 9, 0), utc(2026, 2, 15, 9, 0)),
        # During Ramadan: UTC+0.
        (datetime(2026, 3, 21, 9, 0), utc(2026, 3, 21, 9, 0)),
        # 22 Mar 2026, 02:00 → 03:00: 02:30 does not exist; it moves forward to 03:30 (+1).
        (datetime(2026, 3, 22, 2, 30), utc(2026, 3, 22, 2, 30)),
        (datetime(2026, 3, 22, 9, 0), utc(2026, 3, 22, 8, 0)),
        (datetime(2026, 9, 19, 9, 0), utc(2026, 9, 19, 8, 0)),
        # 20 Sep 2026, 02:00 → 01:00 for good: 01:30 happens twice; first one wins.
        (datetime(2026, 9, 20, 1, 30), utc(2026, 9, 20, 0, 30)),
        (datetime(2026, 9, 20, 9, 0), utc(2026, 9, 20, 9, 0)),
        (datetime(2026, 9, 21, 9, 0), utc(2026, 9, 21, 9, 0)),
    ],
)
def test_casablanca_wall_time_to_utc(wall: datetime, expected_utc: datetime) -> None:
    assert to_utc(wall, CASA) == expected_utc


def test_casablanca_skipped_and_repeated_hours_are_detected() -> None:
    assert is_skipped(datetime(2026, 3, 22, 2, 30), CASA)
    assert not is_skipped(datetime(2026, 3, 22, 3, 30), CASA)
    assert is_ambiguous(datetime(2026, 2, 15, 2, 30), CASA)
    assert is_ambiguous(datetime(2026, 9, 20, 1, 30), CASA)
    assert not is_ambiguous(datetime(2026, 9, 21, 1, 30), CASA)


def test_skipped_wall_time_lands_after_the_gap() -> None:
    instant = to_utc(datetime(2026, 3, 22, 2, 30), CASA)
    assert wall_time(instant, CASA) == datetime(2026, 3, 22, 3, 30)


@pytest.mark.parametrize(
    ("zone", "wall", "expected_utc"),
    [
        (CHICAGO, datetime(2026, 3, 7, 9, 0), utc(2026, 3, 7, 15, 0)),  # CST
        (CHICAGO, datetime(2026, 3, 8, 2, 30), utc(2026, 3, 8, 8, 30)),  # skipped → 03:30 CDT
        (CHICAGO, datetime(2026, 3, 9, 9, 0), utc(2026, 3, 9, 14, 0)),  # CDT
        (CHICAGO, datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 6, 30)),  # repeated: CDT first
        (LA, datetime(2026, 11, 1, 9, 0), utc(2026, 11, 1, 17, 0)),  # PST
        (LA, datetime(2026, 10, 31, 9, 0), utc(2026, 10, 31, 16, 0)),  # PDT
    ],
)
def test_us_dst_wall_time_to_utc(zone: str, wall: datetime, expected_utc: datetime) -> None:
    assert to_utc(wall, zone) == expected_utc


def test_round_trip_for_every_hour_of_2026_in_casablanca() -> None:
    """Every existing wall time maps back to itself (the first of two, for repeated ones)."""
    wall = datetime(2026, 1, 1)
    while wall.year == 2026:
        instant = to_utc(wall, CASA)
        if not is_skipped(wall, CASA):
            assert wall_time(instant, CASA) == wall
        wall += timedelta(minutes=30)


def test_local_day_bounds_on_a_day_with_25_hours() -> None:
    start, end = local_day_bounds(datetime(2026, 9, 20).date(), CASA)
    assert end - start == timedelta(hours=25)


def test_naive_and_aware_inputs_are_checked() -> None:
    with pytest.raises(ValueError):
        to_utc(utc(2026, 1, 1), CASA)
    with pytest.raises(ValueError):
        to_local(datetime(2026, 1, 1), CASA)
    with pytest.raises(ValueError):
        jtime.ensure_utc(datetime(2026, 1, 1))
