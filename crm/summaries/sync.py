"""Bring the summaries in line with some leads as they are now.

:func:`sync_leads` reads the leads, their stage moves and their open follow-ups, compares
them with the members (what the tallies count of them) and moves each difference from
the tally row it was counted under to the one it belongs to.  It never trusts an event's
payload, only the rows: running it twice, late, or for a lead already deleted leaves the
figures right.

Two transactions syncing the same lead would both take out what it counted: each takes
a per-lead advisory lock first on PostgreSQL (SQLite has one writer at a time).  Tally
rows are changed by ``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``, so two
syncs of different leads adding to one row never lose an update."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.core.db import serialise_writers
from crm.core.events import Event
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Lead
from crm.summaries.models import DueTally, LeadTally, MoveTally, SummaryFollowUp, SummaryLead, SummaryMove

# The first key of the two-key advisory locks (the second is the lead's id, or 0 for the
# lock a rebuild holds alone and every sync shares).
LOCK_SPACE = 7_311_017
CHUNK = 500
LEAD_KEY = ("stage", "currency", "sector_id", "ma_organisation_id", "owner_id", "confidential")
LEAD_MEASURES = ("leads", "valued", "value", "weighted_own", "value_default")
MOVE_KEY = ("hour", "advanced", "confidential", "owner_id")
DUE_KEY = ("hour", "owner_id", "confidential", "lead_owner_id")


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _text(value: Any) -> str:
    """An enum's stored value (``Stage.PROPOSAL`` → ``"proposal"``), ``""`` for none."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def upsert(session: Session, table: sa.Table) -> Any:
    """The dialect's ``INSERT`` that knows ``ON CONFLICT``."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def bump(
    session: Session, table: sa.Table, keys: Sequence[str], measures: Sequence[str], deltas: dict[Any, Any]
) -> None:
    """Add ``deltas`` (key tuple → measure tuple) to the tally rows, creating the missing
    ones; rows whose count (the first measure) falls to zero go."""
    changes = [(key, delta) for key, delta in deltas.items() if any(delta)]
    if not changes:
        return
    changes.sort(key=lambda item: repr(item[0]))  # the same lock order in every transaction
    insert = upsert(session, table)
    statement = insert.on_conflict_do_update(
        index_elements=list(keys), set_={m: table.c[m] + insert.excluded[m] for m in measures}
    )
    session.execute(
        statement,
        [{**dict(zip(keys, key, strict=True)), **dict(zip(measures, delta, strict=True))} for key, delta in changes],
    )
    touched = [key for key, _ in changes]
    session.execute(
        sa.delete(table).where(sa.tuple_(*(table.c[k] for k in keys)).in_(touched), table.c[measures[0]] == 0)
    )


def _lock(session: Session, lead_ids: list[int]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        serialise_writers(session, "summaries")
        return
    # Shared with every other sync, exclusive to a rebuild (see crm.summaries.rebuild).
    session.execute(sa.text("SELECT pg_advisory_xact_lock_shared(:space, 0)"), {"space": LOCK_SPACE})
    session.execute(
        sa.text(
            "SELECT pg_advisory_xact_lock(:space, x) FROM "
            "(SELECT unnest(CAST(:ids AS integer[])) AS x ORDER BY 1) AS locked"
        ),
        {"space": LOCK_SPACE, "ids": lead_ids},
    )


def sync_leads(session: Session, lead_ids: Iterable[int]) -> None:
    """Sync the summaries of these leads (in the caller's transaction).

    The leads are locked and read by chunks in id order; the tallies are changed once,
    at the end, each row in the same order in every transaction (no deadlock between
    two large syncs)."""
    ids = sorted({int(i) for i in lead_ids})
    deltas: dict[str, dict[tuple[Any, ...], list[Any]]] = {name: {} for name in ("lead", "move", "due")}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        _lock(session, chunk)
        leads = _leads(session, chunk)
        _sync_tally(session, chunk, leads, deltas["lead"])
        _sync_members(session, _MOVES, chunk, _moves(session, chunk, leads), deltas["move"])
        _sync_members(session, _DUES, chunk, _followups(session, chunk, leads), deltas["due"])
    bump(session, LeadTally.__table__, LEAD_KEY, LEAD_MEASURES, deltas["lead"])  # type: ignore[attr-defined]
    bump(session, MoveTally.__table__, MOVE_KEY, ("moves",), deltas["move"])  # type: ignore[attr-defined]
    bump(session, DueTally.__table__, DUE_KEY, ("followups",), deltas["due"])  # type: ignore[attr-defined]


def _leads(session: Session, ids: list[int]) -> dict[int, Any]:
    lead = Lead.__table__  # type: ignore[attr-defined]
    columns = ("id", "stage", "currency", "sector_id", "ma_organisation_id", "owner_id", "confidential")
    rows = session.execute(
        sa.select(*(lead.c[c] for c in (*columns, "estimated_value", "probability"))).where(lead.c.id.in_(ids))
    ).all()
    return {int(row.id): row for row in rows}


def lead_member(row: Any) -> dict[str, Any]:
    """What the lead tally keeps of a lead row."""
    return {
        "lead_id": int(row.id),
        "stage": _text(row.stage),
        "currency": _text(row.currency),
        "sector_id": int(row.sector_id or 0),
        "ma_organisation_id": int(row.ma_organisation_id),
        "owner_id": int(row.owner_id),
        "confidential": bool(row.confidential),
        "value": None if row.estimated_value is None else Decimal(row.estimated_value),
        "probability": None if row.probability is None else int(row.probability),
    }


def _contribution(member: dict[str, Any]) -> tuple[int, int, Decimal, Decimal, Decimal]:
    value, probability = member["value"], member["probability"]
    if value is None:
        return (1, 0, Decimal(0), Decimal(0), Decimal(0))
    amount = Decimal(value)
    if probability is None:
        return (1, 1, amount, Decimal(0), amount)
    return (1, 1, amount, amount * int(probability), Decimal(0))


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(
        (Decimal(a[k]) == Decimal(b[k]) if k == "value" and a[k] is not None and b[k] is not None else a[k] == b[k])
        for k in a
    )


def _sync_tally(
    session: Session, ids: list[int], leads: dict[int, Any], deltas: dict[tuple[Any, ...], list[Any]]
) -> None:
    member = SummaryLead.__table__  # type: ignore[attr-defined]
    old = {
        int(r["lead_id"]): dict(r)
        for r in session.execute(sa.select(member).where(member.c.lead_id.in_(ids))).mappings()
    }
    new = {lead_id: lead_member(row) for lead_id, row in leads.items()}
    gone = [i for i in old if i not in new or not _same(old[i], new[i])]
    come = [i for i in new if i not in old or not _same(old[i], new[i])]
    for i in gone:
        delta = deltas.setdefault(tuple(old[i][k] for k in LEAD_KEY), [0, 0, Decimal(0), Decimal(0), Decimal(0)])
        for n, part in enumerate(_contribution(old[i])):
            delta[n] -= part
    for i in come:
        delta = deltas.setdefault(tuple(new[i][k] for k in LEAD_KEY), [0, 0, Decimal(0), Decimal(0), Decimal(0)])
        for n, part in enumerate(_contribution(new[i])):
            delta[n] += part
    if gone:
        session.execute(sa.delete(member).where(member.c.lead_id.in_(gone)))
    if come:
        session.execute(sa.insert(member), [new[i] for i in come])


def visible_owner(confidential: bool, owner_id: int) -> int:
    """The owner a move or follow-up tally keeps: only a confidential lead's is needed."""
    return int(owner_id) if confidential else 0


def _moves(session: Session, ids: list[int], leads: dict[int, Any]) -> dict[int, tuple[Any, ...]]:
    rows = session.execute(
        select(Event.id, Event.lead_id, Event.occurred_at, Event.payload).where(  # type: ignore[call-overload]
            col(Event.lead_id).in_(ids), Event.type == "lead.stage_changed"
        )
    ).all()
    found: dict[int, tuple[Any, ...]] = {}
    for event_id, lead_id, occurred_at, payload in rows:
        lead = leads.get(int(lead_id))
        if lead is None:
            continue
        advanced = bool((payload or {}).get("advanced"))
        confidential = bool(lead.confidential)
        found[int(event_id)] = (
            int(lead_id),
            hour_of(occurred_at),
            advanced,
            confidential,
            visible_owner(confidential, lead.owner_id),
        )
    return found


def _followups(session: Session, ids: list[int], leads: dict[int, Any]) -> dict[int, tuple[Any, ...]]:
    rows = session.execute(
        select(FollowUp.id, FollowUp.lead_id, FollowUp.due_at, FollowUp.owner_id).where(  # type: ignore[call-overload]
            col(FollowUp.lead_id).in_(ids), FollowUp.status == FollowUpStatus.OPEN
        )
    ).all()
    found: dict[int, tuple[Any, ...]] = {}
    for followup_id, lead_id, due_at, owner_id in rows:
        lead = leads.get(int(lead_id))
        if lead is None:
            continue
        confidential = bool(lead.confidential)
        found[int(followup_id)] = (
            int(lead_id),
            hour_of(due_at),
            int(owner_id),
            confidential,
            visible_owner(confidential, lead.owner_id),
        )
    return found


@dataclass(frozen=True)
class Members:
    """A member table (``id → (lead_id, *tally key)``) and the key of its tally."""

    table: sa.Table
    id_column: str
    keys: tuple[str, ...]


_MOVES = Members(SummaryMove.__table__, "event_id", MOVE_KEY)  # type: ignore[attr-defined]
_DUES = Members(SummaryFollowUp.__table__, "followup_id", DUE_KEY)  # type: ignore[attr-defined]


def _sync_members(
    session: Session,
    members: Members,
    ids: list[int],
    new: dict[int, tuple[Any, ...]],
    deltas: dict[tuple[Any, ...], list[Any]],
) -> None:
    """Replace the members of these leads that changed; note the tally's differences."""
    member = members.table
    columns = (members.id_column, "lead_id", *members.keys)
    old = {
        int(row[0]): tuple(row[1:])
        for row in session.execute(sa.select(*(member.c[c] for c in columns)).where(member.c.lead_id.in_(ids)))
    }
    # An id these leads hold now may still be counted under another lead: its row was
    # deleted there and the id used again (SQLite hands out the largest id again), that
    # lead's sync not run yet (its event still on its way).  It leaves the other lead here.
    strays = [i for i in new if i not in old]
    if strays:
        for row in session.execute(
            sa.select(*(member.c[c] for c in columns)).where(member.c[members.id_column].in_(strays))
        ):
            old[int(row[0])] = tuple(row[1:])
    gone = [i for i in old if new.get(i) != old[i]]
    come = [i for i in new if old.get(i) != new[i]]
    for i in gone:
        deltas.setdefault(old[i][1:], [0])[0] -= 1
    for i in come:
        deltas.setdefault(new[i][1:], [0])[0] += 1
    if gone:
        session.execute(sa.delete(member).where(member.c[members.id_column].in_(gone)))
    if come:
        session.execute(sa.insert(member), [dict(zip(columns, (i, *new[i]), strict=True)) for i in come])
