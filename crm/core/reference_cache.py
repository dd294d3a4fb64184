"""A process's copies of rows that change rarely and are read on every request (an API
token and its account, the stages' default probabilities), kept until any of them
changes anywhere.

Each change to a watched table, committed by any process (web, worker, CLI), writes a
new random value in Redis (the *epoch*: random rather than counted, so that a Redis
emptied and written again can never give back a value a process already saw); a request
reads the epoch once (one ``GET``, cheaper than
the queries it spares), and a process whose copies were made under an older epoch drops
them all.  So a revoked token, a deactivated account or a changed role is refused from
the next request on, in every process, as without the cache.  Without Redis (the embedded
set-up, one process) nothing is cached: each request reads the rows.

Features declare what they cache (:func:`watch`); the plumbing knows none of them."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import redis
from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
T = TypeVar("T")
EPOCH_KEY = "jisr:reference-epoch"
_WATCHED: set[type] = set()
_CHANGED = "jisr.reference_changed"
_EPOCH_READ = "jisr.reference_epoch"
_CLIENTS: dict[str, redis.Redis] = {}


def watch(*models: type) -> None:
    """Changes to these models' rows make every process drop its cached copies."""
    _WATCHED.update(models)


def client_for(url: str) -> redis.Redis:
    """This process's client of the Redis at ``url`` (one connection pool per address)."""
    client = _CLIENTS.get(url)
    if client is None:
        client = _CLIENTS[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return client


def _client() -> redis.Redis | None:
    url = current_app.config.get("REDIS_URL")
    return client_for(url) if url else None


def epoch_rides_along(url: str) -> bool:
    """Whether a request about to meet the Redis at ``url`` anyway should read the epoch
    in the same round trip (``GET EPOCH_KEY`` in its pipeline, then :func:`remember_epoch`):
    it is the epoch's Redis and this request has not read it yet."""
    return has_request_context() and _EPOCH_READ not in request.environ and url == current_app.config.get("REDIS_URL")


def remember_epoch(found: Any) -> None:
    """The epoch this request read along with something else (see :func:`epoch_rides_along`)."""
    request.environ[_EPOCH_READ] = _decoded(found)


def _decoded(found: Any) -> str:
    return found.decode() if isinstance(found, bytes) else str(found or "")


def current_epoch() -> str | None:
    """The epoch as this request sees it (read once per request); ``None``: do not cache."""
    # Kept in the request's environ: ``g`` may outlive a request (an app context pushed
    # around several, as tests and scripts do).
    if has_request_context() and _EPOCH_READ in request.environ:
        return request.environ[_EPOCH_READ]  # type: ignore[no-any-return]
    client = _client()
    epoch: str | None = None
    if client is not None:
        try:
            epoch = _decoded(client.get(EPOCH_KEY))
        except (redis.RedisError, OSError):  # no epoch, no cache: the rows are read
            log.warning("could not read the reference epoch", exc_info=True)
    if has_request_context():
        request.environ[_EPOCH_READ] = epoch
    return epoch


def bump() -> None:
    if not has_app_context():
        log.warning("a cached table changed outside the application: processes keep their copies")
        return
    client = _client()
    if client is None:
        return
    try:
        client.set(EPOCH_KEY, secrets.token_hex(8))
    except (redis.RedisError, OSError):
        # The change is committed; the processes that cannot read the epoch cache nothing.
        log.exception("could not raise the reference epoch")


class ProcessCache:
    """``key → value`` for this process, emptied when the epoch moves."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.epoch: str | None = None
        self.values: dict[Hashable, Any] = {}

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        epoch = current_epoch()
        if epoch is None:
            return load()
        if epoch != self.epoch:
            self.values.clear()
            self.epoch = epoch
        if key in self.values:
            return self.values[key]  # type: ignore[no-any-return]
        value = load()
        if len(self.values) >= self.size:
            self.values.pop(next(iter(self.values)))
        self.values[key] = value
        return value

    def clear(self) -> None:
        self.values.clear()
        self.epoch = None


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    if not _WATCHED:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, tuple(_WATCHED)) and (obj not in session.dirty or session.is_modified(obj)):
            session.info[_CHANGED] = True
            return


@event.listens_for(Session, "after_commit")
def _raise_epoch(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        bump()


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)
