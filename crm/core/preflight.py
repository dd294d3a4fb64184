"""Before a process starts work: do its servers answer?

Every process Jisr runs (the web server, Celery workers, beat, the administration
commands, ``make run``) checks at start, within a few seconds, that it can reach the
database and, when ``REDIS_URL`` is set, Redis. When one does not answer, the process
prints one line naming the variable, the address and the reason, and exits with code 2::

    jisr: DATABASE_URL: cannot connect to 127.0.0.1:1 (connection refused)

rather than a page of traceback, or a worker that waits forever for its broker. A server
that goes away later is another matter: the engine reconnects and Celery retries.

The mail server is not asked: mail waits in the ledger and is retried, so a mail server
that is down at start delays mail but does not stop Jisr (``crm check`` greets it). A
malformed ``MAIL_URL`` is already refused by the settings.

Only process entry points call this; ``create_app`` does not, so tests that build apps
never wait for a server.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import sqlalchemy as sa

from crm.config import ConfigError, Settings, load_settings
from crm.core.time import StaleTimeZoneData, check_tzdata

CONNECT_TIMEOUT = 3.0  # seconds a server has to answer at start
CONFIGURATION_EXIT_CODE = 2  # a bad setting or a dead server: a supervisor soon stops restarting

# Driver messages, from psycopg/libpq and redis-py, to a reason in a few words.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'(?:database|role) "[^"]*" does not exist'), ""),  # kept as the server says it
    (re.compile(r"connection refused", re.I), "connection refused"),
    (
        re.compile(
            r"failed to resolve host|name or service not known|temporary failure in name resolution|"
            r"nodename nor servname|no address associated with hostname|could not translate host name",
            re.I,
        ),
        "name not resolved",
    ),
    (re.compile(r"timeout|timed out", re.I), "timed out"),
    (
        re.compile(
            r"password authentication failed|authentication failed|no password supplied|"
            r"invalid username-password|wrongpass|noauth|auth.*without any password",
            re.I,
        ),
        "authentication failed",
    ),
    (re.compile(r"no pg_hba\.conf entry", re.I), "refused by the server's pg_hba.conf"),
    (re.compile(r"network is unreachable", re.I), "network unreachable"),
    (re.compile(r"no route to host", re.I), "no route to host"),
    (re.compile(r"too many (?:clients|connections)|remaining connection slots", re.I), "too many connections"),
    (re.compile(r"the database system is (?:starting up|shutting down|in recovery mode)"), ""),
)


def _reason(exc: BaseException, password: str | None = None) -> str:
    """What went wrong in a few words; never the password."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    message = " ".join(str(exc).split())
    for pattern, reason in _REASONS:
        found = pattern.search(message)
        if found:
            return reason or found.group(0)
    # Unknown: the server's own words, after libpq's "connection to server … failed:".
    detail = message.rsplit("failed: ", 1)[-1].removeprefix("FATAL: ").strip().rstrip(".")
    detail = detail or type(exc).__name__
    if password:
        detail = detail.replace(password, "***")
    return detail[:160]


def _within(seconds: float, attempt: Callable[[], object]) -> None:
    """Run ``attempt``, raising what it raises, or :class:`TimeoutError` after ``seconds``
    (a name lookup has no timeout of its own)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            attempt()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, name="jisr-preflight", daemon=True)
    thread.start()
    thread.join(seconds)
    if not outcome:
        raise TimeoutError
    if outcome[0] is not None:
        raise outcome[0]


def _sqlite(path: str) -> None:
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    folder = file.parent
    if not folder.is_dir():
        raise ConfigError(f"DATABASE_URL: cannot open {file} (folder {folder} does not exist)")
    if file.exists():
        if not os.access(file, os.R_OK | os.W_OK):
            raise ConfigError(f"DATABASE_URL: cannot open {file} (not readable and writable)")
        try:
            with sqlite3.connect(f"file:{file}?mode=rw", uri=True, timeout=CONNECT_TIMEOUT) as conn:
                conn.execute("PRAGMA schema_version").fetchone()
            conn.close()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"DATABASE_URL: cannot open {file} ({_reason(exc)})") from None
    elif not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"DATABASE_URL: cannot create {file} (folder {folder} is not writable)")


def check_database(database_url: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect once; raise :class:`ConfigError` saying where and why it failed."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite(url.database or "")
        return
    host = url.host or str(url.query.get("host") or "") or "the local socket"
    where = f"{host}:{url.port or 5432}"
    # The driver's own connection, as the app's engine would open it (without the queries
    # SQLAlchemy runs on a first connection). psycopg counts whole seconds, at least 2.
    dialect = sa.create_engine(url, poolclass=sa.pool.NullPool).dialect
    args, params = dialect.create_connect_args(url)
    params["connect_timeout"] = max(2, math.ceil(timeout))

    def connect() -> None:
        connection = dialect.connect(*args, **params)
        try:
            connection.cursor().execute("SELECT 1")
        finally:
            connection.close()

    try:
        _within(timeout + 1, connect)
    except (dialect.loaded_dbapi.Error, OSError) as exc:
        raise ConfigError(f"DATABASE_URL: cannot connect to {where} ({_reason(exc, url.password)})") from None


def check_redis(redis_url: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """PING once; raise :class:`ConfigError` saying where and why it failed."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    parts = urlsplit(redis_url)
    where = f"{parts.hostname}:{parts.port or 6379}"
    client = redis.Redis.from_url(
        redis_url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
    try:
        _within(timeout + 1, client.ping)
    except (redis.RedisError, OSError) as exc:
        reason = _reason(exc, parts.password)
        if "DB index is out of range" in str(exc):
            reason = f"database {parts.path.strip('/')} does not exist"
        raise ConfigError(f"REDIS_URL: cannot connect to {where} ({reason})") from None
    finally:
        client.close()


def check_servers(database_url: str, redis_url: str | None, timeout: float = CONNECT_TIMEOUT) -> None:
    """The database, then Redis when set: the first that does not answer raises."""
    check_database(database_url, timeout)
    if redis_url:
        check_redis(redis_url, timeout)


_checked = False


def check_at_start() -> Settings:
    """Settings, time-zone rules and servers, for a process about to start. Checked once
    per process: gunicorn reads its config file again on a reload and keeps its servers."""
    global _checked
    check_tzdata()
    settings = load_settings()
    if not _checked:
        check_servers(settings.database_url, settings.redis_url)
        _checked = True
    return settings


def exit_with_one_line(exc: BaseException) -> NoReturn:
    print(f"jisr: {exc}", file=sys.stderr, flush=True)
    sys.exit(CONFIGURATION_EXIT_CODE)


@contextmanager
def one_line_on_bad_setup() -> Iterator[None]:
    """A bad setting or an unreachable server ends the process with one line and code 2."""
    try:
        yield
    except (ConfigError, StaleTimeZoneData) as exc:
        exit_with_one_line(exc)
