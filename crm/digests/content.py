"""What a digest says, as plain data that renders in any of the three languages.

Every figure states its moment: the period's new leads, stage moves and signatures are
the period's; the pipeline and its value are as of the period's end (``as_of``); the
follow-ups and the leads that need attention are as of the moment the digest is compiled
for sending (``now``).  Each figure of the period is compared with the period before,
measured the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm.digests.periods import Period


@dataclass(frozen=True)
class LeadItem:
    lead_id: int
    title: str
    ma: dict[str, str]
    us: dict[str, str]
    stage: str
    owner: str


@dataclass(frozen=True)
class Move:
    lead: LeadItem
    from_stage: str
    to_stage: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Due:
    lead: LeadItem
    title: str
    due_at: datetime
    owner: str


@dataclass(frozen=True)
class MeetingItem:
    meeting_id: int
    title: str
    starts_at: datetime
    place: str


@dataclass(frozen=True)
class Attention:
    """An open lead that needs someone: follow-ups overdue now, or no event for a while."""

    lead: LeadItem
    overdue: int  # its follow-ups overdue at the moment of sending
    quiet_since: datetime | None  # its last recorded change, when that is long ago


@dataclass(frozen=True)
class EmailTally:
    """Emails exchanged in the period on the leads with one US organisation."""

    organisation: dict[str, str]
    count: int


@dataclass
class MissionCard:
    """A mission's results at the period's end: the leads born from its meetings."""

    mission_id: int
    name: str
    meetings_held: int
    leads: int
    pipeline: dict[str, int]  # by stage, pipeline order
    value: dict[str, str]  # open value by currency
    signed: int
    signed_value: dict[str, str]


def money(amounts: dict[str, Decimal]) -> dict[str, str]:
    """``{"MAD": Decimal(1200)}`` → ``{"MAD": "1200.00"}``, currencies in order, zeros left out."""
    return {code: f"{amount:.2f}" for code, amount in sorted(amounts.items()) if amount}


@dataclass
class Digest:
    subscription_id: int
    period: Period
    now: datetime  # the moment the digest is compiled for sending
    as_of: datetime  # the instant the pipeline describes: the period's end, or ``now`` before it
    figures: dict[str, int]  # this period: new_leads, moves, signed; overdue at ``now``
    previous: dict[str, int]  # the same, a period earlier
    pipeline: dict[str, int]  # leads by stage at the period's end (pipeline order)
    value: dict[str, str]  # open pipeline value at the period's end, by currency
    previous_value: dict[str, str]  # the same at the previous period's end
    signed_value: dict[str, str]  # value of the agreements signed in the period
    previous_signed_value: dict[str, str]
    moves: list[Move] = field(default_factory=list)
    new_leads: list[LeadItem] = field(default_factory=list)
    overdue: list[Due] = field(default_factory=list)
    upcoming: list[Due] = field(default_factory=list)
    meetings: list[MeetingItem] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    attention_more: int = 0  # leads needing attention beyond the list
    overdue_more: int = 0
    upcoming_more: int = 0
    missions: list[MissionCard] = field(default_factory=list)
    emails: list[EmailTally] = field(default_factory=list)
    links: bool = False

    @property
    def finished(self) -> bool:
        """The period is over at the moment of compiling (always so for a digest sent)."""
        return self.as_of >= self.period.end

    @property
    def is_empty(self) -> bool:
        """Nothing happened and nothing is due: such a digest is not sent (unless asked)."""
        return not (
            any(self.figures.values()) or self.moves or self.meetings or self.overdue or self.upcoming or self.emails
        )

    def change(self, name: str) -> int:
        return self.figures.get(name, 0) - self.previous.get(name, 0)

    def value_change(self, currency: str) -> Decimal:
        return Decimal(self.value.get(currency, "0")) - Decimal(self.previous_value.get(currency, "0"))

    def signed_value_change(self, currency: str) -> Decimal:
        return Decimal(self.signed_value.get(currency, "0")) - Decimal(self.previous_signed_value.get(currency, "0"))

    def value_currencies(self) -> list[str]:
        """Currencies of the open value now or at the previous end (a currency that fell to
        nothing still shows its change)."""
        return sorted(set(self.value) | set(self.previous_value))

    def signed_currencies(self) -> list[str]:
        return sorted(set(self.signed_value) | set(self.previous_signed_value))

    def summary(self) -> dict[str, Any]:
        """The figures kept in the archive."""
        return {
            "as_of": self.as_of.isoformat(),
            "now": self.now.isoformat(),
            "figures": self.figures,
            "previous": self.previous,
            "pipeline": self.pipeline,
            "value": self.value,
            "previous_value": self.previous_value,
            "signed_value": self.signed_value,
            "previous_signed_value": self.previous_signed_value,
            "moved_lead_ids": [m.lead.lead_id for m in self.moves],
            "new_lead_ids": [i.lead_id for i in self.new_leads],
            "overdue": self.figures.get("overdue", 0),
            "upcoming": len(self.upcoming) + self.upcoming_more,
            "meetings": len(self.meetings),
            "attention": len(self.attention) + self.attention_more,
            "missions": [card.mission_id for card in self.missions],
            "emails": sum(t.count for t in self.emails),
        }
