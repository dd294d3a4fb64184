"""Test fixtures: every database test runs on SQLite and, when ``DATABASE_URL`` names a
PostgreSQL server, on PostgreSQL too; ``REDIS_URL`` adds the Redis suite.

The server URLs are taken out of the environment here, so that each app a test creates
is configured explicitly and nothing reaches the machine's shared databases by accident.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests import compiled


def _per_test_process(redis_url: str | None) -> str | None:
    """Under pytest-xdist each test process gets its own Redis database, so that the real
    workers one process starts never take another process's Celery messages."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not redis_url or not worker.startswith("gw"):
        return redis_url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(redis_url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + 1 + int(worker[2:])) % 16}"))


def _server_url(name: str) -> str | None:
    """Taken out of the environment (apps only see what a test gives them), and kept under
    a name Jisr does not read, for pytest-xdist's test processes started after this import."""
    url = os.environ.pop(name, None) or os.environ.get(f"JISR_TEST_{name}")
    if url:
        os.environ[f"JISR_TEST_{name}"] = url
    return url


TEST_PG_URL = _server_url("DATABASE_URL")
TEST_REDIS_URL = _per_test_process(_server_url("REDIS_URL"))
os.environ.pop("MAIL_URL", None)
os.environ.pop("SECRET_KEY", None)

BACKENDS = ["sqlite"] + (["postgresql"] if TEST_PG_URL else [])
compiled.install()


def _check_servers() -> None:
    """With a server named, it must answer: the suite fails rather than skips."""
    if TEST_PG_URL:
        from crm.config import normalise_database_url

        try:
            engine = sa.create_engine(normalise_database_url(TEST_PG_URL))
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # pragma: no cover - environment failure
            pytest.exit(f"DATABASE_URL={TEST_PG_URL} does not answer: {exc}", returncode=3)
    if TEST_REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=3).ping()
        except Exception as exc:  # pragma: no cover - environment failure
            pytest.exit(f"REDIS_URL={TEST_REDIS_URL} does not answer: {exc}", returncode=3)


def pytest_sessionstart(session: pytest.Session) -> None:
    _check_servers()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that start processes run first (otherwise in their order): pytest-xdist
    hands tests out one by one as its processes ask, so the long ones are spread over them
    from the start rather than left at the end for one process while the other idles."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def instance_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    os.environ["JISR_INSTANCE_PATH"] = str(path)
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, instance_root: Path) -> Path:
    """A migrated SQLite file, copied for each test."""
    from crm.core.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "jisr.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database(instance_root: Path) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated, dropped at the end."""
    if not TEST_PG_URL:
        pytest.skip("PostgreSQL suite needs DATABASE_URL")
    from crm.config import normalise_database_url
    from crm.core.migrate import upgrade

    server = sa.engine.make_url(normalise_database_url(TEST_PG_URL))
    name = f"jisr_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    sa.engine.create_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Restarts the sequences owned by the tables' columns (those ``TRUNCATE ... RESTART IDENTITY``
# restarts) that were used: ``pg_sequence_last_value`` is NULL until the first ``nextval``.
_RESTART_USED_SEQUENCES = """
SELECT setval(s.seqrelid, s.seqstart, false)
FROM pg_sequence s
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
WHERE d.refobjid = ANY(CAST(:tables AS regclass[])) AND pg_sequence_last_value(s.seqrelid) IS NOT NULL
"""


def _truncate_all(url: str) -> None:
    """Every table empty and its identity restarted, as ``TRUNCATE ... RESTART IDENTITY``
    leaves them. TRUNCATE gives each table and index new files, which costs a second or
    more for all the tables; most tests write a few rows to a few tables, so only the
    tables holding rows are emptied, by DELETE (children first), and only the used
    sequences restarted. Anything DELETE cannot do (a foreign key cycle) falls back to
    TRUNCATE."""
    from sqlmodel import SQLModel

    import crm.models  # noqa: F401

    tables = SQLModel.metadata.sorted_tables
    names = [f'"{t.name}"' for t in tables]
    probe = " UNION ALL ".join(f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {name})" for i, name in enumerate(names))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            holding = set(conn.execute(sa.text(probe)).scalars())
            for i in sorted(holding, reverse=True):
                conn.execute(sa.text(f"DELETE FROM {names[i]}"))
            conn.execute(sa.text(_RESTART_USED_SEQUENCES), {"tables": names})
    except sa.exc.IntegrityError:
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "jisr.sqlite"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_all(url)
    return url


def make_test_app(database_url: str, **overrides: Any) -> Any:
    from crm import create_app

    config = {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RELAY_KICK": False,
        "SERVER_NAME": "jisr.test",
        **overrides,
    }
    app = create_app(config)
    compiled.share_templates(app)
    return app


@pytest.fixture
def app(database_url: str, instance_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    application = make_test_app(database_url)
    yield application
    application.extensions["jisr.db"][0].dispose()


@pytest.fixture
def session(app: Any) -> Iterator[Any]:
    """The app's database session inside an app context."""
    from crm.core.db import db

    with app.app_context():
        yield db.session


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture(autouse=True)
def no_mail_leaves_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may speak SMTP only to servers on this machine (an in-process aiosmtpd sink)."""
    import smtplib

    real_connect = smtplib.SMTP.connect

    def guarded(self: smtplib.SMTP, host: str = "localhost", port: int = 0, source_address: Any = None) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"a test tried to send mail to {host}:{port}")
        return real_connect(self, host, port, source_address)

    monkeypatch.setattr(smtplib.SMTP, "connect", guarded)


@pytest.fixture(autouse=True)
def fresh_estimates() -> None:
    """A process reuses a planner's estimate for a while; each test's data is its own."""
    from crm.core import counting

    counting._ESTIMATES.clear()


@pytest.fixture
def spine(tmp_path: Path, database_url: str, backend: str) -> Iterator[dict[str, Any]]:
    """Environment for real worker processes and an app in this process sharing their
    database and broker (the embedded SQLite broker, or Redis with PostgreSQL)."""
    env = {
        "JISR_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "MAIL_LEASE_SECONDS": "4",
        "MAIL_RETRY_BASE_SECONDS": "0.2",
        "EVENT_REDELIVERY_AFTER_SECONDS": "3",
    }
    if backend == "postgresql":
        if not TEST_REDIS_URL:
            pytest.skip("the PostgreSQL suite runs its workers over Redis: set REDIS_URL")
        env["REDIS_URL"] = TEST_REDIS_URL
    yield env


@pytest.fixture(autouse=True)
def no_webhook_leaves_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may post webhooks only to receivers on this machine."""
    from crm.webhooks import transport

    real_open = transport.open_socket

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        if address[0] not in ("127.0.0.1", "::1"):
            raise AssertionError(f"a test tried to post a webhook to {address[0]}:{address[1]}")
        return real_open(address, *args, **kwargs)

    monkeypatch.setattr(transport, "open_socket", guarded)
