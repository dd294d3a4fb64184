"""Login limits that slow a password guesser down without locking the right people out.

Failed logins are counted in three buckets, in the rate limiter's storage (Redis when
``REDIS_URL`` is set, so that every web process sees the same counts; process memory
when embedded):

- **one client and one account** (the client's address, or a browser that has logged in
  to that account before): the first few failures are free, then each further attempt
  waits twice as long as the one before, up to a ceiling.  A success clears the bucket.
  Guessing at an officer's account from one address therefore slows only that address.
- **one account, from anywhere**: after many failures within the hour from browsers that
  never logged in to it, the account takes new browsers' attempts only every few minutes.
  A browser that has logged in to the account before (it carries a signed cookie saying
  so) is never held back by this bucket, nor by the next, so a stranger cannot keep the
  account's owner out.
- **one address, across accounts**: a generous ceiling against guessing one password on
  many accounts, high enough for an office behind one proxy.

The counts are of failures only, kept as lists of instants (the storage's moving windows),
read with this process's clock.  The answer to a held-back attempt is the same whether
the account exists or not.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, cast

from flask import Flask, after_this_request, current_app, request
from flask_babel import format_timedelta
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits.storage import MovingWindowSupport, storage_from_string
from sqlmodel import Session
from werkzeug.wrappers import Response

from crm.accounts.models import User
from crm.accounts.operations import record_login_throttled
from crm.config import ConfigError
from crm.core.i18n import gettext

KNOWN_BROWSER_COOKIE = "jisr_known"
KNOWN_BROWSER_DAYS = 365
KNOWN_ACCOUNTS_PER_BROWSER = 5
_KEEP = 1000  # instants kept per bucket: more than any bucket can gather in its window

# The settings (app config) and their defaults; the README names them.
DEFAULTS: dict[str, int] = {
    "LOGIN_FREE_FAILURES": 5,  # per client and account, before the delays start
    "LOGIN_MAX_DELAY_SECONDS": 900,  # the longest delay of one client on one account
    "LOGIN_CLIENT_MEMORY_SECONDS": 86400,  # how long a client's failures on an account count
    "LOGIN_ACCOUNT_FAILURES_PER_HOUR": 50,  # from browsers that never logged in to it
    "LOGIN_ACCOUNT_PAUSE_SECONDS": 300,
    "LOGIN_ADDRESS_FAILURES": 100,  # on any accounts, within LOGIN_ADDRESS_WINDOW_SECONDS
    "LOGIN_ADDRESS_WINDOW_SECONDS": 300,
    "LOGIN_ADDRESS_PAUSE_SECONDS": 60,
}


@dataclass(frozen=True)
class Bucket:
    """Where failures are counted, and how long an attempt waits after ``threshold`` of them."""

    scope: str  # "client_account", "browser_account", "account" or "address"
    key: str
    window: int  # seconds a failure counts
    threshold: int
    pause: int  # the wait; for a client, the longest of the doubling delays
    doubling: bool = False

    def wait(self, failures: int) -> int:
        """Seconds an attempt must wait after the last of ``failures`` failures."""
        if failures < self.threshold:
            return 0
        if self.doubling:
            return int(min(2 ** (failures - self.threshold + 1), self.pause))
        return self.pause


class _Storage(Protocol):
    """What the login limits use of the rate limiter's storage (its moving windows)."""

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool: ...
    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]: ...
    def clear(self, key: str) -> None: ...
    def reset(self) -> int | None: ...


@dataclass(frozen=True)
class Lockout:
    """A bucket that has just started holding attempts back."""

    scope: str
    failures: int
    wait_seconds: int


@dataclass(frozen=True)
class LoginAttempt:
    email: str  # as typed, lowered and stripped
    address: str
    browser: str | None  # the known browser's id, when it has logged in to this account

    @property
    def client(self) -> str:
        """Where the attempt comes from, as counted: an IPv6 address's /64 network (one
        machine may hold all of it), an IPv4 address as it is."""
        try:
            ip = ipaddress.ip_address(self.address)
        except ValueError:
            return self.address
        if ip.version == 6 and ip.ipv4_mapped is None:
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(getattr(ip, "ipv4_mapped", None) or ip)


