"""Organisations and contacts, as the API reads and writes them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from crm.accounts.models import Language
from crm.api.schemas.common import (
    UNSET,
    Email,
    Id,
    InputModel,
    InstantOut,
    QueryModel,
    ReadModel,
    Search,
    Text40,
    Text200,
    Text300,
    Zone,
    page_model,
)
from crm.organisations.models import Country, OrganisationKind


class OrganisationOut(ReadModel):
    id: int
    country: Country
    kind: OrganisationKind
    name_ar: str
    name_fr: str
    name_en: str
    acronym: str | None
    aliases: list[str]
    website: str | None
    sector_ids: list[int] = Field(description="The sectors the organisation works in.")
    created_at: InstantOut
    updated_at: InstantOut


class OrganisationCreate(InputModel):
    """At least one of the three names is required."""

    country: Country
    kind: OrganisationKind
    name_ar: Text300 = ""
    name_fr: Text300 = ""
    name_en: Text300 = ""
    acronym: Text40 | None = None
    aliases: list[Text200] = Field(default_factory=list, max_length=20, description="Other names it is known by.")
    website: Text300 | None = None
    sector_ids: list[Id] = Field(default_factory=list, max_length=50)


class OrganisationUpdate(InputModel):
    """Only the fields sent change."""

    country: Country = UNSET
    kind: OrganisationKind = UNSET
    name_ar: Text300 = UNSET
    name_fr: Text300 = UNSET
    name_en: Text300 = UNSET
    acronym: Text40 | None = None
    aliases: list[Text200] = Field(default=UNSET, max_length=20)
    website: Text300 | None = None
    sector_ids: list[Id] = Field(default=UNSET, max_length=50)


class OrganisationMerge(InputModel):
    """The duplicate to fold into this organisation, of the same country."""

    duplicate_id: Id


class OrganisationQuery(QueryModel):
    country: Country = UNSET
    kind: OrganisationKind = UNSET
    sector_id: Id = Field(default=UNSET, description="Organisations working in this sector.")
    q: Search = Field(default=UNSET, description="Names, acronyms and aliases in any language or script.")
    sort: Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "id", "-id"] = "name"


OrganisationList = page_model(OrganisationOut, "OrganisationList")


class ContactOut(ReadModel):
    id: int
    organisation_id: int
    name: str
    title: str
    email: str | None
    phone: str | None = Field(description="In E.164 form, e.g. +212612345678.")
    language: Language
    timezone: str
    created_at: InstantOut
    updated_at: InstantOut


class ContactCreate(InputModel):
    organisation_id: Id
    name: Text200
    title: Text200 = ""
    email: Email | None = None
    phone: Text40 | None = Field(default=UNSET, description="Read with the organisation's country as the default.")
    language: Language = Language.FR
    timezone: Zone = "Africa/Casablanca"


class ContactUpdate(InputModel):
    """Only the fields sent change."""

    organisation_id: Id = UNSET
    name: Text200 = UNSET
    title: Text200 = UNSET
    email: Email | None = None
    phone: Text40 | None = None
    language: Language = UNSET
    timezone: Zone = UNSET


class ContactQuery(QueryModel):
    organisation_id: Id = UNSET
    email: Email = Field(default=UNSET, description="Contacts with exactly this address (any case).")
    q: Search = Field(default=UNSET, description="Name, title or email, in any language or script.")
    sort: Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "id", "-id"] = "name"


ContactList = page_model(ContactOut, "ContactList")
