"""Database plumbing: the engine, the per-app-context session and shared column types."""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask, g, has_app_context, has_request_context, request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, SQLModel

from crm.core.time import ensure_utc

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import Dialect

# The largest id an integer primary key holds on PostgreSQL (SQLite's are wider): a larger
# number names no row, and the database would refuse it rather than find nothing.
MAX_ID = 2**31 - 1

# Constraint names that are the same on SQLite and PostgreSQL, so migrations agree.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend (SQLite returns naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            from datetime import UTC

            return value.replace(tzinfo=UTC)
        return ensure_utc(value)


def enum_column(enum_cls: type[enum.Enum], length: int = 32) -> sa.Enum:
    """Enums stored as their string values (no native PostgreSQL type to migrate)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    # WAL stays with the file once set: asked only when it is not, since changing the mode
    # takes a lock that two processes opening their first connections at once contend for.
    mode = cursor.execute("PRAGMA journal_mode").fetchone()
    if not mode or str(mode[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL is durable across a crash of the process (what the mail ledger and
    # the outbox rely on) and syncs at checkpoints instead of at every commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = sa.create_engine(url, pool_size=5, max_overflow=10)
    sa.event.listen(engine, "checkin", _note_idle)
    sa.event.listen(engine, "checkout", _ping_if_idle)
    return engine


# A pooled connection is tried with ``SELECT 1`` before use only if it lay idle this long:
# one that served a request a moment ago is alive, and pinging it on each checkout (the
# pool's ``pre_ping``) cost a round trip on every request.  One the server dropped (a
# restart, an idle timeout) is replaced before a request meets it.
PING_AFTER_IDLE_SECONDS = 5.0
PINGS = {"sent": 0}  # how many were needed, for the tests and a curious operator


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["jisr.idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get("jisr.idle_since")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return
    PINGS["sent"] += 1
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:  # the pool throws this connection away and opens another
        raise sa.exc.DisconnectionError(str(exc)) from exc


class Database:
    """One engine per app; one session per app context (a request or a task)."""

    def __init__(self) -> None:
        self._engines: dict[int, Engine] = {}

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["jisr.db"] = (engine, sessionmaker(engine, class_=Session, expire_on_commit=False))
        if engine.dialect.name == "postgresql":
            reads = engine.execution_options(isolation_level="AUTOCOMMIT")
            app.extensions["jisr.db.reads"] = sessionmaker(reads, class_=Session, expire_on_commit=False)
        app.teardown_appcontext(self._remove_session)

    @staticmethod
    def reads_without_transaction(app: Flask, prefix: str) -> None:
        """Safe requests (GET, HEAD) under ``prefix`` run each statement on its own on
        PostgreSQL (autocommit): no ``BEGIN`` before their first statement and no
        ``ROLLBACK`` after their last, two round trips of the three a one-query read costs.
        Only for requests that write nothing, or commit each write at once (their reads
        see what READ COMMITTED shows them either way: each statement its own snapshot)."""
        app.extensions.setdefault("jisr.db.read_prefixes", []).append(prefix)

    @property
    def engine(self) -> Engine:
        from flask import current_app

        engine: Engine = current_app.extensions["jisr.db"][0]
        return engine

    @property
    def session(self) -> Session:
        if not has_app_context():
            raise RuntimeError("the database session needs an app context")
        session: Session | None = g.get("_jisr_session")
        if session is None:
            from flask import current_app

            factory = current_app.extensions["jisr.db"][1]
            if has_request_context() and request.method in ("GET", "HEAD"):
                prefixes = current_app.extensions.get("jisr.db.read_prefixes")
                if prefixes and request.path.startswith(tuple(prefixes)):
                    factory = current_app.extensions.get("jisr.db.reads", factory)
            session = factory()
            g._jisr_session = session
        return session

    @staticmethod
    def _remove_session(_exc: BaseException | None = None) -> None:
        session: Session | None = g.pop("_jisr_session", None)
        if session is not None:
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on error: for CLI commands and tasks."""
        session = self.session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


db = Database()


def serialise_writers(session: Session, name: str) -> None:
    """On SQLite, open the transaction with a write so that it holds the single write lock
    until commit (two dispatchers or relays then run one after the other).  PostgreSQL
    callers use row locks (``FOR UPDATE SKIP LOCKED``) instead; this does nothing there."""
    if session.get_bind().dialect.name != "sqlite":
        return
    from crm.core.time import utcnow

    session.execute(
        sa.text(
            "INSERT INTO system_state (key, value, updated_at) VALUES (:key, '', :now) "
            "ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at"
        ),
        {"key": f"lock:{name}", "now": utcnow().replace(tzinfo=None)},
    )


def parse_id(value: Any) -> int | None:
    """A row id written as text (in a form, a query string or a file), or ``None`` when the
    text is not one: anything but decimal digits, zero, or a number beyond :data:`MAX_ID`
    ("²" is a digit that ``int`` refuses; "99999999999" a number the database refuses)."""
    text = "" if value is None else str(value).strip()
    if not text.isdecimal() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def pk(row: Any) -> int:
    """The primary key of a flushed row (typed ``int``, not ``int | None``)."""
    value = row.id
    if value is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush the session first")
    return int(value)
