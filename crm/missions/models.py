"""Missions (a delegation's visit) and meetings (where leads are born)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime
from crm.core.events import Audited
from crm.core.time import utcnow


class MissionOrganiser(Audited, SQLModel, table=True):
    __tablename__ = "mission_organiser"

    mission_id: int = Field(foreign_key="mission.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True, ondelete="CASCADE", index=True)


class MissionDelegate(Audited, SQLModel, table=True):
    __tablename__ = "mission_delegate"

    mission_id: int = Field(foreign_key="mission.id", primary_key=True, ondelete="CASCADE")
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE", index=True)


class Mission(Audited, SQLModel, table=True):
    __tablename__ = "mission"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=300)
    starts_on: date
    ends_on: date
    # e.g. [{"name": "Houston, Texas", "timezone": "America/Chicago"}, …]
    places: list[dict[str, str]] = Field(default_factory=list, sa_type=sa.JSON)
    description: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MeetingOrganisation(Audited, SQLModel, table=True):
    __tablename__ = "meeting_organisation"

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True, ondelete="CASCADE", index=True)


class MeetingContact(Audited, SQLModel, table=True):
    __tablename__ = "meeting_contact"

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True, ondelete="CASCADE")
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE", index=True)


class Meeting(Audited, SQLModel, table=True):
    __tablename__ = "meeting"

    id: int | None = Field(default=None, primary_key=True)
    mission_id: int | None = Field(default=None, foreign_key="mission.id", index=True, ondelete="SET NULL")
    title: str = Field(max_length=300)
    # The wall time where the meeting took place, its zone, and the resolved instant.
    starts_local: datetime = Field(sa_type=sa.DateTime(timezone=False))  # wall time in `timezone`
    timezone: str = Field(max_length=64)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    place: str = Field(default="", max_length=300)
    notes: str = Field(default="", sa_type=sa.Text)
    # Title and place, normalised for search (crm.search.texts).
    search_text: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
