"""Leads, stage moves and activities, as the API reads and writes them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from crm.api.schemas.common import (
    UNSET,
    Amount,
    AmountOut,
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
    Text300,
    Text2000,
    _whole,
    page_model,
)
from crm.leads.models import ActivityKind, Currency, PartnershipType, Priority, Stage

Percent = Annotated[int, Field(ge=0, le=100), BeforeValidator(_whole)]
PROBABILITY = "The chance of winning the lead, in percent; null: its stage's default probability."
CLOSE_DATE = "When the lead is expected to close."


class LeadOut(ReadModel):
    id: int
    title: str
    description: str
    ma_organisation_id: int = Field(description="The Moroccan side.")
    us_organisation_id: int = Field(description="The US side.")
    mission_id: int | None
    meeting_id: int | None
    sector_id: int | None
    partnership_type: PartnershipType
    stage: Stage
    owner_id: int
    priority: Priority
    estimated_value: AmountOut | None
    currency: Currency | None
    probability: int | None = Field(description=PROBABILITY)
    effective_probability: int = Field(description="The lead's probability, or its stage's default without one.")
    weighted_value: AmountOut | None = Field(description="The estimated value times the effective probability.")
    expected_close_on: DayOut | None = Field(description=CLOSE_DATE)
    confidential: bool = Field(description="Seen only by its owner, its watchers and the administrators.")
    watcher_ids: list[int]
    next_followup_due_at: InstantOut | None = Field(description="When the earliest open follow-up is due.")
    stage_changed_at: InstantOut
    created_at: InstantOut
    updated_at: InstantOut
    last_activity_at: InstantOut | None
    email_address: str = Field(description="Mail sent or copied to this address is filed on the lead.")


class LeadCreate(InputModel):
    """A new lead between a Moroccan and a US organisation; the owner defaults to the caller."""

    title: Text300 = Field(min_length=1)
    ma_organisation_id: Id
    us_organisation_id: Id
    partnership_type: PartnershipType
    owner_id: Id | None = Field(default=UNSET, description="An active officer or admin; the caller if omitted.")
    stage: Stage = Stage.IDENTIFIED
    description: LongText = ""
    mission_id: Id | None = None
    meeting_id: Id | None = Field(default=UNSET, description="The meeting the lead was born in (sets the mission).")
    sector_id: Id | None = None
    priority: Priority = Priority.NORMAL
    estimated_value: Amount | None = None
    currency: Currency | None = Field(default=UNSET, description="Required with an estimated value.")
    probability: Percent | None = Field(default=None, description=PROBABILITY)
    expected_close_on: Day | None = Field(default=None, description=CLOSE_DATE)
    confidential: bool = False
    watcher_ids: list[Id] = Field(default_factory=list, max_length=50)


class LeadUpdate(InputModel):
    """Only the fields sent change; ``watcher_ids`` replaces the watchers.  The stage moves
    with ``POST /api/v1/leads/{lead_id}/stage``."""

    title: Text300 = Field(default=UNSET, min_length=1)
    ma_organisation_id: Id = UNSET
    us_organisation_id: Id = UNSET
    partnership_type: PartnershipType = UNSET
    owner_id: Id = UNSET
    description: LongText = UNSET
    mission_id: Id | None = None
    meeting_id: Id | None = None
    sector_id: Id | None = None
    priority: Priority = UNSET
    estimated_value: Amount | None = None
    currency: Currency | None = None
    probability: Percent | None = Field(default=None, description=PROBABILITY)
    expected_close_on: Day | None = Field(default=None, description=CLOSE_DATE)
    confidential: bool = UNSET
    watcher_ids: list[Id] = Field(default=UNSET, max_length=50)


class StageMove(InputModel):
    stage: Stage
    note: Text2000 = Field(default="", description="Why the lead moved, shown in its timeline.")


LEAD_SORTS = Literal[
    "updated_at",
    "-updated_at",
    "created_at",
    "-created_at",
    "title",
    "-title",
    "stage",
    "-stage",
    "estimated_value",
    "-estimated_value",
    "next_followup_due_at",
    "-next_followup_due_at",
    "id",
    "-id",
]


class LeadQuery(QueryModel):
    stage: list[Stage] = Field(default=UNSET, description="One or more stages (repeat the parameter).")
    sector_id: Id = UNSET
    partnership_type: PartnershipType = UNSET
    ma_organisation_id: Id = UNSET
    us_organisation_id: Id = UNSET
    owner_id: Id = UNSET
    mission_id: Id = UNSET
    meeting_id: Id = UNSET
    priority: Priority = UNSET
    confidential: bool = UNSET
    overdue: bool = Field(default=UNSET, description="Leads with an open follow-up past due (true) or without.")
    due_this_week: bool = Field(
        default=UNSET, description="Leads with an open follow-up due this week, on the caller's clock."
    )
    q: Search = Field(
        default=UNSET,
        description="Every word found in the title, the organisations' names, acronyms and people, or the sector.",
    )
    sort: LEAD_SORTS = Field(default="-updated_at", description="A field name; a leading - sorts descending.")


LeadList = page_model(LeadOut, "LeadList")


class EmailParticipant(BaseModel):
    name: str
    email: str


class EmailOut(BaseModel):
    """The email an activity of kind ``email`` is (filed from a logging address or written
    from the lead)."""

    subject: str
    direction: Literal["inbound", "outbound"] = Field(description="inbound: from outside; outbound: from the team.")
    sender: EmailParticipant
    to: list[EmailParticipant]
    cc: list[EmailParticipant]
    message_id: str
    thread_id: str = Field(description="The Message-ID of the first message of its conversation.")
    attachments: int


class ActivityOut(ReadModel):
    id: int
    lead_id: int
    kind: ActivityKind
    body: str
    occurred_at: InstantOut
    author_id: int | None
    created_at: InstantOut
    email: EmailOut | None = Field(default=None, description="Only for an activity of kind email.")


class ActivityCreate(InputModel):
    lead_id: Id
    kind: ActivityKind
    body: LongText = Field(min_length=1)
    occurred_at: Instant | None = Field(
        default=UNSET, description="When it happened (not in the future); now if omitted."
    )


class ActivityQuery(QueryModel):
    lead_id: Id = UNSET
    kind: ActivityKind = UNSET
    author_id: Id = UNSET
    occurred_after: Instant = UNSET
    occurred_before: Instant = UNSET
    sort: Literal["occurred_at", "-occurred_at", "created_at", "-created_at", "id", "-id"] = "-occurred_at"


ActivityList = page_model(ActivityOut, "ActivityList")
