"""Tasks: thin wrappers that take ids and primitives and run inside the app context."""

from __future__ import annotations

from celery import shared_task

from crm.core.db import db
from crm.core.state import put_state
from crm.core.time import utcnow


@shared_task(name="crm.core.ping", ignore_result=False)
def ping(token: str) -> dict[str, str]:
    """Round trip through broker, worker, database and result backend."""
    with db.transaction() as session:
        put_state(session, f"ping:{token}", utcnow().isoformat())
    return {"token": token, "database": db.engine.dialect.name}


@shared_task(name="crm.core.beat_tick")
def beat_tick() -> None:
    """Records that beat and a worker are alive (shown on the admin status page)."""
    with db.transaction() as session:
        put_state(session, "beat.last_tick", utcnow().isoformat())


@shared_task(name="crm.core.purge_embedded_broker")
def purge_embedded_broker() -> int:
    """The embedded (SQLite) broker keeps delivered messages; drop the old ones."""
    from flask import current_app

    from crm.core.broker import purge_delivered_messages

    return purge_delivered_messages(current_app.config["BROKER_URL"])


@shared_task(name="crm.core.apply_retention")
def apply_retention() -> dict[str, int]:
    """Every night: remove what the retention settings no longer keep."""
    from flask import current_app

    from crm.system.retention import apply_retention as apply

    return apply(db.session, current_app.config, current_app.config["BROKER_URL"])
