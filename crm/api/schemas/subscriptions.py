"""Digest subscriptions, as the API reads and writes them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.accounts.models import Language
from crm.api.schemas.common import (
    UNSET,
    Email,
    Id,
    InputModel,
    InstantOut,
    Integer,
    QueryModel,
    ReadModel,
    Text40,
    Text200,
    Zone,
    page_model,
)
from crm.digests.models import Cadence
from crm.leads.models import PartnershipType


class SubscriptionFilters(BaseModel):
    """What the digest is about; an empty list does not narrow it."""

    model_config = ConfigDict(extra="forbid")

    ma_organisation_ids: list[Id] = Field(default_factory=list, max_length=200)
    us_organisation_ids: list[Id] = Field(default_factory=list, max_length=200)
    sector_ids: list[Id] = Field(default_factory=list, max_length=100)
    partnership_types: list[PartnershipType] = Field(default_factory=list, max_length=20)
    owner_ids: list[Id] = Field(default_factory=list, max_length=200)
    mission_ids: list[Id] = Field(default_factory=list, max_length=100)


class SubscriptionOut(ReadModel):
    id: int
    user_id: int | None = Field(description="The user of the app it is for, if any.")
    contact_id: int | None
    organisation_id: int | None = Field(description="The reader's organisation.")
    name: str
    email: str
    language: Language
    timezone: str
    cadence: Cadence
    weekday: int = Field(description="Monday is 0 (weekly digests).")
    send_hour: int = Field(description="The local hour it is sent at (0–23).")
    filters: SubscriptionFilters
    include_confidential: bool
    send_when_empty: bool
    is_active: bool
    created_by_id: int | None
    created_at: InstantOut
    unsubscribed_at: InstantOut | None
    resumed_at: InstantOut | None = Field(description="When it was last started again after a stop.")


class SubscriptionCreate(InputModel):
    """For a user of the app (``user_id``), a contact (``contact_id``) or any address;
    name, email, language and time zone default to the user's or the contact's."""

    name: Text200 = ""
    email: Email | None = None
    user_id: Id | None = None
    contact_id: Id | None = None
    organisation_id: Id | None = Field(default=None, description="The reader's organisation (a contact's by default).")
    language: Language | None = None
    timezone: Zone | None = None
    cadence: Cadence = Cadence.WEEKLY
    weekday: Integer = Field(default=0, ge=0, le=6)
    send_hour: Integer = Field(default=8, ge=0, le=23)
    filters: SubscriptionFilters = Field(default_factory=SubscriptionFilters)
    include_confidential: bool = Field(
        default=False, description="Only for a user of the app, at their own address, asked by them or an admin."
    )
    send_when_empty: bool = False


class SubscriptionUpdate(InputModel):
    """Only the fields sent change."""

    name: Text200 = Field(default=UNSET, min_length=1)
    email: Email = UNSET
    organisation_id: Id | None = UNSET
    language: Language = UNSET
    timezone: Zone = UNSET
    cadence: Cadence = UNSET
    weekday: Integer = Field(default=UNSET, ge=0, le=6)
    send_hour: Integer = Field(default=UNSET, ge=0, le=23)
    filters: SubscriptionFilters = UNSET
    include_confidential: bool = UNSET
    send_when_empty: bool = UNSET


class SubscriptionQuery(QueryModel):
    is_active: bool = UNSET
    user_id: Id = UNSET
    cadence: Cadence = UNSET
    sort: Literal["name", "-name", "created_at", "-created_at", "id", "-id"] = "name"


SubscriptionList = page_model(SubscriptionOut, "SubscriptionList")


class DigestSend(InputModel):
    period: Text40 = Field(
        default=UNSET,
        description="The finished period to send: 2024-W07 (weekly), 2024-02-16 (daily), 2024-02 (monthly); "
        "the latest finished one if omitted.",
    )
    again: bool = Field(default=False, description="Send an already sent digest again (its archived copy).")


class DigestSent(BaseModel):
    outcome: Literal["queued", "resent"] = Field(description="Queued for the first time, or sent again.")
    period: str
