"""A real Celery worker process runs tasks in the app context, over Redis or SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.core.state import get_state
from tests.conftest import TEST_REDIS_URL
from tests.processes import app_for, start_worker, stop

pytestmark = pytest.mark.slow


@pytest.fixture
def worker_env(tmp_path: Path, database_url: str, backend: str) -> Iterator[dict[str, str]]:
    """The embedded broker for SQLite; Redis (when given) with PostgreSQL."""
    env = {"JISR_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url}
    if backend == "postgresql":
        if not TEST_REDIS_URL:
            pytest.skip("the PostgreSQL worker suite runs over Redis: set REDIS_URL")
        env["REDIS_URL"] = TEST_REDIS_URL
    yield env


def test_worker_round_trips_a_task(worker_env: dict[str, str], tmp_path: Path) -> None:
    app = app_for(worker_env)
    celery = app.extensions["celery"]
    log = tmp_path / "worker.log"
    process = start_worker(worker_env, log)
    try:
        token = uuid.uuid4().hex
        result = celery.send_task("crm.core.ping", args=[token]).get(timeout=90)
    except Exception:
        print(log.read_text(errors="replace"))
        raise
    finally:
        stop(process)
    expected = "postgresql" if worker_env["DATABASE_URL"].startswith("postgresql") else "sqlite"
    assert result == {"token": token, "database": expected}
    with app.app_context():
        from crm.core.db import db

        assert get_state(db.session, f"ping:{token}") is not None
    if "REDIS_URL" in worker_env:
        assert "redis://" in log.read_text(errors="replace")


def test_delivered_messages_of_the_embedded_broker_are_purged(tmp_path: Path, backend: str) -> None:
    """kombu's SQLAlchemy transport keeps delivered messages; the hourly job deletes old ones."""
    if backend != "sqlite":
        pytest.skip("the embedded broker is SQLite only")
    from datetime import timedelta

    import sqlalchemy as sa
    from kombu import Connection

    from crm.core.broker import purge_delivered_messages

    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    with Connection(url) as conn:
        queue = conn.SimpleQueue("purge-test")
        for n in range(3):
            queue.put({"n": n})
        for _ in range(2):
            queue.get(timeout=5).ack()
        queue.close()
    assert purge_delivered_messages(url, older_than=timedelta(hours=1)) == 0
    assert purge_delivered_messages(url, older_than=timedelta(seconds=-5)) == 2
    engine = sa.create_engine(url.removeprefix("sqla+"))
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM kombu_message")).scalar() == 1
    engine.dispose()
