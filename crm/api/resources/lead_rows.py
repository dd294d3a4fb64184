"""Leads as the API shows them.

Reads go through plain rows: the lead's columns and its watchers' ids (aggregated by a
subquery of the same statement), so a lead's detail is one statement and a page of leads
one more than its ids, with no ORM objects made on the way.  Writes answer with the leads
they changed, which are ORM objects; both end in :func:`_out`, so a lead reads the same
whichever way it was found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from crm.accounts.models import Role, User
from crm.api.listing import links_of
from crm.api.schemas.leads import LeadOut
from crm.core.db import pk
from crm.inbound.addresses import lead_address
from crm.leads.models import Lead, LeadWatcher
from crm.leads.queries import visible_to_viewer
from crm.pipeline.queries import effective_probability, stage_probabilities, weigh

LEAD_TABLE: sa.Table = Lead.__table__  # type: ignore[attr-defined]


def watcher_ids(session: Session) -> Any:
    """A lead's watchers' ids, for a select on ``lead``: an array on PostgreSQL, a
    comma-separated text on SQLite (:func:`_ids` reads either)."""
    gather = sa.func.array_agg if session.get_bind().dialect.name == "postgresql" else sa.func.group_concat
    return (
        sa.select(gather(col(LeadWatcher.user_id)))
        .where(col(LeadWatcher.lead_id) == LEAD_TABLE.c.id)
        .scalar_subquery()
        .label("watcher_ids")
    )


def lead_columns(session: Session) -> list[Any]:
    """What a row of :func:`rows_out` needs: every column of the lead, and its watchers."""
    return [*LEAD_TABLE.c, watcher_ids(session)]


def _ids(found: Any) -> list[int]:
    if not found:
        return []
    parts = found.split(",") if isinstance(found, str) else found
    return sorted(int(part) for part in parts)


def _out(values: Mapping[str, Any], watchers: list[int], defaults: dict[Any, int]) -> LeadOut:
    probability = effective_probability(values, defaults)  # type: ignore[arg-type]
    return LeadOut.model_validate(
        {
            **values,
            "watcher_ids": watchers,
            "next_followup_due_at": values["next_due_at"],
            "effective_probability": probability.percent,
            "weighted_value": weigh(values["estimated_value"], probability.percent),
            "email_address": lead_address(int(values["id"])),
        }
    )


class _Values(dict[str, Any]):
    """A row's values read as attributes too (what the probability rules read)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:  # what ``getattr``/``hasattr`` expect of a missing attribute
            raise AttributeError(name) from None


def rows_out(session: Session, rows: Iterable[Any]) -> list[LeadOut]:
    """Rows of :func:`lead_columns` (and anything after them) as the API shows leads."""
    rows = list(rows)
    defaults = stage_probabilities(session) if rows else {}
    return [_out(_Values(row._mapping), _ids(row.watcher_ids), defaults) for row in rows]


def lead_out(session: Session, leads: list[Lead]) -> list[LeadOut]:
    """ORM leads (as a write leaves them) as the API shows leads: their watchers in one query."""
    watchers = links_of(session, LeadWatcher, "lead_id", "user_id", [pk(lead) for lead in leads])
    defaults = stage_probabilities(session) if leads else {}
    return [_out(_columns_of(lead), watchers.get(pk(lead), []), defaults) for lead in leads]


def _columns_of(lead: Lead) -> _Values:
    """The lead's columns, read through the object (so that those a commit or a trigger
    expired are loaded again, as ``next_due_at`` after a follow-up changed)."""
    return _Values({column.key: getattr(lead, column.key) for column in LEAD_TABLE.c})


# One lead by id, for an administrator or for anyone else: built once per database kind
# (SQLAlchemy then finds its compiled form without making the statement's key again).
_ONE_LEAD: dict[tuple[str, bool], Any] = {}


def _one_lead_statement(session: Session, admin: bool) -> Any:
    kind = (session.get_bind().dialect.name, admin)
    statement = _ONE_LEAD.get(kind)
    if statement is None:
        visible = sa.true() if admin else visible_to_viewer(sa.bindparam("viewer"))
        statement = _ONE_LEAD[kind] = sa.select(*lead_columns(session)).where(
            LEAD_TABLE.c.id == sa.bindparam("lead_id"), visible
        )
    return statement


def read_lead(session: Session, user: User, lead_id: int) -> LeadOut | None:
    """The lead as the API shows it if ``user`` may see it, in one statement; else ``None``."""
    admin = user.role == Role.ADMIN
    values = {"lead_id": lead_id} if admin else {"lead_id": lead_id, "viewer": user.id}
    row = session.connection().execute(_one_lead_statement(session, admin), values).first()
    return None if row is None else rows_out(session, [row])[0]
