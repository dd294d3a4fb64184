"""The period's facts of a dispatch chunk by lead id, held as arrays of numbers.

A period over a million leads can hold hundreds of thousands of stage changes and tens of
thousands of follow-ups falling due.  As tuples of Python objects (a datetime, a few
ints and strings each, a list per lead, a dict entry) they take about 800 bytes each;
here they take about 50: one number per field in an ``array``, the lead ids sorted (a
lookup is a bisection), and the few distinct stage names stored once.  They read like the
``{lead_id: [item, …]}`` they stand for: a lead's items are built when asked for.
:class:`Smallest` keeps the first few of a list and counts the rest, for the lists a
digest shows.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from crm.leads.models import Stage

SIGNED = Stage.AGREEMENT_SIGNED.value
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
NONE = -(2**63)  # stands for None in an array of ids or instants
BITMAP_IDS = 2**27  # 16 MB of bits at most

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class StageChange(NamedTuple):
    event_id: int
    lead_id: int
    occurred_at: datetime
    from_stage: str
    to_stage: str
    advanced: bool
    signed: bool  # moved to "agreement signed"
    actor_id: int | None


class DueFollowUp(NamedTuple):
    followup_id: int
    lead_id: int
    title: str
    due_at: datetime
    owner_id: int
    created_at: datetime
    closed_at: datetime | None  # None while open; when it was done or cancelled

    def overdue_at(self, instant: datetime) -> bool:
        """Open and past due at ``instant``."""
        open_then = self.closed_at is None or self.closed_at > instant
        return self.created_at <= instant and self.due_at < instant and open_then


def _instant(value: datetime | None) -> int:
    return NONE if value is None else (value - EPOCH) // MICROSECOND


def _datetime(value: int) -> datetime | None:
    return None if value == NONE else EPOCH + value * MICROSECOND


def _number(value: int | None) -> int:
    return NONE if value is None else value


def _optional(value: int) -> int | None:
    return None if value == NONE else value


class _ByLead(Generic[T]):
    """Items grouped by lead id, the leads in ascending order (the rows must come so)."""

    def __init__(self) -> None:
        self._leads = array("q")
        self._bounds = array("q")  # where each lead's items start, then where the last ends
        self._count = 0

    def _next(self, lead_id: int) -> int:
        """Make room for one more item, of ``lead_id``; its position."""
        if not self._leads or self._leads[-1] != lead_id:
            if self._leads and lead_id < self._leads[-1]:
                raise ValueError("rows must come ordered by lead id")
            self._leads.append(lead_id)
            self._bounds.append(self._count)
        self._count += 1
        return self._count - 1

    def _close(self) -> None:
        self._bounds.append(self._count)
        # One bit per lead id up to the largest: "has this lead any?" without a bisection,
        # the question asked for every lead of a digest (lead ids are serial: a million
        # leads take 125 KB; past BITMAP_IDS the bisection answers alone).
        last = self._leads[-1] if self._leads else -1
        self._present = bytearray((last >> 3) + 1) if 0 <= last < BITMAP_IDS and self._leads[0] >= 0 else None
        if self._present is not None:
            for lead_id in self._leads:
                self._present[lead_id >> 3] |= 1 << (lead_id & 7)

    def _group(self, lead_id: object) -> int | None:
        if not isinstance(lead_id, int):
            return None
        present = self._present
        if present is not None and (
            not 0 <= lead_id < len(present) << 3 or not present[lead_id >> 3] >> (lead_id & 7) & 1
        ):
            return None
        found = bisect_left(self._leads, lead_id)
        return found if found < len(self._leads) and self._leads[found] == lead_id else None

    def _item(self, lead_id: int, n: int) -> T:
        raise NotImplementedError

    def _items_of(self, group: int) -> list[T]:
        lead_id = self._leads[group]
        return [self._item(lead_id, n) for n in range(self._bounds[group], self._bounds[group + 1])]

    def __len__(self) -> int:
        return len(self._leads)

    def __contains__(self, lead_id: object) -> bool:
        return self._group(lead_id) is not None

    def get(self, lead_id: int, default: Any = None) -> list[T] | Any:
        group = self._group(lead_id)
        return default if group is None else self._items_of(group)

    def items(self) -> Iterator[tuple[int, list[T]]]:
        for group, lead_id in enumerate(self._leads):
            yield lead_id, self._items_of(group)


class StageChanges(_ByLead[StageChange]):
    """``rows``: (event id, lead id, occurred at, from, to, advanced, actor id), by lead id, then oldest first."""

    def __init__(self, rows: Iterable[Any]) -> None:
        super().__init__()
        self._event_ids, self._at, self._actors = array("q"), array("q"), array("q")
        self._from, self._to, self._advanced = array("h"), array("h"), array("b")
        codes: dict[str, int] = {}
        for event_id, lead_id, occurred_at, from_stage, to_stage, advanced, actor_id in rows:
            self._next(lead_id)
            self._event_ids.append(event_id)
            self._at.append(_instant(occurred_at))
            self._from.append(codes.setdefault(str(from_stage), len(codes)))
            self._to.append(codes.setdefault(str(to_stage), len(codes)))
            self._advanced.append(bool(advanced))
            self._actors.append(_number(actor_id))
        self._close()
        self._stages = list(codes)

    def stage_at(self, lead_id: int, stage: str, instant: datetime) -> str:
        """The lead's stage just before ``instant`` (``stage``: its stage now): the ``from``
        of its first change at or after ``instant``, read off the arrays."""
        group = self._group(lead_id)
        if group is not None:
            at, moment = self._at, _instant(instant)
            for n in range(self._bounds[group], self._bounds[group + 1]):  # oldest first
                if at[n] >= moment:
                    return self._stages[self._from[n]]
        return stage

    def signed_leads(self) -> frozenset[int]:
        """Leads with a change to "agreement signed"."""
        if SIGNED not in self._stages:
            return frozenset()
        signed, to, bounds = self._stages.index(SIGNED), self._to, self._bounds
        return frozenset(
            lead_id for group, lead_id in enumerate(self._leads) if signed in to[bounds[group] : bounds[group + 1]]
        )

    def _item(self, lead_id: int, n: int) -> StageChange:
        to_stage = self._stages[self._to[n]]
        return StageChange(
            self._event_ids[n],
            lead_id,
            EPOCH + self._at[n] * MICROSECOND,
            self._stages[self._from[n]],
            to_stage,
            bool(self._advanced[n]),
            to_stage == SIGNED,
            _optional(self._actors[n]),
        )


class DueFollowUps(_ByLead[DueFollowUp]):
    """``rows``: (follow-up id, lead id, title, due at, owner id, created at, closed at or
    None), by lead id, then soonest due first."""

    def __init__(self, rows: Iterable[Any]) -> None:
        super().__init__()
        self._ids, self._due, self._owners = array("q"), array("q"), array("q")
        self._created, self._closed = array("q"), array("q")
        self._titles: list[str] = []
        for followup_id, lead_id, title, due_at, owner_id, created_at, closed_at in rows:
            self._next(lead_id)
            self._ids.append(followup_id)
            self._titles.append(title)
            self._due.append(_instant(due_at))
            self._owners.append(owner_id)
            self._created.append(_instant(created_at))
            self._closed.append(_instant(closed_at))
        self._close()

    def overdue_leads(self, now: datetime) -> set[int]:
        """Leads with an open follow-up due before ``now``."""
        instant, due, closed, bounds = _instant(now), self._due, self._closed, self._bounds
        return {
            lead_id
            for group, lead_id in enumerate(self._leads)
            if any(closed[n] == NONE and due[n] < instant for n in range(bounds[group], bounds[group + 1]))
        }

    def _item(self, lead_id: int, n: int) -> DueFollowUp:
        return DueFollowUp(
            self._ids[n],
            lead_id,
            self._titles[n],
            EPOCH + self._due[n] * MICROSECOND,
            self._owners[n],
            EPOCH + self._created[n] * MICROSECOND,
            _datetime(self._closed[n]),
        )


class _Last:
    """A heap entry ordered backwards, so that the heap's top is the largest kept."""

    __slots__ = ("item", "key")

    def __init__(self, key: Any, item: Any) -> None:
        self.key, self.item = key, item

    def __lt__(self, other: _Last) -> bool:
        return bool(self.key > other.key)


