"""How long Jisr keeps what it no longer needs, applied every night by beat.

Each setting is a number of days (hours for the broker); ``0`` keeps for ever.  The event
log is the audit trail: it is kept unless an administrator sets ``EVENT_RETENTION_DAYS``.

- delivered and failed mail keep their row (recipient, subject, status: the ledger stays
  whole, and its keys still stop a second send) but lose their bodies and attachments;
- finished webhook deliveries and their attempts go;
- the files (and planned previews) of finished, reverted, failed or cancelled imports go;
  the import's log of rows stays;
- notifications go;
- the entries of Today's feeds older than the window it lists go (always, no setting;
  named in what a run removed only when there were some);
- the embedded broker's delivered messages go;
- events go only with ``EVENT_RETENTION_DAYS``, and only those every consumer has handled
  (their consumer records and webhook deliveries go with them).

Each run records one ``retention.applied`` event with what it removed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail
from crm.core.time import utcnow

# Setting → default.
DEFAULTS: dict[str, int] = {
    "MAIL_BODY_RETENTION_DAYS": 90,
    "WEBHOOK_LOG_RETENTION_DAYS": 30,
    "IMPORT_FILE_RETENTION_DAYS": 30,
    "NOTIFICATION_RETENTION_DAYS": 180,
    "BROKER_RETENTION_HOURS": 1,
    "EVENT_RETENTION_DAYS": 0,
}
ERASED_BODY = ""


def _cutoff(config: Any, name: str, now: datetime) -> datetime | None:
    value = int(config.get(name, DEFAULTS[name]))
    if value <= 0:
        return None
    unit = timedelta(hours=value) if name.endswith("_HOURS") else timedelta(days=value)
    return now - unit


def _mail_bodies(session: Session, before: datetime) -> int:
    done = [MailStatus.SENT, MailStatus.FAILED]
    result = session.execute(
        sa.update(OutboundMail)
        .where(
            col(OutboundMail.status).in_(done),
            sa.func.coalesce(OutboundMail.sent_at, OutboundMail.created_at) < before,
            sa.or_(col(OutboundMail.text_body) != ERASED_BODY, col(OutboundMail.html_body) != ERASED_BODY),
        )
        .values(text_body=ERASED_BODY, html_body=ERASED_BODY, attachments=[])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _import_files(session: Session, before: datetime) -> int:
    from crm.exchange.models import DataImport, ImportFile, ImportPlanRow, ImportStatus

    ended = [ImportStatus.COMPLETED, ImportStatus.REVERTED, ImportStatus.FAILED, ImportStatus.CANCELLED]
    old = select(DataImport.id).where(
        col(DataImport.status).in_(ended),
        sa.func.coalesce(DataImport.finished_at, DataImport.created_at) < before,
    )
    session.execute(sa.delete(ImportPlanRow).where(col(ImportPlanRow.data_import_id).in_(old.scalar_subquery())))
    result = session.execute(sa.delete(ImportFile).where(col(ImportFile.data_import_id).in_(old.scalar_subquery())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _notifications(session: Session, before: datetime) -> int:
    from crm.notifications.models import Notification

    result = session.execute(sa.delete(Notification).where(col(Notification.created_at) < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _feed(session: Session, now: datetime) -> int:
    from crm.feed.rebuild import prune

    return prune(session.connection(), now=now)


def _events(session: Session, before: datetime) -> int:
    """Old, published events that every consumer wanting them has handled (their consumer
    records and webhook deliveries go with them, by the foreign keys' cascade)."""
    from crm.core.consumers import ConsumedEvent, load_consumers

    handled: list[Any] = []
    for consumer in load_consumers().values():
        done = (
            select(ConsumedEvent.event_id)
            .where(ConsumedEvent.event_id == Event.id, ConsumedEvent.consumer == consumer.name)
            .exists()
        )
        if "*" in consumer.event_types:
            handled.append(done)
        else:
            handled.append(sa.or_(col(Event.type).not_in(sorted(consumer.event_types)), done))
    result = session.execute(
        sa.delete(Event).where(col(Event.occurred_at) < before, col(Event.published_at).is_not(None), *handled)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def apply_retention(
    session: Session, config: Any, broker_url: str | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Remove what the settings no longer keep; record what was removed; commit."""
    from crm.webhooks.ledger import purge_finished

    now = now or utcnow()
    removed: dict[str, int] = {}
    if before := _cutoff(config, "MAIL_BODY_RETENTION_DAYS", now):
        removed["mail_bodies"] = _mail_bodies(session, before)
    if before := _cutoff(config, "IMPORT_FILE_RETENTION_DAYS", now):
        removed["import_files"] = _import_files(session, before)
    if before := _cutoff(config, "NOTIFICATION_RETENTION_DAYS", now):
        removed["notifications"] = _notifications(session, before)
    if pruned := _feed(session, now):
        removed["feed_entries"] = pruned
    if before := _cutoff(config, "EVENT_RETENTION_DAYS", now):
        removed["events"] = _events(session, before)
    session.add(Event(type="retention.applied", payload={"removed": removed}, entity_type="system_state"))
    session.commit()
    if cutoff := _cutoff(config, "WEBHOOK_LOG_RETENTION_DAYS", now):
        removed["webhook_deliveries"] = purge_finished(session, older_than=now - cutoff)
    if broker_url and broker_url.startswith("sqla+") and (cutoff := _cutoff(config, "BROKER_RETENTION_HOURS", now)):
        from crm.core.broker import purge_delivered_messages

        removed["broker_messages"] = purge_delivered_messages(broker_url, older_than=now - cutoff)
    return removed
