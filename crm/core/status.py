"""What the admin status page shows: is beat alive, how far behind is the relay, how
deep is the queue, and how is the mail going."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from crm.core.broker import queue_depth
from crm.core.events import Event
from crm.core.ledger import OutboundMail, counts_by_status, last_errors, retry_failed
from crm.core.outbox import oldest_unpublished
from crm.core.state import get_state
from crm.core.time import utcnow


@dataclass
class SystemStatus:
    last_beat: datetime | None
    oldest_unpublished: datetime | None
    relay_lag_seconds: float | None
    queue_depths: dict[str, int | None]  # by queue name (one queue with the embedded broker)
    mail_counts: dict[str, int]
    mail_errors: list[OutboundMail]


def queues_of(celery: Any) -> list[str]:
    """The queues the Celery app declares (its default one when it declares none)."""
    declared = celery.conf.task_queues or []
    return [q.name for q in declared] or [celery.conf.task_default_queue]


def system_status(session: Session, broker_url: str, queues: list[str]) -> SystemStatus:
    tick = get_state(session, "beat.last_tick")
    oldest = oldest_unpublished(session)
    return SystemStatus(
        last_beat=tick.updated_at if tick else None,
        oldest_unpublished=oldest,
        relay_lag_seconds=(utcnow() - oldest).total_seconds() if oldest else None,
        queue_depths={queue: queue_depth(broker_url, queue) for queue in queues},
        mail_counts=counts_by_status(session),
        mail_errors=last_errors(session),
    )


def retry_failed_mail(session: Session, *, actor: Any) -> list[int]:
    """An admin sends failed mail again; recorded as an event. The caller commits."""
    ids = retry_failed(session)
    if ids:
        session.add(
            Event(
                type="mail.retry_requested",
                payload={"mail_ids": ids},
                actor_id=getattr(actor, "id", None),
                entity_type="outbound_mail",
                entity_id=ids[0] if len(ids) == 1 else None,
            )
        )
    return ids
