"""Time: UTC instants in the database, wall time + IANA zone for anything scheduled.

Jisr reads time-zone rules only from the pinned PyPI ``tzdata`` package, never from the
machine: many systems still carry rules that put Morocco on UTC+1 after
2026-09-20, which would send every "09:00 in Casablanca" an hour early.

Policy for wall times that a clock change makes odd:

* a **skipped** wall time (spring forward, e.g. 02:30 on 2026-03-22 in Casablanca) is
  moved forward by the length of the gap (it becomes 03:30): the moment still comes,
  just as a person whose clock jumped would see it;
* a **repeated** wall time (fall back, e.g. 01:30 on 2026-09-20 in Casablanca) means its
  first occurrence: a deadline or reminder is never the later of the two.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache

# Use the pinned tzdata package only: the machine's /usr/share/zoneinfo may be stale.
zoneinfo.reset_tzpath(to=())
zoneinfo.ZoneInfo.clear_cache()

CASABLANCA = "Africa/Casablanca"


class StaleTimeZoneData(RuntimeError):
    """The time-zone rules in use predate Morocco's move to permanent UTC+0."""


@lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def is_valid_zone(name: str) -> bool:
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        return False
    try:
        zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def available_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_tzdata() -> None:
    """Refuse to run with rules that predict UTC+1 in Casablanca after 2026-09-20."""
    offset = datetime(2026, 10, 5, 12, 0, tzinfo=zone(CASABLANCA)).utcoffset()
    if offset != timedelta(0):
        import tzdata  # type: ignore[import-untyped]

        raise StaleTimeZoneData(
            f"time-zone data is stale: Africa/Casablanca is UTC{offset} on 2026-10-05 "
            f"(tzdata {getattr(tzdata, 'IANA_VERSION', '?')}); install tzdata 2026.6 or later"
        )


def _fold_roundtrips(wall: datetime, tz: tzinfo, fold: int) -> bool:
    candidate = wall.replace(tzinfo=tz, fold=fold)
    back = candidate.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == wall


def to_utc(wall: datetime, zone_name: str) -> datetime:
    """Resolve a naive wall time in ``zone_name`` to a UTC instant (see the module policy)."""
    if wall.tzinfo is not None:
        raise ValueError("to_utc expects a naive wall time; it is given its zone separately")
    tz = zone(zone_name)
    if _fold_roundtrips(wall, tz, 0):
        # Exists (once or twice): fold=0 is the first occurrence.
        return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    # Skipped: the offset before the gap (fold=0 for a gap in zoneinfo) lands after it.
    before = wall.replace(tzinfo=tz, fold=0).utcoffset()
    after = wall.replace(tzinfo=tz, fold=1).utcoffset()
    assert before is not None and after is not None
    offset = min(before, after)
    return (wall - offset).replace(tzinfo=UTC)


def to_local(instant: datetime, zone_name: str) -> datetime:
    """The aware local time of a UTC instant in ``zone_name``."""
    if instant.tzinfo is None:
        raise ValueError("to_local expects an aware datetime")
    return instant.astimezone(zone(zone_name))


def wall_time(instant: datetime, zone_name: str) -> datetime:
    """The naive wall-clock reading of an instant in ``zone_name``."""
    return to_local(instant, zone_name).replace(tzinfo=None)


def is_ambiguous(wall: datetime, zone_name: str) -> bool:
    tz = zone(zone_name)
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    return first.utcoffset() != second.utcoffset() and _fold_roundtrips(wall, tz, 1)


def is_skipped(wall: datetime, zone_name: str) -> bool:
    return not _fold_roundtrips(wall, zone(zone_name), 0)


def local_day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """UTC instants of the start of ``day`` and of the next day, in ``zone_name``."""
    start = to_utc(datetime(day.year, day.month, day.day), zone_name)
    nxt = day + timedelta(days=1)
    end = to_utc(datetime(nxt.year, nxt.month, nxt.day), zone_name)
    return start, end


def ensure_utc(value: datetime) -> datetime:
    """Reject naive datetimes; convert aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: Jisr stores only timezone-aware UTC instants")
    return value.astimezone(UTC)
