"""A request that failed because a service Jisr depends on did not answer (the database,
Redis) is not a bug of the page: it answers 503 with ``Retry-After``, in the reader's
language, and the log says which service, without a traceback per request."""

from __future__ import annotations

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
        if isinstance(current, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
            return "database"
        if isinstance(current, sqlalchemy.exc.TimeoutError | sqlalchemy.exc.DisconnectionError):
            return "database"
        current = current.__cause__ or current.__context__
    return None
