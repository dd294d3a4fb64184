"""A lead's next follow-up, ``lead.next_due_at``: the earliest due instant of its open
follow-ups, stored on the lead so that the lists sort by it through an index.

The database keeps it: triggers on ``followup`` (migration c2d7e4a9f1b3) recompute it in
the statement that inserts, completes, cancels, reschedules, reopens, moves or deletes a
follow-up, whoever writes (an operation, an import, a bulk statement, a lead's deletion).
Here are what the ORM holds of it, a check against the follow-ups and a repair
(``crm summaries check`` and ``rebuild``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, func, select

from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Lead

_TOUCHED = "jisr_next_due_leads"


def live_next_due() -> Any:
    """The earliest open follow-up of the outer ``Lead``, computed now (a correlated subquery)."""
    return (
        select(func.min(FollowUp.due_at))
        .where(FollowUp.lead_id == Lead.id, FollowUp.status == FollowUpStatus.OPEN)
        .correlate(Lead)  # type: ignore[arg-type]
        .scalar_subquery()
    )


@sa.event.listens_for(Session, "before_flush")
def _note_leads(session: Session, _context: Any, _instances: Any) -> None:
    """The leads whose follow-ups this flush writes (before and after a move)."""
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, FollowUp):
            touched = session.info.setdefault(_TOUCHED, set())
            history = sa.inspect(obj).attrs.lead_id.history
            touched.update(i for i in chain([obj.lead_id], history.deleted) if i is not None)


@sa.event.listens_for(Session, "after_flush_postexec")
def _expire_next_due(session: Session, _context: Any) -> None:
    """The leads this session holds read their next follow-up again, as the triggers left it
    (sessions keep their objects across commits)."""
    for lead_id in session.info.pop(_TOUCHED, ()):
        lead = session.identity_map.get(identity_key(Lead, (int(lead_id),)))
        if lead is not None:
            session.expire(lead, ["next_due_at"])


@sa.event.listens_for(Session, "do_orm_execute")
def _expire_after_bulk(state: Any) -> None:
    """A bulk ``UPDATE`` or ``DELETE`` of follow-ups through the session: every lead it holds
    reads its next follow-up again (which leads the statement reaches is not known here)."""
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ is FollowUp:
        for obj in list(state.session.identity_map.values()):
            if isinstance(obj, Lead):
                state.session.expire(obj, ["next_due_at"])


@dataclass(frozen=True)
class NextDueDifference:
    lead_id: int
    kept: datetime | None
    expected: datetime | None


def _earliest() -> Any:
    return (
        select(col(FollowUp.lead_id).label("lead_id"), func.min(FollowUp.due_at).label("at"))
        .where(FollowUp.status == FollowUpStatus.OPEN)
        .group_by(col(FollowUp.lead_id))
        .subquery("earliest")
    )


def next_due_differences(connection: sa.Connection) -> list[NextDueDifference]:
    """The leads whose stored next follow-up is not their open follow-ups' earliest (one
    query: the follow-ups grouped once and joined to the leads)."""
    earliest = _earliest()
    lead = Lead.__table__  # type: ignore[attr-defined]
    rows = connection.execute(
        sa.select(lead.c.id, lead.c.next_due_at, earliest.c.at)
        .outerjoin(earliest, earliest.c.lead_id == lead.c.id)
        .where(lead.c.next_due_at.is_distinct_from(earliest.c.at))
        .order_by(lead.c.id)
    ).all()
    return [NextDueDifference(int(row[0]), row[1], row[2]) for row in rows]


def repair_next_due(connection: sa.Connection) -> int:
    """Set every lead's next follow-up that differs from its follow-ups (in the caller's
    transaction); how many leads changed.  On PostgreSQL each lead is recomputed as the
    triggers do (the lead locked first), so a follow-up changed meanwhile is not missed."""
    wrong = [d.lead_id for d in next_due_differences(connection)]
    if not wrong:
        return 0
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT lead_next_due_refresh(x) FROM unnest(CAST(:ids AS integer[])) AS x"), {"ids": wrong}
        )
    else:
        lead = Lead.__table__  # type: ignore[attr-defined]
        live = (
            sa.select(func.min(FollowUp.due_at))
            .where(col(FollowUp.lead_id) == lead.c.id, col(FollowUp.status) == FollowUpStatus.OPEN)
            .scalar_subquery()
        )
        connection.execute(sa.update(lead).where(lead.c.id.in_(wrong)).values(next_due_at=live))
    return len(wrong)
