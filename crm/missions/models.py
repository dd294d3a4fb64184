"""Missions (a delegation's visit) and meetings (where leads are born)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.i18n import pick_name
from crm.core.time import utcnow


class MissionStatus(StrEnum):
    PLANNED = "planned"
    UNDER_WAY = "under_way"
    CLOSED = "closed"
    ARCHIVED = "archived"


# Closed and archived missions leave the default lists and pickers.
ACTIVE_STATUSES = (MissionStatus.PLANNED, MissionStatus.UNDER_WAY)


class DelegateRole(StrEnum):
    HEAD = "head"
    DELEGATE = "delegate"
    ORGANISER = "organiser"
    INTERPRETER = "interpreter"


class MissionOrganiser(Audited, SQLModel, table=True):
    __tablename__ = "mission_organiser"

    mission_id: int = Field(foreign_key="mission.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True, ondelete="CASCADE", index=True)


class MissionDelegate(Audited, SQLModel, table=True):
    __tablename__ = "mission_delegate"

    mission_id: int = Field(foreign_key="mission.id", primary_key=True, ondelete="CASCADE")
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE", index=True)
    role: DelegateRole = Field(
        default=DelegateRole.DELEGATE,
        sa_type=enum_column(DelegateRole, 16),
        sa_column_kwargs={"server_default": DelegateRole.DELEGATE.value},
    )


class MissionSector(Audited, SQLModel, table=True):
    __tablename__ = "mission_sector"

    mission_id: int = Field(foreign_key="mission.id", primary_key=True, ondelete="CASCADE")
    sector_id: int = Field(foreign_key="sector.id", primary_key=True, ondelete="CASCADE", index=True)


class MissionLeg(Audited, SQLModel, table=True):
    """One place of the mission with its dates and zone: meetings there are set in its local time."""

    __tablename__ = "mission_leg"
    __table_args__ = (sa.Index("ix_mission_leg_mission_position", "mission_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    mission_id: int = Field(foreign_key="mission.id", ondelete="CASCADE")
    position: int = Field(default=0)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    starts_on: date
    ends_on: date


class Mission(Audited, SQLModel, table=True):
    __tablename__ = "mission"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=300)
    # The name in each language; ``name`` is the one shown when the reader's is missing.
    name_ar: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    name_fr: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    name_en: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    # The places of the release before legs, which still reads and writes them during an
    # upgrade (docs/migrations.md); Jisr reads the legs. Dropped by a later contract step.
    legacy_places: list[dict[str, str]] | None = Field(default=None, sa_column=sa.Column("places", sa.JSON))
    status: MissionStatus = Field(
        default=MissionStatus.PLANNED,
        sa_type=enum_column(MissionStatus, 16),
        index=True,
        sa_column_kwargs={"server_default": MissionStatus.PLANNED.value},
    )
    starts_on: date
    ends_on: date
    description: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def local_name(self, language: str | None = None) -> str:
        """The name in ``language`` (the reader's by default), else ``name``."""
        names: Any = self
        return pick_name(names, language) if (self.name_ar or self.name_fr or self.name_en) else self.name

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


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
    leg_id: int | None = Field(default=None, foreign_key="mission_leg.id", index=True, ondelete="SET NULL")
    duration_minutes: int = Field(default=60, sa_column_kwargs={"server_default": "60"})
    place: str = Field(default="", max_length=300)
    notes: str = Field(default="", sa_type=sa.Text)
    # Title and place, normalised for search (crm.search.texts).
    search_text: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)
