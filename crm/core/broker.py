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