def _account_tag(email: str) -> str:
    """The account's name in keys and cookies: keyed, so neither tells its address."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"login-account:{email}".encode(), hashlib.sha256).hexdigest()[:24]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="jisr.known-browser")


def _known_browser() -> dict[str, Any]:
    raw = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if not raw:
        return {}
    try:
        found = _serializer().loads(raw, max_age=KNOWN_BROWSER_DAYS * 86400)
    except BadSignature:
        return {}
    valid = isinstance(found, dict) and isinstance(found.get("d"), str) and isinstance(found.get("a"), list)
    return found if valid else {}


def login_attempt(email: str) -> LoginAttempt:
    """This request's attempt at the account ``email``."""
    email = email.strip().lower()
    known = _known_browser()
    browser = known["d"] if _account_tag(email) in known.get("a", []) else None
    return LoginAttempt(email=email, address=get_remote_address() or "unknown", browser=browser)


def remember_browser(response: Response, email: str) -> None:
    """After a successful login: this browser is known to the account from now on."""
    known = _known_browser()
    tag = _account_tag(email.strip().lower())
    accounts = [tag] + [a for a in known.get("a", []) if a != tag]
    value = {"d": known.get("d") or secrets.token_urlsafe(16), "a": accounts[:KNOWN_ACCOUNTS_PER_BROWSER]}
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        _serializer().dumps(value),
        max_age=KNOWN_BROWSER_DAYS * 86400,
        path="/login",
        httponly=True,
        samesite="Lax",
        secure=current_app.config["BASE_URL"].startswith("https://"),
    )


class LoginThrottle:
    def __init__(self, storage: _Storage) -> None:
        self.storage = storage

    def buckets(self, attempt: LoginAttempt) -> list[Bucket]:
        s = {name: int(current_app.config.get(name, default)) for name, default in DEFAULTS.items()}
        tag = _account_tag(attempt.email)
        free, longest, memory = s["LOGIN_FREE_FAILURES"], s["LOGIN_MAX_DELAY_SECONDS"], s["LOGIN_CLIENT_MEMORY_SECONDS"]
        if attempt.browser is not None:  # the ceilings do not apply to a browser the account knows
            return [Bucket("browser_account", f"browser/{attempt.browser}/{tag}", memory, free, longest, True)]
        return [
            Bucket("client_account", f"client/{attempt.client}/{tag}", memory, free, longest, True),
            Bucket(
                "account",
                f"account/{tag}",
                3600,
                s["LOGIN_ACCOUNT_FAILURES_PER_HOUR"],
                s["LOGIN_ACCOUNT_PAUSE_SECONDS"],
            ),
            Bucket(
                "address",
                f"address/{attempt.client}",
                s["LOGIN_ADDRESS_WINDOW_SECONDS"],
                s["LOGIN_ADDRESS_FAILURES"],
                s["LOGIN_ADDRESS_PAUSE_SECONDS"],
            ),
        ]

    def _failures(self, bucket: Bucket) -> int:
        return int(self.storage.get_moving_window(f"jisr-login/{bucket.key}", _KEEP, bucket.window)[1])

    def _last_failure(self, bucket: Bucket) -> float | None:
        start, count = self.storage.get_moving_window(f"jisr-login/{bucket.key}/last", 1, bucket.window)
        return float(start) if count else None

    def _record(self, bucket: Bucket) -> None:
        key = f"jisr-login/{bucket.key}"
        self.storage.acquire_entry(key, _KEEP, bucket.window)
        self.storage.clear(f"{key}/last")
        self.storage.acquire_entry(f"{key}/last", 1, bucket.window)

    def _remaining(self, bucket: Bucket, now: float) -> tuple[int, float]:
        """The bucket's current wait, and how much of it is left."""
        wait = bucket.wait(self._failures(bucket))
        if not wait:
            return 0, 0.0
        # No instant while failures are counted: another process is writing it this moment.
        last = self._last_failure(bucket) or now
        return wait, last + wait - now

    def _take_turn(self, bucket: Bucket, wait: int) -> bool:
        """The one attempt let through once a wait is over; attempts that read the same
        counts at the same moment find the turn taken (it lasts a little less than the wait,
        and the next wait starts from the turn's own attempt)."""
        return self.storage.acquire_entry(f"jisr-login/{bucket.key}/turn", 1, max(1, wait - 1))

    def admit(self, attempt: LoginAttempt) -> int:
        """Let ``attempt`` go ahead (0), or the seconds it must wait.

        Taking a turn is atomic in the storage, so that many attempts sent at once are not
        all let through: the client's free tries and each later turn go to one attempt
        each, and the client's attempt is counted here (a success clears it)."""
        now = time.time()
        client, *ceilings = self.buckets(attempt)
        for bucket in ceilings:
            _, left = self._remaining(bucket, now)
            if left > 0:
                return math.ceil(left)
        wait, left = self._remaining(client, now)
        if left > 0:
            return math.ceil(left)
        key = f"jisr-login/{client.key}"
        if not wait and not self.storage.acquire_entry(f"{key}/free", client.threshold, client.window):
            return client.wait(client.threshold)  # the free tries went to attempts sent at the same time
        if wait and not self._take_turn(client, wait):
            return wait
        self._record(client)
        for bucket in ceilings:
            wait, _ = self._remaining(bucket, now)
            if wait and not self._take_turn(bucket, wait):
                return wait
        return 0

    def failed(self, attempt: LoginAttempt) -> list[Lockout]:
        """Count a failed attempt; the buckets that start holding attempts back because of it."""
        started = []
        client, *ceilings = self.buckets(attempt)
        for bucket in ceilings:
            self._record(bucket)  # the client's bucket counted the attempt when admitting it
        for bucket in (client, *ceilings):
            failures = self._failures(bucket)
            # Once per lockout: the first failure at or past the threshold within the
            # window claims the notice (atomically, whichever process gets there first).
            key = f"jisr-login/{bucket.key}/noticed"
            if failures >= bucket.threshold and self.storage.acquire_entry(key, 1, bucket.window):
                started.append(Lockout(bucket.scope, failures, bucket.wait(failures)))
        return started

    def succeeded(self, attempt: LoginAttempt) -> None:
        """A right password: this client starts afresh on this account."""
        key = f"jisr-login/{self.buckets(attempt)[0].key}"
        for suffix in ("", "/last", "/noticed", "/free", "/turn"):
            self.storage.clear(key + suffix)


