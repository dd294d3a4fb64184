"""A lead's stage and value at a past instant, read back from the event log.

The digest reads each lead's state now, and the stage and value changes recorded since
the start of the previous period (shared by a chunk of digests).  Undoing, newest to
oldest, the changes recorded at or after an instant gives the state at that instant: the
stage a lead had at a period's end is the ``from`` of its first stage change at or after
the end, or its stage now if it has none since; the same for its estimated value and its
currency.  Given a complete log, this is the to-stage of its last change before the end,
else the stage it was created in.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from crm.digests.by_lead import StageChanges
from crm.digests.content import MissionCard, money
from crm.digests.facts import AmountChange, MissionFacts
from crm.leads.models import PIPELINE, Stage

SIGNED = Stage.AGREEMENT_SIGNED.value


def add_amount(total: dict[str, Decimal], amount: Any, currency: Any) -> None:
    """Add a lead's value to per-currency totals (a lead without value or currency adds nothing)."""
    if currency is not None and amount is not None:
        # SQLite hands NUMERIC values over as int or float, the log as strings: read them as written.
        total[str(currency)] = total.get(str(currency), Decimal(0)) + Decimal(str(amount))


class History:
    def __init__(self, stages: StageChanges, amounts: dict[int, list[AmountChange]]) -> None:
        self.stages = stages
        self.amounts = amounts

    def stage_at(self, lead_id: int, stage: str, instant: datetime) -> str:
        """The lead's stage just before ``instant`` (``stage``: its stage now)."""
        return self.stages.stage_at(lead_id, stage, instant)

    def amount_at(self, lead_id: int, value: Any, currency: Any, instant: datetime) -> tuple[Any, Any]:
        """The lead's (estimated value, currency) just before ``instant``."""
        changes = self.amounts.get(lead_id)
        if changes:
            value_known = currency_known = False
            for change in changes:
                if change.occurred_at < instant:
                    continue
                if change.value is not None and not value_known:
                    value, value_known = change.value[0], True
                if change.currency is not None and not currency_known:
                    currency, currency_known = change.currency[0], True
                if value_known and currency_known:
                    break
        return value, currency


class MissionTally:
    """A mission's scorecard as the lead scan goes: its leads by stage at the period's end,
    their open value, the agreements signed and their value."""

    def __init__(self, mission: MissionFacts) -> None:
        self.mission = mission
        self.leads = 0
        self.pipeline = {stage.value: 0 for stage in PIPELINE}
        self.value: dict[str, Decimal] = {}
        self.signed_value: dict[str, Decimal] = {}

    def count(self, stage: str, amount: Any, currency: Any) -> None:
        self.leads += 1
        if stage in self.pipeline:
            self.pipeline[stage] += 1
            add_amount(self.signed_value if stage == SIGNED else self.value, amount, currency)

    def card(self) -> MissionCard:
        return MissionCard(
            self.mission.mission_id,
            self.mission.name,
            self.mission.meetings_held,
            self.leads,
            self.pipeline,
            money(self.value),
            self.pipeline[SIGNED],
            money(self.signed_value),
        )
