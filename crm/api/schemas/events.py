"""The event feed, the caller and the reference lists, as the API reads them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.accounts.models import Language, Role
from crm.api.models import TokenScope
from crm.api.schemas.common import UNSET, Id, InstantOut, QueryModel, ReadModel, Text64, page_model

CURSOR_PATTERN = r"^[0-9]{1,18}$"


class EventOut(ReadModel):
    id: int
    type: str = Field(description="What happened, e.g. lead.stage_changed, followup.done.")
    occurred_at: InstantOut
    actor_id: int | None = Field(description="The user who did it; null for the system.")
    entity_type: str = Field(description="The kind of row it is about, e.g. lead, followup, organisation.")
    entity_id: int | None
    lead_id: int | None = Field(description="The lead it belongs to, if any.")
    payload: dict[str, Any] = Field(description="The facts of the change; its shape depends on the type.")


class EventQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: str = Field(
        default=UNSET,
        pattern=CURSOR_PATTERN,
        description="The next_cursor of the previous page; from the first event if omitted.",
    )
    limit: int = Field(default=100, ge=1, le=500, description="Events per page (at most 500).")
    type: list[Text64] = Field(default=UNSET, description="Only events of these types (repeat the parameter).")
    lead_id: Id = Field(default=UNSET, description="Only the events of this lead.")


class EventFeed(BaseModel):
    items: list[EventOut] = Field(description="Oldest first.")
    next_cursor: str = Field(
        description="Give it as ``after`` to read on; the same cursor comes back while nothing new happened."
    )


class TokenInfo(BaseModel):
    name: str
    scope: TokenScope
    prefix: str
    expires_at: InstantOut | None


class MeOut(BaseModel):
    id: int
    name: str
    email: str
    role: Role
    language: Language
    timezone: str
    email_address: str = Field(description="The user's logging address: mail they copy to it is filed on leads.")
    token: TokenInfo


class UserOut(ReadModel):
    id: int
    name: str
    email: str
    role: Role
    is_active: bool


class UserQuery(QueryModel):
    is_active: bool = UNSET
    role: Role = UNSET
    sort: Literal["name", "-name", "id", "-id"] = "name"


UserList = page_model(UserOut, "UserList")


class SectorOut(ReadModel):
    id: int
    code: str
    name_ar: str
    name_fr: str
    name_en: str
    position: int
    is_active: bool


class SectorQuery(QueryModel):
    is_active: bool = UNSET


SectorList = page_model(SectorOut, "SectorList")
