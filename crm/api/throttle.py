"""The API's request budget: ``API_RATE_LIMIT_PER_MINUTE`` requests per token (per client
address for calls without a well-formed token), across the whole API, in fixed windows of
a minute.

The counts live where the login limits keep theirs (``RATELIMIT_STORAGE_URI``): Redis
when ``REDIS_URL`` is set, so that every web process draws on the same budget; this
application's memory when embedded.  On Redis a request costs one round trip: the count
and its expiry travel in one pipeline, and when the budget lives in the Redis that holds
the reference epoch (:mod:`crm.core.reference_cache`) the epoch is read in the same trip,
so a request whose token this process already knows meets Redis once in all.

A token is counted by its public prefix, read off the header before the token is looked
up: that is what lets the count share the epoch's trip.  A header that names no live token
is counted against the client's address as well, so inventing prefixes buys no budget.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app, request
from flask_limiter.util import get_remote_address

from crm.core import reference_cache

WINDOW_SECONDS = 60
_KEY = "jisr:api-budget:{who}:{window}"
_SPENT = "jisr.api_budget"


@dataclass(frozen=True)
class Budget:
    """One window's count after this request."""

    limit: int
    used: int
    resets_at: int  # Unix time, seconds

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def headers(self, now: float | None = None) -> dict[str, str]:
        """What the answer tells the caller of its budget (and, beyond it, when to retry)."""
        found = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": str(self.resets_at),
        }
        if self.exceeded:
            found["Retry-After"] = str(max(1, self.resets_at - int(now if now is not None else time.time())))
        return found


class _Counts:
    """Counts in this application's memory (the embedded set-up: one process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = -1
        self.counts: dict[str, int] = {}

    def add(self, who: str, window: int) -> int:
        with self.lock:
            if window != self.window:  # a new minute: the old counts are of no further use
                self.window, self.counts = window, {}
            self.counts[who] = self.counts.get(who, 0) + 1
            return self.counts[who]


def _storage_url() -> str:
    return str(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")


def _memory() -> _Counts:
    counts = current_app.extensions.get("jisr.api_counts")
    if counts is None:
        counts = current_app.extensions["jisr.api_counts"] = _Counts()
    return counts  # type: ignore[no-any-return]


def _count(who: str, now: float) -> Budget:
    window = int(now // WINDOW_SECONDS)
    limit = int(current_app.config["API_RATE_LIMIT_PER_MINUTE"])
    resets_at = (window + 1) * WINDOW_SECONDS
    url = _storage_url()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return Budget(limit, _memory().add(who, window), resets_at)
    key = _KEY.format(who=who, window=window)
    pipe = reference_cache.client_for(url).pipeline(transaction=False)
    read_epoch = reference_cache.epoch_rides_along(url)
    if read_epoch:
        pipe.get(reference_cache.EPOCH_KEY)
    pipe.incr(key)
    pipe.expire(key, 2 * WINDOW_SECONDS, nx=True)
    answers = pipe.execute()
    if read_epoch:
        reference_cache.remember_epoch(answers.pop(0))
    return Budget(limit, int(answers[0]), resets_at)


def _spend(who: str, now: float | None) -> Budget | None:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    budget = _count(who, time.time() if now is None else now)
    spent: Budget | None = request.environ.get(_SPENT)
    if spent is None or budget.exceeded or not spent.exceeded:
        request.environ[_SPENT] = budget
    return budget


def spend(prefix: str | None, now: float | None = None) -> Budget | None:
    """Count this request against its token's budget (``prefix``: the token's public
    part, read off the header) or, without one, its address's.  ``None``: no limits."""
    return _spend(f"token:{prefix}" if prefix else f"address:{get_remote_address()}", now)


def spend_address(now: float | None = None) -> Budget | None:
    """Count this request against its address's budget too (its token was not live)."""
    return _spend(f"address:{get_remote_address()}", now)


def spent() -> Budget | None:
    """This request's budget as counted (the exceeded one if any was), for its headers."""
    return request.environ.get(_SPENT)  # type: ignore[no-any-return]
