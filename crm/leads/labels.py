"""Translated labels of the lead vocabulary, for pages, emails and exports."""

from __future__ import annotations

from typing import Any

from crm.core.i18n import lazy_gettext as _l
from crm.leads.models import ActivityKind, PartnershipType, Priority, Stage

STAGE_LABELS = {
    Stage.IDENTIFIED: _l("Identified"),
    Stage.CONTACTED: _l("Contacted"),
    Stage.MEETING_HELD: _l("Meeting held"),
    Stage.PROPOSAL: _l("Proposal"),
    Stage.NEGOTIATION: _l("Negotiation"),
    Stage.AGREEMENT_SIGNED: _l("Agreement signed"),
    Stage.CLOSED_NO_GO: _l("Closed (no go)"),
    Stage.ON_HOLD: _l("On hold"),
}

PARTNERSHIP_TYPE_LABELS = {
    PartnershipType.TECHNOLOGY_PARTNERSHIP: _l("Technology partnership"),
    PartnershipType.INVESTMENT: _l("Investment"),
    PartnershipType.TRAINING_AND_SKILLS: _l("Training and skills"),
    PartnershipType.TECHNOLOGY_TRANSFER: _l("Technology transfer"),
    PartnershipType.B2B_SALE: _l("B2B sale"),
    PartnershipType.EXCHANGE_PROGRAMME: _l("Exchange programme"),
    PartnershipType.CAPACITY_BUILDING: _l("Capacity building"),
    PartnershipType.PILOT: _l("Pilot"),
}

PRIORITY_LABELS = {
    Priority.LOW: _l("Low"),
    Priority.NORMAL: _l("Normal"),
    Priority.HIGH: _l("High"),
}

ACTIVITY_KIND_LABELS = {
    ActivityKind.NOTE: _l("Note"),
    ActivityKind.CALL: _l("Call"),
    ActivityKind.EMAIL: _l("Email message"),
    ActivityKind.MEETING: _l("Meeting"),
}


def stage_label(stage: Any) -> str:
    return str(STAGE_LABELS[Stage(stage)])


def partnership_type_label(value: Any) -> str:
    return str(PARTNERSHIP_TYPE_LABELS[PartnershipType(value)])
