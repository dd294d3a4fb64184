"""Missions and meetings, as the API reads and writes them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from crm.api.schemas.common import (
    UNSET,
    Day,
    DayOut,
    Id,
    InputModel,
    Instant,
    InstantOut,
    LongText,
    QueryModel,
    ReadModel,
    Search,
    Text200,
    Text300,
    WallTime,
    WallTimeOut,
    Zone,
    _whole,
    page_model,
)

Description = LongText
MissionStatusName = Literal["planned", "under_way", "closed", "archived"]
# How long a meeting lasts, in minutes.
Minutes = Annotated[int, Field(ge=5, le=24 * 60), BeforeValidator(_whole)]


class Place(BaseModel):
    """A city the mission visits, and its time zone."""

    model_config = ConfigDict(extra="forbid")

    name: Text200 = Field(min_length=1)
    timezone: Zone


class MissionOut(ReadModel):
    id: int
    name: str
    name_ar: str
    name_fr: str
    name_en: str
    status: MissionStatusName = Field(description="Closed and archived missions leave the default lists.")
    starts_on: DayOut
    ends_on: DayOut
    places: list[Place] = Field(description="The mission's legs in order (their dates are the web form's).")
    description: str
    organiser_ids: list[int] = Field(description="Organisations that organised the mission.")
    delegate_ids: list[int] = Field(description="Contacts who took part.")
    created_at: InstantOut
    updated_at: InstantOut


class MissionCreate(InputModel):
    name: Text300 = Field(min_length=1)
    name_ar: Text300 = ""
    name_fr: Text300 = ""
    name_en: Text300 = ""
    status: MissionStatusName = "planned"
    starts_on: Day
    ends_on: Day
    places: list[Place] = Field(default_factory=list, max_length=20)
    description: Description = Field(default="", max_length=20000)
    organiser_ids: list[Id] = Field(default_factory=list, max_length=100)
    delegate_ids: list[Id] = Field(default_factory=list, max_length=500)


class MissionUpdate(InputModel):
    """Only the fields sent change; lists are replaced as a whole."""

    name: Text300 = Field(default=UNSET, min_length=1)
    name_ar: Text300 = UNSET
    name_fr: Text300 = UNSET
    name_en: Text300 = UNSET
    status: MissionStatusName = UNSET
    starts_on: Day = UNSET
    ends_on: Day = UNSET
    places: list[Place] = Field(default=UNSET, max_length=20)
    description: Description = Field(default=UNSET, max_length=20000)
    organiser_ids: list[Id] = Field(default=UNSET, max_length=100)
    delegate_ids: list[Id] = Field(default=UNSET, max_length=500)


class MissionQuery(QueryModel):
    q: Search = Field(default=UNSET, description="Words of the mission's name.")
    starts_after: Day = Field(default=UNSET, description="Missions that start on or after this day.")
    sort: Literal["starts_on", "-starts_on", "name", "-name", "created_at", "-created_at", "id", "-id"] = "-starts_on"


MissionList = page_model(MissionOut, "MissionList")


class MeetingOut(ReadModel):
    id: int
    mission_id: int | None
    leg_id: int | None = Field(description="The mission's leg the meeting is on; its zone is the leg's.")
    title: str
    duration_minutes: int
    starts_local: WallTimeOut = Field(description="Wall-clock time at the meeting's place, in `timezone`.")
    timezone: str
    starts_at: InstantOut = Field(description="The same moment in UTC.")
    place: str
    notes: str
    organisation_ids: list[int]
    contact_ids: list[int]
    created_at: InstantOut
    updated_at: InstantOut


class MeetingCreate(InputModel):
    title: Text300 = Field(min_length=1)
    starts_local: WallTime
    timezone: Zone
    mission_id: Id | None = None
    leg_id: Id | None = Field(default=None, description="A leg of the mission: the meeting takes its zone.")
    duration_minutes: Minutes = 60
    place: Text300 = ""
    notes: LongText = ""
    organisation_ids: list[Id] = Field(default_factory=list, max_length=50)
    contact_ids: list[Id] = Field(default_factory=list, max_length=200)


class MeetingUpdate(InputModel):
    """Only the fields sent change; a new time or zone moves the meeting's instant."""

    title: Text300 = Field(default=UNSET, min_length=1)
    starts_local: WallTime = UNSET
    timezone: Zone = UNSET
    leg_id: Id | None = UNSET
    duration_minutes: Minutes = UNSET
    place: Text300 = UNSET
    notes: LongText = UNSET
    organisation_ids: list[Id] = Field(default=UNSET, max_length=50, description="Replaces the organisations met.")
    contact_ids: list[Id] = Field(default=UNSET, max_length=200, description="Replaces the people met.")


class MeetingQuery(QueryModel):
    mission_id: Id = UNSET
    organisation_id: Id = Field(default=UNSET, description="Meetings this organisation attended.")
    starts_after: Instant = Field(default=UNSET, description="Meetings that start at or after this instant.")
    starts_before: Instant = Field(default=UNSET, description="Meetings that start before this instant.")
    sort: Literal["starts_at", "-starts_at", "created_at", "-created_at", "updated_at", "-updated_at", "id", "-id"] = (
        "-starts_at"
    )


MeetingList = page_model(MeetingOut, "MeetingList")
