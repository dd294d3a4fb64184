"""A request that failed because a service Jisr depends on did not answer (the database,
Redis) is not a bug of the page: it answers 503 with ``Retry-After``, in the reader's
language, and the log says which service, without a traceback per request."""

from __future__ import annotations

import sqlite3

import sqlalchemy.exc

RETRY_AFTER_SECONDS = 30


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        import redis.exceptions
    except ImportError:  # pragma: no cover - redis is a dependency
        return ()
    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def unavailable_service(exc: BaseException) -> str | None:
    """``"database"`` or ``"redis"`` when ``exc`` (or what caused it) is a service that
    could not be reached, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _redis_errors()):
            return "redis"
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return "database"
        if isinstance(current, sqlalchemy.exc.OperationalError) and _unreachable(current.orig):
            return "database"
        if isinstance(current, sqlalchemy.exc.InterfaceError | sqlalchemy.exc.TimeoutError):
            return "database"
        if isinstance(current, sqlalchemy.exc.DisconnectionError):
            return "database"
        current = current.__cause__ or current.__context__
    return None


# SQLite's "operational" errors that are the file being busy or out of reach, not a bug.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
)
# PostgreSQL error classes of a server out of reach: connection (08), operator
# intervention such as a shutdown (57P), insufficient resources (53).
_PG_UNAVAILABLE = ("08", "57P", "53")


def _unreachable(orig: BaseException | None) -> bool:
    """Whether a driver's OperationalError means the database could not serve (rather
    than a bad statement, which SQLite also reports as "operational")."""
    if isinstance(orig, sqlite3.Error):
        return str(orig).lower().startswith(_SQLITE_UNAVAILABLE)
    state = getattr(orig, "sqlstate", None)
    return state is None or str(state).startswith(_PG_UNAVAILABLE)
