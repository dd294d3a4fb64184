"""A prepared week of partnership activity for digest tests (week 48 of 2026), and a
generated fortnight (weeks 47 and 48) of backdated events."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from crm.core.events import Event
from crm.digests.models import Cadence, Subscription
from crm.digests.operations import create_subscription
from crm.digests.periods import Period, latest_due_period
from crm.followups.models import FollowUp
from crm.followups.operations import cancel_followup, complete_followup
from crm.leads.models import PIPELINE, Lead, Stage
from crm.leads.operations import move_lead_to_stage, update_lead
from crm.missions.operations import create_mission, log_meeting
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


# --- a generated fortnight -------------------------------------------------------------

AMOUNTS = [(None, None), ("150000", "MAD"), ("90000", "MAD"), ("25000", "USD"), ("400000", "MAD"), ("60000", "USD")]


@dataclass
class World:
    subscription: Subscription
    period: Period
    previous: Period
    now: datetime
    mission_ids: list[int]


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole second in ``[start, end)``."""
    return start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


def build_fortnight(
    session: Session, seed: int, scope: str, late: timedelta, count: int = 16, language: str = "en"
) -> World:
    """Leads created at random moments (long before, the week before, the week, after its
    end), moved, re-valued, with follow-ups scheduled, done, cancelled or left open, all
    backdated; some are out of the subscription's scope or confidential."""
    rng = random.Random(seed)
    officer = make_user(session, name="Salma Officer")
    ours = make_organisation(session, "MA", name_en="Digital Development Agency", acronym="ADD")
    theirs = make_organisation(session, "MA", name_en="Another ministry")
    us = make_organisation(session, "US", name_en="Oracle")
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, "UTC", 0, 8)
    previous = period.previous(Cadence.WEEKLY, "UTC", 0, 8)
    now = SEND_AT + late
    mission = create_mission(
        session, name="Houston tech mission", starts_on=date(2026, 11, 16), ends_on=date(2026, 11, 27), actor=officer
    )
    meetings = [
        log_meeting(
            session,
            title=f"Houston meeting {n}",
            starts_local=when.replace(tzinfo=None),
            timezone="UTC",
            mission_id=mission.id,
            organisation_ids=[ours.id, us.id],
            actor=officer,
        )
        for n, when in enumerate([previous.start + timedelta(days=2), period.start + timedelta(days=3), now])
    ]
    beginning = previous.start - timedelta(days=70)
    buckets = [(beginning, previous.start), (previous.start, period.start), (period.start, period.end)]
    buckets.append((period.end, now - timedelta(minutes=30)))
    dues = [(previous.start, period.end), (period.end, now), (now, now + timedelta(days=10))]
    for n in range(count):
        start, end = rng.choice(buckets)
        created = _moment(rng, start, end)
        amount, currency = rng.choice(AMOUNTS)
        extra: dict[str, Any] = {}
        if amount:
            extra.update(estimated_value=amount, currency=currency)
        if scope == "mission" and rng.random() < 0.7:
            extra["meeting_id"] = rng.choice(meetings[:2]).id
        lead = make_lead(
            session,
            title=f"Lead {seed}-{n}",
            owner=officer,
            ma_organisation_id=ours.id if rng.random() < 0.8 else theirs.id,
            us_organisation_id=us.id,
            stage=rng.choice(["identified", "identified", "contacted", "proposal"]),
            confidential=rng.random() < 0.1,
            **extra,
        )
        backdate(session, lead, created)
        actions = [("move", _moment(rng, created, now)) for _ in range(rng.randrange(4))]
        actions += [("value", _moment(rng, created, now)) for _ in range(rng.randrange(3))]
        for kind, when in sorted(actions, key=lambda action: action[1]):
            if kind == "move":
                current = session.get(Lead, lead.id)
                assert current is not None
                rank = current.stage.rank
                ahead = PIPELINE[rank + 1] if 0 <= rank < len(PIPELINE) - 1 else None
                stage = ahead if ahead and rng.random() < 0.6 else rng.choice([s for s in Stage if s != current.stage])
                move_at(session, lead, stage.value, when, officer)
            else:
                amount, currency = rng.choice(AMOUNTS[1:])
                update_at(session, lead, when, officer, estimated_value=Decimal(amount), currency=currency)
        for m in range(rng.randrange(3)):
            scheduled = _moment(rng, created, now)
            start, end = rng.choice(dues)
            due = _moment(rng, max(start, scheduled - timedelta(days=3)), max(end, scheduled))
            followup = followup_at(session, lead, scheduled, due, officer, title=f"Follow-up {seed}-{n}-{m}")
            fate = rng.random()
            if fate < 0.4:
                close_at(session, followup, _moment(rng, scheduled, now), officer, done=fate < 0.3)
    filters = {"mission_ids": [mission.id]} if scope == "mission" else {"ma_organisation_ids": [ours.id]}
    subscription = create_subscription(
        session,
        name="Nadia Focal",
        email="nadia@add.example",
        language=language,
        timezone="UTC",
        filters=filters,
        actor=officer,
    )
    session.commit()
    return World(subscription, period, previous, now, [int(mission.id or 0)] if scope == "mission" else [])
