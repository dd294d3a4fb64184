"""Organisations with names in Arabic, French and English, and the people who work there."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.accounts.models import Language
from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.i18n import gettext, pick_name
from crm.core.time import utcnow


class Country(enum.StrEnum):
    MA = "MA"
    US = "US"
    OTHER = "other"


class OrganisationKind(enum.StrEnum):
    MINISTRY = "ministry"
    AGENCY = "agency"
    FEDERATION = "federation"
    ASSOCIATION = "association"
    TECHNOLOGY_PARK = "technology_park"
    COMPANY = "company"
    ACCELERATOR = "accelerator"
    US_GOVERNMENT_AGENCY = "us_government_agency"
    UNIVERSITY = "university"
    OTHER = "other"


class OrganisationSector(Audited, SQLModel, table=True):
    __tablename__ = "organisation_sector"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True, ondelete="CASCADE")
    sector_id: int = Field(foreign_key="sector.id", primary_key=True, ondelete="CASCADE", index=True)


class Organisation(Audited, SQLModel, table=True):
    __tablename__ = "organisation"
    __table_args__ = (
        sa.Index("ix_organisation_country_kind", "country", "kind"),
        sa.Index("ix_organisation_sort", sa.text("lower(coalesce(acronym, name_en, ''))"), "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    country: Country = Field(sa_type=enum_column(Country, 8))
    kind: OrganisationKind = Field(sa_type=enum_column(OrganisationKind))
    name_ar: str = Field(default="", max_length=300)
    name_fr: str = Field(default="", max_length=300)
    name_en: str = Field(default="", max_length=300)
    acronym: str | None = Field(default=None, max_length=40, index=True)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    website: str | None = Field(default=None, max_length=300)
    # Every name, acronym and alias, normalised (case, accents, Arabic variants) for search.
    search_text: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def name(self, language: str | None = None) -> str:
        return pick_name(self, language)

    def short_name(self, language: str | None = None) -> str:
        return self.acronym or self.name(language)


class Contact(Audited, SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (sa.Index("ix_contact_sort", sa.text("lower(name)"), "id"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True, ondelete="RESTRICT")
    name: str = Field(max_length=200)
    title: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=32)
    language: Language = Field(default=Language.FR, sa_type=enum_column(Language, 2))
    timezone: str = Field(default="Africa/Casablanca", max_length=64)
    # Name, title and email, normalised (case, accents, Arabic variants) for search.
    search_text: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the person's data was erased at their request (law 09-08, GDPR): the row stays
    # for the records that point to it, with no name, title, email or phone, for good.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def display_name(self) -> str:
        """The name to show: an erased contact is named in the reader's language."""
        if self.erased_at is None:
            return self.name
        return gettext("Erased contact #%(id)d", id=self.id or 0)
