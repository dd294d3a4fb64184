"""Recompute every summary from the lead, event and follow-up tables, and check them.

The rebuild is set-based (one ``INSERT … SELECT`` per table, the tallies grouped from
their members), some seconds at a million leads; the benchmark's fill, which writes
rows with ``COPY`` and no events, runs it afterwards.  The check computes the tallies
afresh from the base tables and lists every row that differs."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crm.summaries.sync import DUE_KEY, LEAD_KEY, LEAD_MEASURES, LOCK_SPACE, MOVE_KEY

TABLES = (
    "summary_lead_tally",
    "summary_lead",
    "summary_move_tally",
    "summary_move",
    "summary_due_tally",
    "summary_followup",
)


def _hour(column: str, dialect: str) -> str:
    """SQL for the UTC hour an instant falls in, in the form the column stores."""
    if dialect == "postgresql":
        return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {column})"


def _advanced(dialect: str) -> str:
    if dialect == "postgresql":
        return "COALESCE((e.payload ->> 'advanced') = 'true', false)"
    return "COALESCE(json_extract(e.payload, '$.advanced'), 0) = 1"


def member_selects(dialect: str) -> dict[str, str]:
    """The members of each summary, as ``SELECT`` statements on the base tables whose
    columns carry the member table's names."""
    return {
        "summary_lead": (
            "SELECT id AS lead_id, stage, COALESCE(currency, '') AS currency, COALESCE(sector_id, 0) AS sector_id,"
            " ma_organisation_id, owner_id, confidential, estimated_value AS value, probability FROM lead"
        ),
        "summary_move": (
            f"SELECT e.id AS event_id, e.lead_id, {_hour('e.occurred_at', dialect)} AS hour,"  # noqa: S608
            f" {_advanced(dialect)} AS advanced, l.confidential,"
            " CASE WHEN l.confidential THEN l.owner_id ELSE 0 END AS owner_id"
            " FROM event e JOIN lead l ON l.id = e.lead_id WHERE e.type = 'lead.stage_changed'"
        ),
        "summary_followup": (
            f"SELECT f.id AS followup_id, f.lead_id, {_hour('f.due_at', dialect)} AS hour, f.owner_id,"  # noqa: S608
            " l.confidential, CASE WHEN l.confidential THEN l.owner_id ELSE 0 END AS lead_owner_id"
            " FROM followup f JOIN lead l ON l.id = f.lead_id WHERE f.status = 'open'"
        ),
    }


MEMBER_COLUMNS = {
    "summary_lead": (
        "lead_id, stage, currency, sector_id, ma_organisation_id, owner_id, confidential, value, probability"
    ),
    "summary_move": "event_id, lead_id, hour, advanced, confidential, owner_id",
    "summary_followup": "followup_id, lead_id, hour, owner_id, confidential, lead_owner_id",
}


def tally_selects(source: dict[str, str]) -> dict[str, str]:
    """Each tally grouped from its members (``source`` names each member table, or a
    subquery standing for it)."""
    lead_key, move_key, due_key = ", ".join(LEAD_KEY), ", ".join(MOVE_KEY), ", ".join(DUE_KEY)
    return {
        "summary_lead_tally": (
            f"SELECT {lead_key}, COUNT(*), COUNT(value), COALESCE(SUM(value), 0),"  # noqa: S608
            " COALESCE(SUM(value * probability), 0),"
            " COALESCE(SUM(CASE WHEN probability IS NULL THEN value END), 0)"
            f" FROM {source['summary_lead']} m GROUP BY {lead_key}"
        ),
        "summary_move_tally": f"SELECT {move_key}, COUNT(*) FROM {source['summary_move']} m GROUP BY {move_key}",  # noqa: S608
        "summary_due_tally": f"SELECT {due_key}, COUNT(*) FROM {source['summary_followup']} m GROUP BY {due_key}",  # noqa: S608
    }


TALLY_COLUMNS = {
    "summary_lead_tally": (*LEAD_KEY, *LEAD_MEASURES),
    "summary_move_tally": (*MOVE_KEY, "moves"),
    "summary_due_tally": (*DUE_KEY, "followups"),
}


def rebuild(connection: sa.Connection) -> dict[str, int]:
    """Empty the summaries and fill them again (in the caller's transaction); rows per table."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Syncs wait until the rebuild commits (they would otherwise read members it is
        # replacing); on SQLite its first write holds the single write lock.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:space, 0)"), {"space": LOCK_SPACE})
    for table in TABLES:
        connection.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608
    for table, select in member_selects(dialect).items():
        connection.execute(sa.text(f"INSERT INTO {table} ({MEMBER_COLUMNS[table]}) {select}"))
    for table, select in tally_selects({m: m for m in MEMBER_COLUMNS}).items():
        connection.execute(sa.text(f"INSERT INTO {table} ({', '.join(TALLY_COLUMNS[table])}) {select}"))
    return {t: int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in TABLES}  # noqa: S608


@dataclass
class Difference:
    table: str
    key: tuple[Any, ...]
    kept: tuple[Any, ...] | None
    expected: tuple[Any, ...] | None


@dataclass
class CheckResult:
    differences: list[Difference] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences


def _normal(value: Any) -> Any:
    """Values as both sides give them, made comparable (SQLite's sums are floats, its
    booleans integers, its instants text)."""
    if isinstance(value, float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, bool):
        return int(value)
    return str(value) if not isinstance(value, int) else value


def check(connection: sa.Connection) -> CheckResult:
    """Compare each tally with the same tally computed now from the base tables."""
    live = tally_selects({t: f"({s})" for t, s in member_selects(connection.dialect.name).items()})
    result = CheckResult()
    for table, select in live.items():
        columns = TALLY_COLUMNS[table]
        width = len(columns) - (len(LEAD_MEASURES) if table == "summary_lead_tally" else 1)
        kept = {
            tuple(_normal(v) for v in row[:width]): tuple(_normal(v) for v in row[width:])
            for row in connection.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table}"))  # noqa: S608
        }
        expected = {
            tuple(_normal(v) for v in row[:width]): tuple(_normal(v) for v in row[width:])
            for row in connection.execute(sa.text(select))
        }
        result.rows[table] = len(kept)
        for key in sorted(set(kept) | set(expected), key=repr):
            if kept.get(key) != expected.get(key):
                result.differences.append(Difference(table, key, kept.get(key), expected.get(key)))
    return result