def login_throttle() -> LoginThrottle | None:
    """The app's login limits, or ``None`` where rate limits are switched off."""
    found: LoginThrottle | None = current_app.extensions.get("jisr.login_throttle")
    return found


def held_back(attempt: LoginAttempt) -> int:
    """Seconds before this attempt may be tried; 0 when it goes ahead now (and is counted)."""
    throttle = login_throttle()
    return throttle.admit(attempt) if throttle is not None else 0


def held_back_message(seconds: int) -> str:
    """When to try again, in the reader's language; the same for any typed address."""
    when = format_timedelta(timedelta(seconds=seconds), granularity="second", threshold=1.1, add_direction=True)
    return gettext("Too many failed attempts. Try again %(when)s.", when=when)


def count_failure(session: Session, attempt: LoginAttempt, user: User | None) -> None:
    """A wrong password (or an unknown or deactivated account, which answers the same);
    a limit that starts holding attempts back because of it is recorded as a security event."""
    throttle = login_throttle()
    if throttle is None:
        return
    for lockout in throttle.failed(attempt):
        record_login_throttled(
            session,
            user,
            email=attempt.email,
            address=attempt.address,
            scope=lockout.scope,
            failures=lockout.failures,
            wait_seconds=lockout.wait_seconds,
        )


def count_success(attempt: LoginAttempt) -> None:
    """A right password: the client starts afresh, and the browser is known to the account."""
    throttle = login_throttle()
    if throttle is not None:
        throttle.succeeded(attempt)

    @after_this_request
    def _remember(response: Response) -> Response:
        remember_browser(response, attempt.email)
        return response


def init_app(app: Flask) -> None:
    for name, default in DEFAULTS.items():
        app.config.setdefault(name, default)
    if not app.config.get("RATELIMIT_ENABLED", True):
        return
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    storage = storage_from_string(uri)
    if not isinstance(storage, MovingWindowSupport):
        raise ConfigError(f"RATELIMIT_STORAGE_URI: {uri.split('://', 1)[0]} storage has no moving windows")
    app.extensions["jisr.login_throttle"] = LoginThrottle(cast(_Storage, storage))
