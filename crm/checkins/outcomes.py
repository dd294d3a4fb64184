"""What a check-in answer says, in the reader's words, and when it contradicts the lead."""

from __future__ import annotations

from typing import Any

from crm.checkins.models import Outcome
from crm.core.i18n import lazy_gettext as _l
from crm.leads.models import Stage

OUTCOME_LABELS: dict[Outcome, Any] = {
    Outcome.NO_FURTHER_CONTACT: _l("No further contact"),
    Outcome.TALKING: _l("We are talking"),
    Outcome.NEGOTIATING: _l("We are negotiating"),
    Outcome.AGREEMENT_SIGNED: _l("Agreement or pilot signed"),
    Outcome.NOT_RELEVANT: _l("Not relevant"),
}

ALIVE = frozenset({Stage.PROPOSAL, Stage.NEGOTIATION})


def outcome_label(value: Any) -> str:
    try:
        return str(OUTCOME_LABELS[Outcome(getattr(value, "value", value))])
    except ValueError:
        return str(value)


def contradicts(outcome: Outcome, stage: Stage) -> bool:
    """Whether an answer contradicts the lead's stage, so that its owner should look again:

    * "agreement or pilot signed" while the lead is anywhere but ``agreement_signed`` (the
      pipeline is behind, or the two sides disagree);
    * "no further contact" or "not relevant" while the lead is at ``proposal`` or
      ``negotiation`` (Jisr believes it alive);
    * "talking" or "negotiating" while the lead is closed (``closed_no_go``): it lives again.

    Anything else is news, not a contradiction: "talking" about an identified lead, or
    "no further contact" about one on hold or signed, fits what Jisr shows well enough."""
    if outcome == Outcome.AGREEMENT_SIGNED:
        return stage != Stage.AGREEMENT_SIGNED
    if outcome in (Outcome.NO_FURTHER_CONTACT, Outcome.NOT_RELEVANT):
        return stage in ALIVE
    return stage == Stage.CLOSED_NO_GO
