"""Where login sessions are kept: one small interface, two stores.

A record is found by its *handle*, a SHA-256 of the random session id the cookie carries
(the id itself is never stored).  Redis keeps the records when ``REDIS_URL`` is set
(production), the ``login_session`` table otherwise (embedded).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Session, col, select

from crm.accounts.models import LoginSession, User
from crm.core.db import db
from crm.core.time import ensure_utc, utcnow

log = logging.getLogger(__name__)

HANDLE_RE = re.compile(r"[0-9a-f]{64}")  # matched in full
# Redis forgets a record this long after it expired; until then it is found, expired, and
# its owner is told so rather than just asked to log in.
_EXPIRED_KEPT = timedelta(days=1)


def handle_of(session_id: str) -> str:
    """A 256-bit random id needs no slow hash: SHA-256 keeps the stored value useless."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    lifetime: timedelta

    @classmethod
    def configured(cls) -> SessionLimits:
        config = current_app.config
        return cls(
            idle=timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
            lifetime=timedelta(hours=int(config["SESSION_MAX_HOURS"])),
        )


@dataclass(frozen=True)
class LoginSessionRecord:
    handle: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    device: str = ""
    ip_address: str = ""
    # The user, when the store read it with the record (the database store's one query).
    user: User | None = field(default=None, compare=False, repr=False)

    def expires_at(self, limits: SessionLimits) -> datetime:
        return min(self.last_seen_at + limits.idle, self.created_at + limits.lifetime)

    def is_expired(self, limits: SessionLimits, now: datetime) -> bool:
        return now >= self.expires_at(limits)


class LoginSessionStore(Protocol):
    """Where the records live.  Revocations in the database store join the caller's
    transaction (it commits); the Redis store applies them at once."""

    def open(self, record: LoginSessionRecord) -> None: ...

    def find(self, handle: str) -> LoginSessionRecord | None: ...

    def touch(self, handle: str, now: datetime) -> None: ...

    def revoke(self, user_id: int, handle: str) -> bool: ...

    def revoke_all(self, user_id: int, *, keep: str | None = None) -> int: ...

    def of_user(self, user_id: int) -> list[LoginSessionRecord]: ...


def _record_of(row: LoginSession, user: User | None = None) -> LoginSessionRecord:
    return LoginSessionRecord(
        handle=row.handle,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        device=row.device,
        ip_address=row.ip_address,
        user=user,
    )


