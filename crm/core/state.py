"""Small operational facts kept in the database (last beat tick, …), not audited."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from crm.core.db import UTCDateTime
from crm.core.time import utcnow


class SystemState(SQLModel, table=True):
    __tablename__ = "system_state"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(default="", sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def put_state(session: Session, key: str, value: str) -> None:
    row = session.get(SystemState, key)
    if row is None:
        session.add(SystemState(key=key, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()


def get_state(session: Session, key: str) -> SystemState | None:
    return session.get(SystemState, key)