class Smallest(Generic[T]):
    """The ``size`` smallest items added (by ``key``, which must tell any two apart), and
    how many were added: what a list of the first few needs, in memory bounded by ``size``."""

    def __init__(self, size: int, key: Callable[[T], Any] | None = None) -> None:
        self.size, self.seen = size, 0
        self._key = key
        self._heap: list[_Last] = []

    def add(self, item: T) -> None:
        self.seen += 1
        entry = _Last(self._key(item) if self._key else item, item)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        elif self._heap and entry.key < self._heap[0].key:
            heapq.heapreplace(self._heap, entry)

    def items(self) -> list[T]:
        return [entry.item for entry in sorted(self._heap, key=lambda entry: entry.key)]


class ByLeadLike(Protocol[T_co]):
    def __len__(self) -> int: ...
    def items(self) -> Iterable[tuple[int, Iterable[T_co]]]: ...
    def get(self, lead_id: int, default: Any = ..., /) -> Any: ...


def groups_of_leads(by_lead: ByLeadLike[T], ids: set[int]) -> Iterator[tuple[int, Iterable[T]]]:
    """(lead id, its items) of these leads, walking whichever of the two is smaller."""
    if len(by_lead) < len(ids):
        yield from ((lead_id, found) for lead_id, found in by_lead.items() if lead_id in ids)
    else:
        yield from ((lead_id, by_lead.get(lead_id, ())) for lead_id in ids)


def of_leads(by_lead: ByLeadLike[T], ids: set[int]) -> Iterator[T]:
    """The items of these leads, one by one."""
    for _lead_id, found in groups_of_leads(by_lead, ids):
        yield from found
