"""Read models kept per lead (the summaries, Today's feed), in step with the events.

A feature keeps such a model with ``sync(session, lead_ids)``, which brings the model of
those leads in line with their rows whatever happened and however often it runs.
:func:`kept_per_lead` runs it twice over: in the transaction that records events of the
given types about leads, just before it commits (read your writes: a page read right
after the change shows it, and a rolled-back change never shows), and as the consumer
``name`` of those events (exactly once per event: the guarantee for events written
without a session's flush, and the repair of what a transaction alongside left)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event

Sync = Callable[[Any, Iterable[int]], None]


@dataclass(frozen=True)
class KeptPerLead:
    """The two ways a model is kept: the consumer's handler and the session hook."""

    consume: Callable[[Any, Event], None]
    before_commit: Callable[[Session], None]


def kept_per_lead(name: str, event_types: Iterable[str], sync: Sync) -> KeptPerLead:
    """Keep a per-lead model with ``sync`` on the events of ``event_types`` (``"*"``: all)."""
    types = frozenset(event_types)
    pending = f"jisr.{name}.pending"

    def wanted(event: Event) -> bool:
        return event.lead_id is not None and ("*" in types or event.type in types)

    @consumer(name, *sorted(types))
    def follow(session: Any, event: Event) -> None:
        if event.lead_id is not None:
            sync(session, [event.lead_id])

    @sa.event.listens_for(Session, "after_flush")
    def _note_leads(session: Session, _context: Any) -> None:
        for obj in session.new:
            if isinstance(obj, Event) and wanted(obj):
                session.info.setdefault(pending, set()).add(int(obj.lead_id or 0))

    @sa.event.listens_for(Session, "after_rollback")
    def _forget_leads(session: Session) -> None:
        session.info.pop(pending, None)

    @sa.event.listens_for(Session, "before_commit")
    def _sync_before_commit(session: Session) -> None:
        session.flush()  # the events still pending are noted by the flush
        lead_ids = session.info.pop(pending, None)
        if lead_ids:
            sync(session, lead_ids)

    return KeptPerLead(follow, _sync_before_commit)
