"""``make run``: check the servers, migrate, load the demo mission into an empty database,
then run the web server, a Celery worker, Celery beat and the inbound SMTP service
together until Ctrl-C.

The same three processes run against PostgreSQL, Redis and SMTP when ``DATABASE_URL``,
``REDIS_URL`` and ``MAIL_URL`` are set. One that crashes is started again (see
``crm.supervisor``); the other two keep running.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from sqlmodel import func, select

from crm.config import PROJECT_ROOT
from crm.core.preflight import check_at_start, one_line_on_bad_setup
from crm.supervisor import Supervisor


def prepare() -> tuple[str, bool]:
    """Check the settings and servers (one line and exit code 2 if they are wrong), then
    migrate and load the demo into an empty database."""
    from crm import create_app

    with one_line_on_bad_setup():
        check_at_start()
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


def commands(port: str, instance_path: str) -> dict[str, list[str]]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "workers.celery_app"]
    return {
        "web": [
            python, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--threads", "4", "--access-logfile", "-",
        ],
        "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [
            *celery, "beat", "--loglevel=INFO", "--schedule", os.path.join(instance_path, "celerybeat-schedule"),
        ],
        "inbound-smtp": [python, "-m", "flask", "--app", "wsgi", "crm", "inbound-smtp"],
    }  # fmt: skip


def login_lines(url: str) -> list[str]:
    """The address and every demo login (the README lists the same)."""
    from crm.demo import DEMO_PASSWORD, DEMO_USERS

    lines = [f"  Jisr is running at {url}  (Ctrl-C stops web, worker and beat)"]
    bind = os.environ.get("INBOUND_SMTP_BIND", "127.0.0.1:2525")
    domain = os.environ.get("INBOUND_DOMAIN", "inbound.localhost")
    lines.append(f"  Inbound mail for *@{domain} is received on smtp://{bind}")
    lines.append("  Demo logins:")
    lines += [f"    {role:8} {email:28} password {DEMO_PASSWORD}" for email, role in DEMO_USERS]
    return lines


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - our own http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def announce_when_up(
    url: str, *, timeout: float = 120.0, say: Callable[[str], None] = print, every: float = 0.25
) -> bool:
    """Wait for the web server to answer, then print the address and the demo logins (after
    the servers' own start-up lines, where they are seen); say so if it never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(url):
            say("\n" + "\n".join(login_lines(url)) + "\n")
            return True
        time.sleep(every)
    say(f"  Jisr did not answer at {url} after {timeout:g} s: see the log above.")
    return False


def main() -> int:
    instance_path, _loaded_demo = prepare()
    port = os.environ.get("PORT", "5000")
    supervisor = Supervisor(commands(port, instance_path), cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    threading.Thread(
        target=announce_when_up, args=(url,), kwargs={"say": lambda text: print(text, flush=True)}, daemon=True
    ).start()
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
