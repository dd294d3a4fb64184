"""A digest over many leads holds a bounded amount: the lead scan is read in batches (a
server-side cursor on PostgreSQL), the period's stage changes are kept as arrays of
numbers, and the lists of the first few keep only those few."""

from __future__ import annotations

import random
from array import array
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from crm.digests import by_lead
from crm.digests import compile as compiling
from crm.digests.by_lead import DueFollowUp, DueFollowUps, Smallest, StageChange, StageChanges
from crm.digests.compile import compile_digest
from crm.digests.models import Cadence
from crm.digests.periods import latest_due_period
from tests.digest_helpers import SEND_AT, prepare_week

CASA = "Africa/Casablanca"


def _executed(session: Session, action: Any) -> list[tuple[str, Any, Any]]:
    """(statement, its ``yield_per``, the driver cursor's name) of each statement run."""
    seen: list[tuple[str, Any, Any]] = []

    def listener(_conn: Any, cursor: Any, statement: str, _params: Any, context: Any, _many: Any) -> None:
        seen.append((statement, context.execution_options.get("yield_per"), getattr(cursor, "name", None)))

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return seen


def test_the_lead_scan_and_the_stage_changes_are_read_in_batches(app: Any, session: Session, monkeypatch: Any) -> None:
    week = prepare_week(session, lead_count=12)
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    whole = compile_digest(session, week.subscription, period, now=SEND_AT)
    session.rollback()
    monkeypatch.setattr(compiling, "SCAN_BATCH", 3)
    found: list[Any] = []
    seen = _executed(session, lambda: found.append(compile_digest(session, week.subscription, period, now=SEND_AT)))
    # Batches of 3 leads give the same digest as one read.
    assert found[0] == whole
    assert sum(whole.pipeline.values()) > 3 * 3  # more than three batches
    scans = [s for s in seen if "FROM lead" in s[0] and "CASE" in s[0]]
    changes = [s for s in seen if "FROM event" in s[0] and "ORDER BY event.lead_id" in s[0]]
    followups = [s for s in seen if "FROM followup" in s[0] and "ORDER BY followup.lead_id" in s[0]]
    assert len(followups) == 1 and followups[0][1] == 2_000
    assert len(scans) == 1 and scans[0][1] == 3
    assert len(changes) == 1 and changes[0][1] == 2_000
    if session.get_bind().dialect.name == "postgresql":
        # A named (server-side) cursor: the database hands the rows over batch by batch.
        assert scans[0][2] is not None
        assert changes[0][2] is not None and followups[0][2] is not None


def test_smallest_keeps_only_the_first_few() -> None:
    rng = random.Random(7)
    pairs = [(rng.randrange(50), lead_id) for lead_id in range(1, 1_001)]
    kept = Smallest(10)
    for pair in pairs:
        kept.add(pair)
        assert len(kept._heap) <= 10
    assert kept.items() == sorted(pairs)[:10]
    by_second = Smallest(3, key=lambda pair: (pair[1], pair[0]))
    for pair in pairs:
        by_second.add(pair)
    assert by_second.items() == sorted(pairs, key=lambda pair: pair[1])[:3]
    assert kept.seen == 1_000
    few = Smallest(10)
    for pair in pairs[:4]:
        few.add(pair)
    assert few.items() == sorted(pairs[:4])


@pytest.mark.parametrize("bitmap", [True, False], ids=["bitmap", "bisection"])
def test_stage_changes_hold_arrays_of_numbers_and_read_as_lists_by_lead(monkeypatch: Any, bitmap: bool) -> None:
    monkeypatch.setattr(by_lead, "BITMAP_IDS", 2**27 if bitmap else 0)
    start = datetime(2026, 11, 16, tzinfo=UTC)
    rows = []
    expected: dict[int, list[StageChange]] = {}
    event_id = 0
    for lead_id in (3, 7, 8):
        for n in range(lead_id % 4 + 1):
            event_id += 1
            at = start + timedelta(hours=event_id, microseconds=lead_id)
            to = "agreement_signed" if (lead_id, n) == (7, 1) else "contacted"
            actor = None if n == 0 else lead_id
            rows.append((event_id, lead_id, at, "identified", to, n % 2 == 0, actor))
            change = StageChange(event_id, lead_id, at, "identified", to, n % 2 == 0, to == "agreement_signed", actor)
            expected.setdefault(lead_id, []).append(change)
    store = StageChanges(rows)
    assert len(store) == 3 and 7 in store and 5 not in store
    assert dict(store.items()) == expected
    assert store.get(8) == expected[8]
    assert store.get(5, ()) == () and store.get(5) is None
    assert store.signed_leads() == frozenset({7})
    assert StageChanges([]).signed_leads() == frozenset() and len(StageChanges([])) == 0
    # What is held: arrays with one number per change, and one entry per lead.
    held = vars(store)
    arrays = [value for value in held.values() if isinstance(value, array)]
    assert all(len(a) == len(rows) for a in arrays if a is not held["_bounds"] and a is not held["_leads"])
    assert list(held["_leads"]) == [3, 7, 8] and len(held["_bounds"]) == len(expected) + 1
    assert held["_stages"] == ["identified", "contacted", "agreement_signed"]
    numbers = {"_leads", "_bounds", "_event_ids", "_at", "_actors", "_from", "_to", "_advanced"}
    assert set(held) == numbers | {"_count", "_stages", "_present"}
    assert (held["_present"] is not None) == bitmap
    assert 9 not in store and 2 not in store and 10_000 not in store and -3 not in store
    # The stage at an instant, read off the arrays, is the one the changes tell.
    first = expected[8][0].occurred_at
    assert store.stage_at(8, "negotiation", first) == "identified"
    assert store.stage_at(8, "negotiation", expected[8][-1].occurred_at + timedelta(seconds=1)) == "negotiation"
    assert store.stage_at(5, "proposal", first) == "proposal"


def test_due_followups_read_as_lists_by_lead_and_tell_the_overdue_leads() -> None:
    now = datetime(2026, 11, 30, 8, tzinfo=UTC)
    made = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        (11, 2, "Call", now - timedelta(days=3), 5, made, None),
        (12, 2, "Write", now + timedelta(days=1), 5, made, now - timedelta(days=1)),
        (13, 4, "Visit", now + timedelta(days=2), 6, made, None),
        (14, 9, "Sign", now - timedelta(hours=1), 6, made, now - timedelta(hours=2)),
    ]
    store = DueFollowUps(rows)
    assert dict(store.items()) == {
        2: [DueFollowUp(*rows[0]), DueFollowUp(*rows[1])],
        4: [DueFollowUp(*rows[2])],
        9: [DueFollowUp(*rows[3])],
    }
    assert store.overdue_leads(now) == {2}
    assert len(store) == 3 and 4 in store and 3 not in store
    assert store.get(3, ()) == ()
    with pytest.raises(ValueError):
        DueFollowUps([rows[2], rows[0]])  # the rows must come ordered by lead
