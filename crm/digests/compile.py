"""What a digest says, as plain data, from the event log and the current state.

Every figure and list is one set-based query over the subscription's leads, so the number
of statements per digest stays the same whether it covers one lead or fifty thousand.
Names of organisations are kept in the three languages, so the same facts render in
Arabic, French or English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.events import Event
from crm.digests.models import Subscription
from crm.digests.periods import Period
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import PIPELINE, Lead, Stage
from crm.leads.queries import visible_to
from crm.missions.models import Meeting, MeetingOrganisation
from crm.organisations.models import Organisation

LANGUAGES = ("ar", "fr", "en")
LIST_LIMIT = 25
COLD_AFTER = timedelta(days=30)
UPCOMING = timedelta(days=7)


def names(org: Organisation) -> dict[str, str]:
    return {lang: org.short_name(lang) for lang in LANGUAGES}


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


@dataclass
class Digest:
    subscription_id: int
    period: Period
    figures: dict[str, int]  # this period
    previous: dict[str, int]  # the period before
    pipeline: dict[str, int]  # open leads by stage (pipeline order)
    value: dict[str, str]  # open pipeline value by currency, e.g. {"MAD": "1200000.00"}
    moves: list[Move] = field(default_factory=list)
    new_leads: list[LeadItem] = field(default_factory=list)
    overdue: list[Due] = field(default_factory=list)
    upcoming: list[Due] = field(default_factory=list)
    meetings: list[MeetingItem] = field(default_factory=list)
    cold: list[LeadItem] = field(default_factory=list)
    links: bool = False

    @property
    def is_empty(self) -> bool:
        """Nothing happened and nothing is due: such a digest is not sent (unless asked)."""
        return not (any(self.figures.values()) or self.moves or self.meetings or self.overdue or self.upcoming)

    def change(self, name: str) -> int:
        return self.figures.get(name, 0) - self.previous.get(name, 0)

    def summary(self) -> dict[str, Any]:
        """The figures kept in the archive."""
        return {
            "figures": self.figures,
            "previous": self.previous,
            "pipeline": self.pipeline,
            "value": self.value,
            "moved_lead_ids": [m.lead.lead_id for m in self.moves],
            "new_lead_ids": [i.lead_id for i in self.new_leads],
            "overdue": len(self.overdue),
            "upcoming": len(self.upcoming),
            "meetings": len(self.meetings),
            "cold": len(self.cold),
        }


def lead_scope(subscription: Subscription, user: User | None) -> list[Any]:
    """Conditions on ``Lead`` for this subscription: its filters and who may read it."""
    filters = subscription.filters or {}
    found: list[Any] = []
    columns = {
        "ma_organisation_ids": Lead.ma_organisation_id,
        "us_organisation_ids": Lead.us_organisation_id,
        "sector_ids": Lead.sector_id,
        "partnership_types": Lead.partnership_type,
        "owner_ids": Lead.owner_id,
        "mission_ids": Lead.mission_id,
    }
    for key, column in columns.items():
        if filters.get(key):
            found.append(col(column).in_(filters[key]))
    if user is None or not user.is_active:
        # External stakeholders never read confidential leads.
        found.append(col(Lead.confidential).is_(False))
    else:
        found.append(visible_to(user))
        if not subscription.include_confidential:
            found.append(col(Lead.confidential).is_(False))
    return found


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return sa.and_(column >= start, column < end)


def _counts(
    session: Session, scope: list[Any], current: Period, previous: Period
) -> tuple[dict[str, int], dict[str, int]]:
    """New leads, stage advances and agreements signed, this period and the one before."""
    created = session.execute(
        select(
            sa.func.count().filter(_in(col(Lead.created_at), current.start, current.end)),
            sa.func.count().filter(_in(col(Lead.created_at), previous.start, previous.end)),
        ).where(*scope, col(Lead.created_at) >= previous.start, col(Lead.created_at) < current.end)
    ).one()
    advanced = Event.payload["advanced"].as_boolean().is_(True)
    signed = Event.payload["to"].as_string() == Stage.AGREEMENT_SIGNED.value
    moved = session.execute(
        select(
            sa.func.count().filter(advanced, _in(col(Event.occurred_at), current.start, current.end)),
            sa.func.count().filter(advanced, _in(col(Event.occurred_at), previous.start, previous.end)),
            sa.func.count().filter(signed, _in(col(Event.occurred_at), current.start, current.end)),
            sa.func.count().filter(signed, _in(col(Event.occurred_at), previous.start, previous.end)),
        )
        .join(Lead, col(Lead.id) == col(Event.lead_id))
        .where(
            *scope,
            Event.type == "lead.stage_changed",
            col(Event.occurred_at) >= previous.start,
            col(Event.occurred_at) < current.end,
        )
    ).one()
    now = {"new_leads": int(created[0]), "advances": int(moved[0]), "signed": int(moved[2])}
    before = {"new_leads": int(created[1]), "advances": int(moved[1]), "signed": int(moved[3])}
    return now, before


def _pipeline(session: Session, scope: list[Any]) -> tuple[dict[str, int], dict[str, str]]:
    rows = session.execute(
        select(Lead.stage, Lead.currency, sa.func.count(), sa.func.sum(Lead.estimated_value))
        .where(*scope, col(Lead.stage).in_(PIPELINE))
        .group_by(col(Lead.stage), col(Lead.currency))
    ).all()
    by_stage = {stage.value: 0 for stage in PIPELINE}
    value: dict[str, Decimal] = {}
    for stage, currency, count, total in rows:
        key = getattr(stage, "value", stage)
        by_stage[key] += int(count)
        if currency is not None and total is not None and key != Stage.AGREEMENT_SIGNED.value:
            code = getattr(currency, "value", currency)
            value[code] = value.get(code, Decimal(0)) + Decimal(total)
    return by_stage, {code: f"{amount:.2f}" for code, amount in sorted(value.items())}


def _lead_columns() -> tuple[Any, Any, Any]:
    ma, us, owner = aliased(Organisation), aliased(Organisation), aliased(User)
    return ma, us, owner


def _item(lead: Lead, ma: Organisation, us: Organisation, owner: User) -> LeadItem:
    return LeadItem(int(lead.id or 0), lead.title, names(ma), names(us), lead.stage.value, owner.display_name)


def _with_names(query: Any, ma: Any, us: Any, owner: Any) -> Any:
    return (
        query.join(ma, col(ma.id) == col(Lead.ma_organisation_id))
        .join(us, col(us.id) == col(Lead.us_organisation_id))
        .join(owner, col(owner.id) == col(Lead.owner_id))
    )


def compile_digest(session: Session, subscription: Subscription, period: Period, *, base_links: bool = True) -> Digest:
    """The digest of ``subscription`` for ``period`` (a fixed number of queries)."""
    user = session.get(User, subscription.user_id) if subscription.user_id else None
    scope = lead_scope(subscription, user)
    previous = period.previous(
        subscription.cadence, subscription.timezone, subscription.weekday, subscription.send_hour
    )
    figures, before = _counts(session, scope, period, previous)
    pipeline, value = _pipeline(session, scope)
    ma, us, owner = _lead_columns()
    actor = aliased(User)

    moves_rows = session.execute(
        _with_names(
            sa.select(Event, Lead, ma, us, owner, actor)
            .select_from(Event)
            .join(Lead, col(Lead.id) == col(Event.lead_id)),
            ma,
            us,
            owner,
        )
        .outerjoin(actor, col(actor.id) == col(Event.actor_id))
        .where(*scope, Event.type == "lead.stage_changed", _in(col(Event.occurred_at), period.start, period.end))
        .order_by(col(Event.occurred_at), col(Event.id))
        .limit(LIST_LIMIT)
    ).all()
    moves = [
        Move(
            _item(lead, m, u, o),
            str(e.payload.get("from")),
            str(e.payload.get("to")),
            a.display_name if a else "",
            e.occurred_at,
        )
        for e, lead, m, u, o, a in moves_rows
    ]

    new_rows = session.execute(
        _with_names(select(Lead, ma, us, owner), ma, us, owner)
        .where(*scope, _in(col(Lead.created_at), period.start, period.end))
        .order_by(col(Lead.created_at), col(Lead.id))
        .limit(LIST_LIMIT)
    ).all()

    due_rows = session.execute(
        _with_names(
            sa.select(FollowUp, Lead, ma, us, owner)
            .select_from(FollowUp)
            .join(Lead, col(Lead.id) == col(FollowUp.lead_id)),
            ma,
            us,
            owner,
        )
        .where(*scope, FollowUp.status == FollowUpStatus.OPEN, col(FollowUp.due_at) < period.end + UPCOMING)
        .order_by(col(FollowUp.due_at), col(FollowUp.id))
        .limit(LIST_LIMIT * 2)
    ).all()
    dues = [Due(_item(lead, m, u, o), f.title, f.due_at, o.display_name) for f, lead, m, u, o in due_rows]

    cutoff = period.end - COLD_AFTER
    cold_rows = session.execute(
        _with_names(select(Lead, ma, us, owner), ma, us, owner)
        .where(
            *scope,
            col(Lead.stage).in_([s for s in PIPELINE if not s.is_closed]),
            col(Lead.created_at) < cutoff,
            col(Lead.stage_changed_at) < cutoff,
            sa.or_(col(Lead.last_activity_at).is_(None), col(Lead.last_activity_at) < cutoff),
        )
        .order_by(col(Lead.stage_changed_at), col(Lead.id))
        .limit(LIST_LIMIT)
    ).all()

    return Digest(
        subscription_id=int(subscription.id or 0),
        period=period,
        figures=figures,
        previous=before,
        pipeline=pipeline,
        value=value,
        moves=moves,
        new_leads=[_item(*row) for row in new_rows],
        overdue=[d for d in dues if d.due_at < period.end][:LIST_LIMIT],
        upcoming=[d for d in dues if d.due_at >= period.end][:LIST_LIMIT],
        meetings=_meetings(session, subscription, scope, period),
        cold=[_item(*row) for row in cold_rows],
        links=base_links and user is not None,
    )


def _meetings(session: Session, subscription: Subscription, scope: list[Any], period: Period) -> list[MeetingItem]:
    """Meetings held in the period: all of them without filters, else those of the
    subscription's leads or of its organisations."""
    query = select(Meeting).where(_in(col(Meeting.starts_at), period.start, period.end))
    filters = subscription.filters or {}
    if filters:
        of_leads = sa.exists().where(col(Lead.meeting_id) == col(Meeting.id), *scope)
        orgs = list(filters.get("ma_organisation_ids", [])) + list(filters.get("us_organisation_ids", []))
        if orgs:
            of_orgs = sa.exists().where(
                col(MeetingOrganisation.meeting_id) == col(Meeting.id),
                col(MeetingOrganisation.organisation_id).in_(orgs),
            )
            query = query.where(sa.or_(of_leads, of_orgs))
        else:
            query = query.where(of_leads)
    rows = session.exec(query.order_by(col(Meeting.starts_at)).limit(LIST_LIMIT)).all()
    return [MeetingItem(int(m.id or 0), m.title, m.starts_at, m.place) for m in rows]
