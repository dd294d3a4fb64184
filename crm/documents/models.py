"""A document: a file uploaded onto one lead, meeting or mission.

The row holds what Jisr knows of the file (the name it was uploaded under, the type its
content was recognised as, its size and SHA-256) and the key under which the storage
keeps the bytes.  Exactly one owner column is set; the database deletes the row with its
owner (``ON DELETE CASCADE``) and a consumer then removes the file (see
:mod:`crm.documents.consumers`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime
from crm.core.events import Audited
from crm.core.time import utcnow

OWNER_KINDS = ("lead", "meeting", "mission")


class Document(Audited, SQLModel, table=True):
    __tablename__ = "document"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN meeting_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN mission_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int | None = Field(default=None, foreign_key="lead.id", ondelete="CASCADE", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", ondelete="CASCADE", index=True)
    mission_id: int | None = Field(default=None, foreign_key="mission.id", ondelete="CASCADE", index=True)
    file_name: str = Field(max_length=255)
    content_type: str = Field(max_length=128)
    size: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200, unique=True)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def owner(self) -> tuple[str, int]:
        """(kind, id) of what the document is on."""
        for kind in OWNER_KINDS:
            value = getattr(self, f"{kind}_id")
            if value is not None:
                return kind, int(value)
        raise ValueError("a document without an owner")