class DatabaseSessionStore:
    """The ``login_session`` table, through the caller's database session."""

    def __init__(self, session: Session, limits: SessionLimits) -> None:
        self.session = session
        self.limits = limits

    def open(self, record: LoginSessionRecord) -> None:
        # Expired records are cleared here, so the table holds about the live sessions.
        now = utcnow()
        self.session.execute(
            sa.delete(LoginSession).where(
                sa.or_(
                    col(LoginSession.last_seen_at) <= now - self.limits.idle,
                    col(LoginSession.created_at) <= now - self.limits.lifetime,
                )
            )
        )
        self.session.add(
            LoginSession(
                handle=record.handle,
                user_id=record.user_id,
                created_at=record.created_at,
                last_seen_at=record.last_seen_at,
                device=record.device,
                ip_address=record.ip_address,
            )
        )

    def find(self, handle: str) -> LoginSessionRecord | None:
        """One query, which also loads the user (the login then needs no other)."""
        row = self.session.exec(
            select(LoginSession, User)
            .join(User, col(User.id) == col(LoginSession.user_id))
            .where(LoginSession.handle == handle)
            .execution_options(populate_existing=True)
        ).first()
        return _record_of(*row) if row is not None else None

    def touch(self, handle: str, now: datetime) -> None:
        """On its own short transaction, outside the request's: a page that only reads
        commits nothing, and a page that fails still counts as use."""
        try:
            with db.engine.begin() as connection:
                connection.execute(
                    sa.update(LoginSession).where(col(LoginSession.handle) == handle).values(last_seen_at=now)
                )
        except sa.exc.OperationalError:  # a busy SQLite file: the next minute's request tries again
            log.warning("could not note the use of a login session", exc_info=True)

    def revoke(self, user_id: int, handle: str) -> bool:
        result = self.session.execute(
            sa.delete(LoginSession).where(col(LoginSession.user_id) == user_id, col(LoginSession.handle) == handle)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_all(self, user_id: int, *, keep: str | None = None) -> int:
        now = utcnow()
        live = [r.handle for r in self.of_user(user_id) if r.handle != keep and not r.is_expired(self.limits, now)]
        query = sa.delete(LoginSession).where(col(LoginSession.user_id) == user_id)
        if keep is not None:
            query = query.where(col(LoginSession.handle) != keep)
        self.session.execute(query)
        return len(live)

    def of_user(self, user_id: int) -> list[LoginSessionRecord]:
        rows = self.session.exec(
            select(LoginSession).where(LoginSession.user_id == user_id).execution_options(populate_existing=True)
        ).all()
        return [_record_of(row) for row in rows]


class RedisSessionStore:
    """A hash per session (``<prefix>s:<handle>``) that expires by itself, and a set of
    each user's handles (``<prefix>u:<user id>``) for the list and for revoking them all."""

    def __init__(self, client: Any, prefix: str, limits: SessionLimits) -> None:
        self.redis = client
        self.prefix = prefix
        self.limits = limits

    def _key(self, handle: str) -> str:
        return f"{self.prefix}s:{handle}"

    def _user_key(self, user_id: int) -> str:
        return f"{self.prefix}u:{user_id}"

    def _ttl(self, created_at: datetime, now: datetime) -> int:
        left = min(self.limits.idle, created_at + self.limits.lifetime - now)
        return max(1, int((max(left, timedelta(0)) + _EXPIRED_KEPT).total_seconds()))

    def open(self, record: LoginSessionRecord) -> None:
        fields = {
            "user": str(record.user_id),
            "created": record.created_at.isoformat(),
            "seen": record.last_seen_at.isoformat(),
            "device": record.device,
            "ip": record.ip_address,
        }
        user_key = self._user_key(record.user_id)
        with self.redis.pipeline() as pipe:
            pipe.hset(self._key(record.handle), mapping=fields)
            pipe.expire(self._key(record.handle), self._ttl(record.created_at, record.last_seen_at))
            pipe.sadd(user_key, record.handle)
            pipe.expire(user_key, int((self.limits.lifetime + _EXPIRED_KEPT).total_seconds()))
            pipe.execute()

    @staticmethod
    def _parse(handle: str, fields: dict[str, str]) -> LoginSessionRecord | None:
        try:
            return LoginSessionRecord(
                handle=handle,
                user_id=int(fields["user"]),
                created_at=ensure_utc(datetime.fromisoformat(fields["created"])),
                last_seen_at=ensure_utc(datetime.fromisoformat(fields["seen"])),
                device=fields.get("device", ""),
                ip_address=fields.get("ip", ""),
            )
        except (KeyError, ValueError):
            return None  # a record revoked while a request noted its use holds only "seen"

    def find(self, handle: str) -> LoginSessionRecord | None:
        return self._parse(handle, self.redis.hgetall(self._key(handle)))

    def touch(self, handle: str, now: datetime) -> None:
        record = self.find(handle)
        if record is None:
            return
        with self.redis.pipeline() as pipe:
            pipe.hset(self._key(handle), "seen", now.isoformat())
            pipe.expire(self._key(handle), self._ttl(record.created_at, now))
            pipe.execute()

    def revoke(self, user_id: int, handle: str) -> bool:
        record = self.find(handle)
        if record is None or record.user_id != user_id:
            return False
        with self.redis.pipeline() as pipe:
            pipe.delete(self._key(handle))
            pipe.srem(self._user_key(user_id), handle)
            pipe.execute()
        return True

    def revoke_all(self, user_id: int, *, keep: str | None = None) -> int:
        now = utcnow()
        handles = [h for h in self.redis.smembers(self._user_key(user_id)) if h != keep]
        if not handles:
            return 0
        with self.redis.pipeline() as pipe:
            for handle in handles:
                pipe.hgetall(self._key(handle))
            found = pipe.execute()
        with self.redis.pipeline() as pipe:
            pipe.delete(*[self._key(h) for h in handles])
            pipe.srem(self._user_key(user_id), *handles)
            pipe.execute()
        records = [self._parse(h, fields) for h, fields in zip(handles, found, strict=True)]
        return sum(1 for r in records if r is not None and not r.is_expired(self.limits, now))

    def of_user(self, user_id: int) -> list[LoginSessionRecord]:
        handles = sorted(self.redis.smembers(self._user_key(user_id)))
        if not handles:
            return []
        with self.redis.pipeline() as pipe:
            for handle in handles:
                pipe.hgetall(self._key(handle))
            found = pipe.execute()
        records = [self._parse(h, fields) for h, fields in zip(handles, found, strict=True)]
        gone = [h for h, r in zip(handles, records, strict=True) if r is None]
        if gone:
            self.redis.srem(self._user_key(user_id), *gone)
        return [r for r in records if r is not None and r.user_id == user_id]


def _redis_client() -> Any:
    client = current_app.extensions.get("jisr.login_sessions.redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(
            current_app.config["REDIS_URL"], socket_timeout=3, socket_connect_timeout=3, decode_responses=True
        )
        current_app.extensions["jisr.login_sessions.redis"] = client
    return client


def store_for(session: Session) -> LoginSessionStore:
    """Redis when the deployment has one, else the database."""
    limits = SessionLimits.configured()
    if current_app.config.get("REDIS_URL"):
        return RedisSessionStore(_redis_client(), current_app.config["LOGIN_SESSION_REDIS_PREFIX"], limits)
    return DatabaseSessionStore(session, limits)
