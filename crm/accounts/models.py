"""Users of the web application and their preferences."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    VIEWER = "viewer"


class Language(enum.StrEnum):
    AR = "ar"
    FR = "fr"
    EN = "en"


class HourCycle(enum.StrEnum):
    """How a user reads the clock: as their language does (24 h in Arabic and French,
    12 h in English), or always 24 h, or always 12 h."""

    AUTO = "auto"
    H24 = "24"
    H12 = "12"


class User(Audited, SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=256)
    role: Role = Field(default=Role.OFFICER, sa_type=enum_column(Role))
    language: Language = Field(default=Language.FR, sa_type=enum_column(Language, 2))
    timezone: str = Field(default="Africa/Casablanca", max_length=64)
    hour_cycle: HourCycle = Field(
        default=HourCycle.AUTO, sa_type=enum_column(HourCycle, 4), sa_column_kwargs={"server_default": "auto"}
    )
    is_active: bool = Field(default=True)
    supervisor_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    reminder_send_hour: int = Field(default=9, sa_column_kwargs={"server_default": sa.text("9")})
    # Days before a follow-up's due date when its owner is reminded.
    reminder_days_before: list[int] = Field(
        default_factory=lambda: [3, 1], sa_type=sa.JSON, sa_column_kwargs={"server_default": sa.text("'[3, 1]'")}
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # SHA-256 of the secret in the user's follow-up calendar feed URL (the secret itself is never stored).
    calendar_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The id of the login session this request opened or resumed (a server-side record
        that logging out, a new password or deactivation revoke), or "" outside one."""
        from crm.accounts.login_sessions import login_session_id

        return login_session_id(self)

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def can_edit(self) -> bool:
        return self.role in (Role.ADMIN, Role.OFFICER)


class LoginSession(SQLModel, table=True):
    """A login, kept on the server in the embedded mode (Redis keeps them in production):
    the session cookie only names it, so deleting the row ends the session for any copy of
    the cookie.  The row holds a SHA-256 of the id the cookie carries, never the id."""

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    device: str = Field(default="", max_length=100)
    ip_address: str = Field(default="", max_length=45)
