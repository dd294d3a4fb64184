"""Factory helpers: realistic rows made through the operations (so events are recorded)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlmodel import Session

from crm.accounts.models import Role, User
from crm.accounts.operations import create_user
from crm.followups.models import FollowUp
from crm.followups.operations import schedule_followup
from crm.leads.models import Lead, PartnershipType
from crm.leads.operations import create_lead
from crm.organisations.models import Country, Organisation, OrganisationKind
from crm.organisations.operations import create_organisation

_seq = itertools.count(1)
PASSWORD = "Correct-Horse-42"


def make_user(session: Session, role: Role | str = Role.OFFICER, **kwargs: Any) -> User:
    n = next(_seq)
    kwargs.setdefault("email", f"user{n}@jisr.example")
    kwargs.setdefault("name", f"User {n}")
    kwargs.setdefault("password", PASSWORD)
    return create_user(session, role=role, **kwargs)


def make_organisation(session: Session, country: Country | str = Country.MA, **kwargs: Any) -> Organisation:
    n = next(_seq)
    kwargs.setdefault("kind", OrganisationKind.AGENCY if Country(country) == Country.MA else OrganisationKind.COMPANY)
    kwargs.setdefault("name_en", f"Organisation {n}")
    return create_organisation(session, country=country, **kwargs)


def make_lead(session: Session, *, owner: User | None = None, **kwargs: Any) -> Lead:
    n = next(_seq)
    owner = owner or make_user(session)
    if "ma_organisation_id" not in kwargs:
        kwargs["ma_organisation_id"] = make_organisation(session, Country.MA).id
    if "us_organisation_id" not in kwargs:
        kwargs["us_organisation_id"] = make_organisation(session, Country.US).id
    kwargs.setdefault("title", f"Lead {n}")
    kwargs.setdefault("partnership_type", PartnershipType.TECHNOLOGY_PARTNERSHIP)
    return create_lead(session, owner_id=owner.id, actor=owner, **kwargs)


def make_followup(
    session: Session, lead: Lead, due_local: datetime, timezone: str = "Africa/Casablanca", **kwargs: Any
) -> FollowUp:
    kwargs.setdefault("title", "Send the proposal")
    return schedule_followup(session, lead, due_local=due_local, timezone=timezone, **kwargs)
