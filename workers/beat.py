"""Exactly one beat, even when two are started by mistake (a second host, a restarted
container next to the old one, ``make run`` beside docker-compose).

Each beat ticks only while it holds a lease: a Redis key set with ``NX`` and a time to live
(``BEAT_LOCK_SECONDS``), renewed on every tick, or in embedded mode a row of
``system_state`` taken over by a conditional UPDATE once it expired.  A beat that loses the
lease (paused, cut off from Redis) stops sending; another takes over once the lease ran out.
Every periodic job is idempotent, so the rare overlap at a take-over costs nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from celery.beat import PersistentScheduler

log = logging.getLogger(__name__)
LOCK_KEY = "jisr:beat:lease"
STATE_KEY = "beat.lease"
DEFAULT_LEASE_SECONDS = 30.0
# Renew the lease at least this often relative to its length, whatever the schedule says.
RENEW_FRACTION = 3


class RedisLease:
    # Renew only if we still hold it: compare and extend in one step.
    _RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    )

    def __init__(self, url: str, holder: str, seconds: float) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        self.holder, self.ms = holder, int(seconds * 1000)
        self.renew = self.client.register_script(self._RENEW)

    def hold(self) -> bool:
        if self.renew(keys=[LOCK_KEY], args=[self.holder, self.ms]):
            return True
        return bool(self.client.set(LOCK_KEY, self.holder, nx=True, px=self.ms))


class DatabaseLease:
    def __init__(self, holder: str, seconds: float) -> None:
        self.holder, self.seconds = holder, seconds

    def hold(self) -> bool:
        from crm.core.db import db
        from crm.core.state import SystemState
        from crm.core.time import utcnow

        now = utcnow()
        table: Any = SystemState.__table__  # type: ignore[attr-defined]
        with db.engine.begin() as conn:
            taken = conn.execute(
                sa.update(table)
                .where(
                    table.c.key == STATE_KEY,
                    sa.or_(table.c.value == self.holder, table.c.updated_at < now - timedelta(seconds=self.seconds)),
                )
                .values(value=self.holder, updated_at=now)
            ).rowcount
            if taken:
                return True
            exists = conn.execute(sa.select(table.c.key).where(table.c.key == STATE_KEY)).first()
            if exists is None:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(table).values(key=STATE_KEY, value=self.holder, updated_at=now))
                    return True
                except sa.exc.IntegrityError:  # another beat inserted it first
                    return False
        return False


class SingleBeat(PersistentScheduler):  # type: ignore[misc]
    """Celery's persistent scheduler, ticking only while it holds the lease."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flask_app = self.app.conf.get("jisr_flask_app")
        config = self.flask_app.config if self.flask_app is not None else {}
        self.lease_seconds = float(config.get("BEAT_LOCK_SECONDS", DEFAULT_LEASE_SECONDS))
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        redis_url = config.get("REDIS_URL")
        self.lease: RedisLease | DatabaseLease = (
            RedisLease(redis_url, holder, self.lease_seconds)
            if redis_url
            else DatabaseLease(holder, self.lease_seconds)
        )
        self.holding = False

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            if self.flask_app is not None:
                with self.flask_app.app_context():
                    holding = self.lease.hold()
            else:
                holding = self.lease.hold()
        except Exception:  # Redis or the database is out of reach: send nothing, try again
            log.warning("beat: could not renew its lease", exc_info=True)
            holding = False
        if holding != self.holding:
            log.warning("beat: %s", "holds the lease: ticking" if holding else "another beat holds the lease: waiting")
            self.holding = holding
        renew_every = self.lease_seconds / RENEW_FRACTION
        if not holding:
            return renew_every
        return float(min(super().tick(*args, **kwargs), renew_every))
