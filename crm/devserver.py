"""``make run``: migrate, load the demo mission into an empty database, then run the web
server, a Celery worker and Celery beat together until Ctrl-C.

The same three processes run against PostgreSQL, Redis and SMTP when ``DATABASE_URL``,
``REDIS_URL`` and ``MAIL_URL`` are set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from sqlmodel import func, select

from crm import create_app
from crm.config import ConfigError
from crm.core.time import StaleTimeZoneData


def _prepare() -> tuple[str, bool]:
    app = create_app()
    from crm.accounts.models import User
    from crm.core.db import db
    from crm.core.migrate import upgrade
    from crm.demo import load_demo

    upgrade(app.config["DATABASE_URL"])
    with app.app_context():
        empty = db.session.exec(select(func.count()).select_from(User)).one() == 0
        if empty:
            with db.transaction() as session:
                print(load_demo(session).summary())
    return app.instance_path, empty


def main() -> int:
    try:
        instance_path, loaded_demo = _prepare()
    except (ConfigError, StaleTimeZoneData) as exc:
        print(f"jisr: {exc}", file=sys.stderr)
        return 2
    from crm.demo import DEMO_PASSWORD, DEMO_USERS

    port = os.environ.get("PORT", "5000")
    python = sys.executable
    commands = {
        "web": [
            python,
            "-m",
            "gunicorn",
            "wsgi:app",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ],
        "worker": [python, "-m", "celery", "-A", "workers.celery_app", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [
            python,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "beat",
            "--loglevel=INFO",
            "--schedule",
            os.path.join(instance_path, "celerybeat-schedule"),
        ],
    }
    processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}  # noqa: S603

    print(f"\n  Jisr is running at http://127.0.0.1:{port}  (Ctrl-C stops web, worker and beat)")
    if loaded_demo:
        print(f"  Demo logins (password {DEMO_PASSWORD}):")
        for email, role in DEMO_USERS:
            print(f"    {role:8} {email}")
    print()

    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(
                    f"jisr: the {name} process stopped (exit code {process.returncode}); stopping all", file=sys.stderr
                )
                stopping, code = True, 1
        time.sleep(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
