"""Housekeeping for the embedded broker: kombu's SQLAlchemy transport never deletes the
messages it has delivered, so the table would grow without end."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa


def purge_delivered_messages(broker_url: str, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete delivered (invisible) messages older than ``older_than``; return how many."""
    if not broker_url.startswith("sqla+"):
        return 0
    engine = sa.create_engine(broker_url.removeprefix("sqla+"), poolclass=sa.pool.NullPool)
    try:
        if not sa.inspect(engine).has_table("kombu_message"):
            return 0
        # kombu stamps a message with the machine's naive local time when it is delivered.
        cutoff = datetime.now() - older_than
        with engine.begin() as conn:
            result = conn.execute(
                sa.text("DELETE FROM kombu_message WHERE visible = :no AND timestamp < :cutoff"),
                {"no": False, "cutoff": cutoff},
            )
        return int(result.rowcount or 0)
    finally:
        engine.dispose()


def queue_depth(broker_url: str, queue: str = "celery") -> int | None:
    """Messages waiting in the default queue, or ``None`` when the broker cannot be read."""
    try:
        if broker_url.startswith(("redis://", "rediss://")):
            import redis

            client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
            try:
                return int(client.llen(queue))  # type: ignore[arg-type]
            finally:
                client.close()
        if broker_url.startswith("sqla+"):
            engine = sa.create_engine(broker_url.removeprefix("sqla+"), poolclass=sa.pool.NullPool)
            try:
                if not sa.inspect(engine).has_table("kombu_message"):
                    return 0
                with engine.connect() as conn:
                    return int(
                        conn.execute(
                            sa.text("SELECT count(*) FROM kombu_message WHERE visible = :yes"), {"yes": True}
                        ).scalar()
                        or 0
                    )
            finally:
                engine.dispose()
    except Exception:
        return None
    return None
