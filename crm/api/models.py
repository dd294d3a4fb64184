"""API tokens: bearer credentials that let another system act as one user.

Only a SHA-256 hash of a token's secret is stored, beside a short public prefix that
finds the row without scanning; the secret itself is shown once, when it is made.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow

TOKEN_PREFIX = "jisr"  # noqa: S105 - the public start of every token, not a secret


def hash_secret(secret: str) -> str:
    """SHA-256 is enough: a token's secret is 256 random bits, not a guessable password."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenScope(enum.StrEnum):
    READ = "read"
    WRITE = "write"  # implies read

    def allows(self, needed: TokenScope) -> bool:
        return self == TokenScope.WRITE or needed == TokenScope.READ


class ApiToken(Audited, SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    # The public part of the token (``jisr_<prefix>_<secret>``), unique, shown in lists.
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    scope: TokenScope = Field(sa_type=enum_column(TokenScope, 8))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")

    @property
    def display_prefix(self) -> str:
        return f"jisr_{self.prefix}_…"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and not self.is_expired(now)


class ApiTokenUse(SQLModel, table=True):
    """When a token was last used: bookkeeping written on (at most) one request a minute,
    kept apart from the audited token row so that using a token records no event."""

    __tablename__ = "api_token_use"

    token_id: int = Field(foreign_key="api_token.id", primary_key=True, ondelete="CASCADE")
    last_used_at: datetime = Field(sa_type=UTCDateTime)
