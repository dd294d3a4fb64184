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


class User(Audited, SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=256)
    role: Role = Field(default=Role.OFFICER, sa_type=enum_column(Role))
    language: Language = Field(default=Language.FR, sa_type=enum_column(Language, 2))
    timezone: str = Field(default="Africa/Casablanca", max_length=64)
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
        """The login session's id: a new password ends every session opened with the old one."""
        from crm.core.security import password_stamp

        return f"{self.id}:{password_stamp(self.password_hash, 'session')}"

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def can_edit(self) -> bool:
        return self.role in (Role.ADMIN, Role.OFFICER)
