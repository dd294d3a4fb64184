"""A real Celery worker process runs tasks in the app context, over Redis or SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm.core.state import get_state
from tests.conftest import TEST_REDIS_URL, make_test_app

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MAIL_URL")}
    full.update(env)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=full,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def worker_env(tmp_path: Path, database_url: str, backend: str) -> Iterator[dict[str, str]]:
    """The embedded broker for SQLite; Redis (when given) with PostgreSQL."""
    env = {"JISR_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url}
    if backend == "postgresql":
        if not TEST_REDIS_URL:
            pytest.skip("the PostgreSQL worker suite runs over Redis: set REDIS_URL")
        env["REDIS_URL"] = TEST_REDIS_URL
    yield env


def _celery_for(env: dict[str, str]) -> Any:
    from crm.config import load_settings
    from workers.celery_app import celery_init_app

    settings = load_settings(env)
    app = make_test_app(env["DATABASE_URL"], BROKER_URL=settings.broker_url, RESULT_BACKEND=settings.result_backend)
    return app, celery_init_app(app)


def test_worker_round_trips_a_task(worker_env: dict[str, str], tmp_path: Path) -> None:
    app, celery = _celery_for(worker_env)
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
