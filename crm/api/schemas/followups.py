"""Follow-ups, as the API reads and writes them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from crm.api.schemas.common import (
    UNSET,
    Id,
    InputModel,
    Instant,
    InstantOut,
    QueryModel,
    ReadModel,
    Text300,
    Text2000,
    WallTime,
    WallTimeOut,
    Zone,
    page_model,
)
from crm.followups.models import FollowUpStatus


class FollowUpOut(ReadModel):
    id: int
    lead_id: int
    title: str
    due_local: WallTimeOut = Field(description="Wall-clock due time in `timezone`.")
    timezone: str
    due_at: InstantOut = Field(description="The same moment in UTC.")
    owner_id: int
    status: FollowUpStatus
    due_version: int = Field(description="Bumped on each reschedule.")
    completed_at: InstantOut | None
    created_at: InstantOut
    updated_at: InstantOut


class FollowUpCreate(InputModel):
    """A dated next step on a lead; its owner (the lead's owner if omitted) is reminded."""

    lead_id: Id
    title: Text300 = Field(min_length=1)
    due_local: WallTime
    timezone: Zone | None = Field(default=UNSET, description="The owner's time zone if omitted.")
    owner_id: Id | None = None


class FollowUpUpdate(InputModel):
    """Reschedule (``due_local``, ``timezone``), reassign (``owner_id``) or close (``status``)
    an open follow-up; only the fields sent change."""

    due_local: WallTime = UNSET
    timezone: Zone = UNSET
    owner_id: Id = UNSET
    status: Literal["done", "cancelled"] = Field(default=UNSET, description="Mark it done, or cancel it.")
    reason: Text2000 = Field(default=UNSET, description="Why it is cancelled (with status cancelled).")


class FollowUpQuery(QueryModel):
    lead_id: Id = UNSET
    owner_id: Id = UNSET
    status: FollowUpStatus = UNSET
    due_after: Instant = UNSET
    due_before: Instant = UNSET
    sort: Literal["due_at", "-due_at", "created_at", "-created_at", "updated_at", "-updated_at", "id", "-id"] = "due_at"


FollowUpList = page_model(FollowUpOut, "FollowUpList")
