"""Finding the user behind a bearer token, and reading the tokens for the pages and CLI."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.api.models import TOKEN_PREFIX, ApiToken, ApiTokenUse, hash_secret
from crm.core.db import parse_id
from crm.core.reference_cache import ProcessCache, current_epoch, watch
from crm.core.time import utcnow

_TOKEN_RE = re.compile(rf"^{TOKEN_PREFIX}_([0-9a-f]{{8}})_([A-Za-z0-9_-]{{20,100}})$")
# Writing "last used" once a minute per token is enough for the list, and spares a write per call.
USE_STAMP_EVERY = timedelta(minutes=1)


def token_prefix(raw: str) -> str | None:
    match = _TOKEN_RE.match(raw)
    return match.group(1) if match else None


class Authenticated(NamedTuple):
    token: ApiToken
    user: User
    last_used_at: datetime | None


# Tokens and their accounts as last read, per process, until either changes anywhere
# (crm.core.reference_cache): the lookup is then no query at all.
_FOUND = ProcessCache()
watch(ApiToken, User)


class _Found(NamedTuple):
    token: ApiToken  # detached copies: each request works on its own (Session.merge)
    user: User
    last_used_at: datetime | None


def _look_up(session: Session, prefix: str) -> _Found | None:
    row = session.exec(
        select(ApiToken, User, ApiTokenUse.last_used_at)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .outerjoin(ApiTokenUse, col(ApiTokenUse.token_id) == col(ApiToken.id))
        .where(ApiToken.prefix == prefix)
    ).first()
    return None if row is None else _Found(*row)


def _look_up_apart(session: Session, prefix: str) -> _Found | None:
    """As :func:`_look_up`, for the cache: read apart from ``session`` (whose own copies
    of the rows, if it has any, stay its own) and kept detached."""
    with Session(session.get_bind(), expire_on_commit=False) as apart:
        return _look_up(apart, prefix)


def authenticate(session: Session, raw: str, now: datetime | None = None) -> Authenticated | None:
    """The token and its user if ``raw`` is a live token of an active user, else ``None``.

    Expired, revoked and unknown tokens, and tokens of deactivated users, are all refused
    the same way, so an answer tells nothing about which it was.  One query, none while
    this process's copy of the token is current; the secret and the token's life are
    checked on every call."""
    match = _TOKEN_RE.match(raw)
    if match is None:
        return None
    prefix, secret = match.groups()
    cached = current_epoch() is not None
    found = _FOUND.get(prefix, lambda: _look_up_apart(session, prefix)) if cached else _look_up(session, prefix)
    if found is None:
        return None
    if not secrets.compare_digest(found.token.secret_hash, hash_secret(secret)):
        return None
    if not found.token.is_usable(now) or not found.user.is_active:
        return None
    token, user = found.token, found.user
    if cached:
        token, user = session.merge(token, load=False), session.merge(user, load=False)
    return Authenticated(token, user, max(found.last_used_at, _STAMPED.get(prefix), key=_instant))


# When this process last wrote a token's "last used", by prefix (the cached row keeps the older time).
_STAMPED: dict[str, datetime] = {}


def _instant(value: datetime | None) -> datetime:
    return value or datetime.min.replace(tzinfo=UTC)


def stamp_use(session: Session, auth: Authenticated, now: datetime | None = None) -> bool:
    """Record that the token was used, at most once a minute (a read writes nothing
    otherwise, which matters on SQLite's single writer); the caller commits."""
    now = now or utcnow()
    if auth.last_used_at is not None and auth.last_used_at > now - USE_STAMP_EVERY:
        return False
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ApiTokenUse)
        .values(token_id=auth.token.id, last_used_at=now)
        .on_conflict_do_update(index_elements=["token_id"], set_={"last_used_at": now})
    )
    session.execute(statement)
    _STAMPED[auth.token.prefix] = now
    return True


@dataclass
class TokenRow:
    token: ApiToken
    user: User
    last_used_at: datetime | None


def token_rows(session: Session, user: User | None = None) -> list[TokenRow]:
    """Tokens (of ``user``, or everyone's), newest first, with their owner and last use."""
    query = (
        select(ApiToken, User, ApiTokenUse.last_used_at)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .outerjoin(ApiTokenUse, col(ApiTokenUse.token_id) == col(ApiToken.id))
        .order_by(col(ApiToken.revoked_at).is_(None).desc(), col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
    )
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return [TokenRow(token, owner, used) for token, owner, used in session.exec(query).all()]


def find_token(session: Session, reference: str) -> ApiToken | None:
    """A token by id or by its public prefix (as the CLI shows them)."""
    reference = reference.strip()
    token_id = parse_id(reference)
    if token_id is not None:
        return session.get(ApiToken, token_id)
    prefix = reference.removeprefix(f"{TOKEN_PREFIX}_").split("_", 1)[0]
    return session.exec(select(ApiToken).where(sa.func.lower(ApiToken.prefix) == prefix.lower())).first()
