"""Real processes for integration tests: Celery workers and private Redis servers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import make_test_app

ROOT = Path(__file__).resolve().parent.parent
SERVER_VARIABLES = ("DATABASE_URL", "REDIS_URL", "MAIL_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_worker(
    env: dict[str, str],
    log: Path,
    *,
    concurrency: int = 1,
    app: str = "workers.celery_app",
    clock: datetime | None = None,
    queues: str | None = None,
) -> subprocess.Popen[bytes]:
    """A ``celery worker`` process configured only by ``env`` (like production); ``app``
    names the Celery application module (a test may bring its own ``create_app`` config);
    with ``clock``, its clock starts at that instant (see ``tests/clock.py``)."""
    full = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    full.update(env)
    pool = ["--pool=solo"] if concurrency == 1 else ["--pool=prefork", f"--concurrency={concurrency}"]
    at = ["tests.clock", clock.isoformat()] if clock is not None else []
    only = ["-Q", queues] if queues else []
    return subprocess.Popen(
        [sys.executable, "-m", *at, "celery", "-A", app, "worker", *pool, *only,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=ROOT, env=full, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def start_beat(
    env: dict[str, str], log: Path, schedule: Path, *, app: str = "workers.celery_app"
) -> subprocess.Popen[bytes]:
    """A ``celery beat`` process configured only by ``env``, keeping its state in ``schedule``."""
    full = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    full.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app, "beat", "--loglevel=INFO", "--schedule", str(schedule)],
        cwd=ROOT, env=full, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    if kill:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def app_for(env: dict[str, str], **overrides: Any) -> Any:
    """An app in the test process that talks to the same database and broker as ``env``."""
    from crm.config import load_settings

    settings = load_settings(env)
    return make_test_app(
        env["DATABASE_URL"],
        BROKER_URL=settings.broker_url,
        RESULT_BACKEND=settings.result_backend,
        **{**settings.extra, **overrides},
    )


class RedisServer:
    """A private ``redis-server`` on a free port (never the machine's shared one)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
