"""A prepared week of partnership activity for digest tests (week 48 of 2026)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from crm.core.events import Event
from crm.digests.models import Subscription
from crm.digests.operations import create_subscription
from crm.followups.models import FollowUp
from crm.followups.operations import cancel_followup, complete_followup
from crm.leads.models import Lead
from crm.leads.operations import move_lead_to_stage, update_lead
from crm.missions.operations import log_meeting
from crm.organisations.operations import create_contact
from crm.reference.operations import create_sector
from tests.factories import make_followup, make_lead, make_organisation, make_user

WEEK_START = datetime(2026, 11, 23, tzinfo=UTC)  # Monday; Casablanca is UTC+0 since 2026-09-20
SEND_AT = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 08:00 in Casablanca


def utc(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def backdate(session: Session, lead: Lead, when: datetime) -> None:
    """Pretend the lead (and everything recorded about it so far) happened at ``when``."""
    session.flush()
    session.execute(
        sa.update(Lead).where(col(Lead.id) == lead.id).values(created_at=when, updated_at=when, stage_changed_at=when)
    )
    session.execute(sa.update(Event).where(col(Event.lead_id) == lead.id).values(occurred_at=when))
    session.expire(lead)


def move_at(session: Session, lead: Lead, stage: str, when: datetime, actor: Any) -> None:
    move_lead_to_stage(session, lead, stage, actor=actor)
    session.flush()
    last = session.execute(
        sa.select(sa.func.max(Event.id)).where(Event.lead_id == lead.id, Event.type == "lead.stage_changed")
    ).scalar_one()
    session.execute(sa.update(Event).where(col(Event.id) == last).values(occurred_at=when))
    session.execute(sa.update(Lead).where(col(Lead.id) == lead.id).values(stage_changed_at=when, updated_at=when))
    session.expire(lead)


@dataclass
class Week:
    officer: Any
    subscription: Subscription
    in_week: Lead  # DGSSI × Palo Alto, created and advanced this week
    signed: Lead  # DGSSI × Cisco, created the week before, agreement signed this week
    confidential: Lead
    other_sector: Lead
    cold: Lead
    meeting_title: str


def prepare_week(session: Session, *, language: str = "ar", lead_count: int = 0) -> Week:
    officer = make_user(session, name="Salma Officer", language="fr")
    cyber = create_sector(
        session, code="cyber_t", name_ar="الأمن السيبراني", name_fr="Cybersécurité", name_en="Cybersecurity"
    )
    cloud = create_sector(session, code="cloud_t", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")
    dgssi = make_organisation(
        session,
        "MA",
        name_ar="المديرية العامة لأمن نظم المعلومات",
        name_fr="Direction Générale de la Sécurité des Systèmes d'Information",
        name_en="General Directorate of Information Systems Security",
        acronym="DGSSI",
    )
    palo = make_organisation(session, "US", name_en="Palo Alto Networks")
    cisco = make_organisation(session, "US", name_en="Cisco")
    common = {"ma_organisation_id": dgssi.id, "sector_id": cyber.id, "owner": officer}
    in_week = make_lead(session, title="SOC workshop", us_organisation_id=palo.id, **common)
    backdate(session, in_week, utc(24))
    move_at(session, in_week, "contacted", utc(25), officer)
    signed = make_lead(
        session,
        title="Cyber training MoU",
        us_organisation_id=cisco.id,
        estimated_value="500000",
        currency="MAD",
        **common,
    )
    backdate(session, signed, utc(17))
    move_at(session, signed, "agreement_signed", utc(26), officer)
    confidential = make_lead(session, title="Secret audit", us_organisation_id=palo.id, confidential=True, **common)
    backdate(session, confidential, utc(24))
    other = make_lead(
        session,
        title="Cloud migration",
        ma_organisation_id=dgssi.id,
        us_organisation_id=cisco.id,
        sector_id=cloud.id,
        owner=officer,
    )
    backdate(session, other, utc(24))
    cold = make_lead(
        session,
        title="Threat intel sharing",
        us_organisation_id=cisco.id,
        estimated_value="20000",
        currency="USD",
        **common,
    )
    backdate(session, cold, utc(1, month=9))
    for n in range(lead_count):
        extra = make_lead(session, title=f"Bulk lead {n}", us_organisation_id=palo.id, **common)
        backdate(session, extra, utc(3, month=10))
    overdue = make_followup(
        session, in_week, datetime(2026, 11, 27, 9), title="Send the workshop agenda", actor=officer
    )
    upcoming = make_followup(session, in_week, datetime(2026, 12, 2, 9), title="Confirm the trainers", actor=officer)
    meeting = log_meeting(
        session,
        title="DGSSI × Palo Alto call",
        starts_local=datetime(2026, 11, 25, 15),
        timezone="Africa/Casablanca",
        organisation_ids=[dgssi.id, palo.id],
        actor=officer,
    )
    contact = create_contact(
        session,
        organisation_id=dgssi.id,
        name="Nadia Focal",
        email="nadia@dgssi.example",
        language=language,
        actor=officer,
    )
    subscription = create_subscription(
        session,
        name="",
        contact_id=contact.id,
        language=language,
        timezone="Africa/Casablanca",
        filters={"ma_organisation_ids": [dgssi.id], "sector_ids": [cyber.id]},
        actor=officer,
    )
    session.flush()
    session.execute(sa.update(Subscription).where(col(Subscription.id) == subscription.id).values(created_at=utc(25)))
    session.execute(
        sa.update(FollowUp).where(col(FollowUp.id).in_([overdue.id, upcoming.id])).values(created_at=utc(24))
    )
    session.commit()
    session.refresh(subscription)
    assert meeting.id
    return Week(officer, subscription, in_week, signed, confidential, other, cold, meeting.title)


def update_at(session: Session, lead: Lead, when: datetime, actor: Any, **fields: Any) -> None:
    """Change plain fields of the lead as if it had been done at ``when`` (if they change)."""
    if not update_lead(session, lead, actor=actor, **fields):
        return
    session.flush()
    last = session.execute(
        sa.select(sa.func.max(Event.id)).where(Event.lead_id == lead.id, Event.type == "lead.updated")
    ).scalar_one()
    session.execute(sa.update(Event).where(col(Event.id) == last).values(occurred_at=when))
    session.execute(sa.update(Lead).where(col(Lead.id) == lead.id).values(updated_at=when))
    session.expire(lead)


def followup_at(session: Session, lead: Lead, created: datetime, due: datetime, actor: Any, *, title: str) -> FollowUp:
    """A follow-up scheduled at ``created`` (UTC), due at ``due`` (UTC)."""
    followup = make_followup(session, lead, due.replace(tzinfo=None), "UTC", title=title, actor=actor)
    session.flush()
    session.execute(
        sa.update(FollowUp).where(col(FollowUp.id) == followup.id).values(created_at=created, updated_at=created)
    )
    session.expire(followup)
    return followup


def close_at(session: Session, followup: FollowUp, when: datetime, actor: Any, *, done: bool) -> None:
    """Mark the follow-up done (or cancel it) as if at ``when``."""
    if done:
        complete_followup(session, followup, actor=actor)
    else:
        cancel_followup(session, followup, actor=actor)
    session.flush()
    values: dict[str, Any] = {"updated_at": when}
    if done:
        values["completed_at"] = when
    session.execute(sa.update(FollowUp).where(col(FollowUp.id) == followup.id).values(**values))
    session.expire(followup)
