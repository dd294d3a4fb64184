"""Demo digest subscriptions: stakeholders who read the weekly digest in their language."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from crm.demo.data import OFFICER_EMAIL
from crm.digests.models import Subscription
from crm.digests.operations import create_subscription
from crm.organisations.models import Contact, Country, Organisation, OrganisationKind


def load_subscriptions(loader: Any) -> None:
    """Four subscriptions, each found again by its address, so a second run changes nothing."""
    session: Session = loader.session
    orgs: dict[str, Organisation] = loader.organisations
    contacts: dict[str, Contact] = loader.contacts
    officer = loader.users[OFFICER_EMAIL]
    federations = [
        o.id for o in orgs.values() if o.country == Country.MA and o.kind == OrganisationKind.FEDERATION and o.id
    ]
    wanted: list[dict[str, Any]] = [
        {
            "contact_id": contacts["y.benali@dgssi.example"].id,
            "language": "ar",
            "filters": {"sector_ids": [loader.sectors["cybersecurity"].id]},
        },
        {
            "contact_id": contacts["n.elfassi@cgem.example"].id,
            "language": "fr",
            "filters": {"ma_organisation_ids": sorted(federations)},
        },
        {
            "contact_id": contacts["d.brooks@paloaltonetworks.example"].id,
            "language": "en",
            "filters": {"us_organisation_ids": [orgs["PALO_ALTO"].id]},
        },
        {"user_id": officer.id, "filters": {"owner_ids": [officer.id]}, "include_confidential": True},
    ]
    for spec in wanted:
        column, value = (
            (Subscription.user_id, spec["user_id"])
            if "user_id" in spec
            else (Subscription.contact_id, spec["contact_id"])
        )
        existing = session.exec(select(Subscription.id).where(col(column) == value)).first()
        if existing is None:
            create_subscription(session, name="", actor=officer, **spec)
        loader.report.add("subscriptions", created=existing is None)
