"""Login sessions kept on the server, so that a session really ends.

The signed session cookie carries only a random session id; the server keeps a record
of it (who, since when, last seen, from which device) under a SHA-256 of the id, its
*handle*.  Logging out, a new password, deactivation or "log out of every other session"
delete records, and a cookie whose record is gone, or idle or old beyond the configured
limits (``SESSION_IDLE_MINUTES``, ``SESSION_MAX_HOURS``), opens nothing: a copy of the
cookie taken before logout is worth nothing after it.

The records live in Redis when ``REDIS_URL`` is set (production) and in the
``login_session`` table otherwise (embedded), behind one small interface
(``crm.accounts.session_store``).  A request
costs one lookup; "last seen" is written at most once a minute.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import has_request_context, request
from sqlmodel import Session

from crm.accounts.models import User
from crm.accounts.session_store import LoginSessionRecord, SessionLimits, handle_of, store_for
from crm.core.time import utcnow

_SESSION_ID_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32), matched in full
TOUCH_EVERY = timedelta(minutes=1)
_CURRENT = "jisr.login_session"
_EXPIRED = "jisr.login_session_expired"


@dataclass(frozen=True)
class CurrentSession:
    session_id: str
    record: LoginSessionRecord


def current_login_session() -> CurrentSession | None:
    """The session this request opened or resumed (kept in the request's environ: ``g``
    may outlive a request, as in tests)."""
    if not has_request_context():
        return None
    current: CurrentSession | None = request.environ.get(_CURRENT)
    return current


def current_handle() -> str | None:
    current = current_login_session()
    return current.record.handle if current else None


def login_session_id(user: User) -> str:
    """What Flask-Login keeps in the cookie for ``user``: the session id, if this request
    holds one of theirs."""
    current = current_login_session()
    return current.session_id if current is not None and current.record.user_id == user.id else ""


def expired_session_user() -> int | None:
    """The user whose session this request's cookie named, if it ended by expiring."""
    if not has_request_context():
        return None
    user_id: int | None = request.environ.get(_EXPIRED)
    return user_id


_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgiOS", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def device_of(user_agent: str) -> str:
    """A summary such as "Firefox, Windows": enough to tell one's sessions apart, and
    all that is kept of the browser's User-Agent."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    return ", ".join(part for part in (browser, system) if part)


def open_login_session(session: Session, user: User) -> str:
    """Start a session for ``user`` from this request (the caller logs them in and commits)."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    record = LoginSessionRecord(
        handle=handle_of(session_id),
        user_id=int(user.id or 0),
        created_at=now,
        last_seen_at=now,
        device=device_of(request.headers.get("User-Agent", "")[:500]),
        ip_address=(request.remote_addr or "")[:45],
    )
    store_for(session).open(record)
    request.environ[_CURRENT] = CurrentSession(session_id, record)
    return session_id


def resume_login_session(session: Session, session_id: str) -> LoginSessionRecord | None:
    """The live record a cookie's session id names, or ``None`` (unknown, revoked, expired
    or malformed: all lead to the login page)."""
    if not isinstance(session_id, str) or not _SESSION_ID_RE.fullmatch(session_id):
        return None
    store = store_for(session)
    handle = handle_of(session_id)
    record = store.find(handle)
    if record is None:
        return None
    now = utcnow()
    limits = SessionLimits.configured()
    if record.is_expired(limits, now):
        request.environ[_EXPIRED] = record.user_id
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        store.touch(handle, now)
    request.environ[_CURRENT] = CurrentSession(session_id, record)
    return record


def end_current_session(session: Session) -> bool:
    """Revoke this request's session (logging out); the caller commits."""
    current = current_login_session()
    if current is None:
        return False
    request.environ.pop(_CURRENT, None)
    return store_for(session).revoke(current.record.user_id, current.record.handle)


def live_sessions_of(session: Session, user: User) -> list[LoginSessionRecord]:
    """The user's sessions that still open something, the most recently used first."""
    now = utcnow()
    limits = SessionLimits.configured()
    records = [r for r in store_for(session).of_user(int(user.id or 0)) if not r.is_expired(limits, now)]
    return sorted(records, key=lambda r: (r.last_seen_at, r.created_at), reverse=True)
