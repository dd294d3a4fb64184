"""What a digest says, as plain data, from the event log and the current state.

One statement reads the subscription's leads (ids and the few columns the figures need,
through its filters and the reader's visibility); the period's stage changes, follow-ups
and meetings come from :class:`~crm.digests.facts.DigestFacts`, read once per chunk and
matched to those ids in memory; one more statement fetches the names of the leads the
digest lists.  So the number of statements per digest is the same for one lead or fifty
thousand.  Names of organisations are kept in the three languages, so the same facts
render in Arabic, French or English.
"""

from __future__ import annotations

import heapq
import json
import operator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col

from crm.accounts.models import Role, User
from crm.digests.facts import DigestFacts
from crm.digests.models import DigestRun, Subscription
from crm.digests.periods import Period
from crm.leads.models import PIPELINE, Lead, Stage
from crm.leads.queries import visible_to

T = TypeVar("T")
LANGUAGES = ("ar", "fr", "en")
LIST_LIMIT = 25
COLD_AFTER = timedelta(days=30)
UPCOMING = timedelta(days=7)


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
    # The open pipeline value that the previous period's digest of this subscription told
    # (from the archive); None when there was none.
    previous_value: dict[str, str] | None = None

    @property
    def is_empty(self) -> bool:
        """Nothing happened and nothing is due: such a digest is not sent (unless asked)."""
        return not (any(self.figures.values()) or self.moves or self.meetings or self.overdue or self.upcoming)

    def change(self, name: str) -> int:
        return self.figures.get(name, 0) - self.previous.get(name, 0)

    def value_change(self, currency: str) -> Decimal | None:
        """Against the value the previous digest told, when there was one."""
        if self.previous_value is None:
            return None
        return Decimal(self.value.get(currency, "0")) - Decimal(self.previous_value.get(currency, "0"))

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


def _visibility(subscription: Subscription, user: User | None) -> tuple[Any, ...]:
    """Who reads the digest, as far as which leads it may show is concerned."""
    if user is None or not user.is_active:
        return ("public",)
    if user.role == Role.ADMIN:
        return ("admin", subscription.include_confidential)
    return ("user", user.id, subscription.include_confidential)


def _signature(subscription: Subscription, user: User | None, period: Period, previous: Period) -> tuple[Any, ...]:
    filters = json.dumps(subscription.filters or {}, sort_keys=True, default=str)
    return (period.key, period.start, period.end, previous.start, filters, _visibility(subscription, user))


SIGNED = Stage.AGREEMENT_SIGNED.value
OPEN_STAGES = [stage.value for stage in PIPELINE if not stage.is_closed]


def _lead_figures(subscription: Subscription, user: User | None, period: Period, previous: Period) -> Any:
    """One row per lead of the subscription with what the figures and lists need.  This
    is the read that grows with the leads, so it is one scan, and each row is a few small
    values: the database compares the instants with the period and hands them over as
    whole seconds (converting timestamps row by row is what costs most here)."""
    created, changed, active = col(Lead.created_at), col(Lead.stage_changed_at), col(Lead.last_activity_at)
    stage = sa.type_coerce(col(Lead.stage), sa.String)
    cutoff = period.end - COLD_AFTER
    going_cold = sa.and_(
        stage.in_(OPEN_STAGES), created < cutoff, changed < cutoff, sa.or_(active.is_(None), active < cutoff)
    )

    def seconds(instant: Any) -> Any:
        return sa.cast(sa.extract("epoch", instant), sa.Integer)

    return sa.select(
        col(Lead.id),
        col(Lead.meeting_id),
        stage,
        sa.type_coerce(col(Lead.currency), sa.String),
        col(Lead.estimated_value),
        sa.case((sa.and_(created >= period.start, created < period.end), seconds(created)), else_=None),
        sa.case((sa.and_(created >= previous.start, created < previous.end), 1), else_=0),
        sa.case((going_cold, seconds(changed)), else_=None),
    ).where(*lead_scope(subscription, user))


def compile_digest(
    session: Session,
    subscription: Subscription,
    period: Period,
    *,
    base_links: bool = True,
    facts: DigestFacts | None = None,
) -> Digest:
    """The digest of ``subscription`` for ``period``.

    The statements do not depend on the number of leads: one for the subscription's
    leads, one for the names of those the digest lists, and the period's shared facts
    (read once per ``facts``, i.e. once per dispatch chunk)."""
    facts = facts or DigestFacts(session)
    user = facts.user(subscription.user_id)
    previous = period.previous(
        subscription.cadence, subscription.timezone, subscription.weekday, subscription.send_hour
    )
    signature = _signature(subscription, user, period, previous)
    shared = facts.compiled.get(signature)
    if shared is None:
        shared = facts.compiled[signature] = _compile(session, facts, subscription, user, period, previous)
    return replace(
        shared,
        subscription_id=int(subscription.id or 0),
        links=base_links and user is not None,
        previous_value=_archived_value(session, subscription, previous),
    )


def _archived_value(session: Session, subscription: Subscription, previous: Period) -> dict[str, str] | None:
    """The pipeline value of the digest archived for the previous period (one statement):
    the value of leads at a past instant is not in the event log, but the last digest
    told it."""
    if subscription.id is None:
        return None
    figures = session.execute(
        sa.select(col(DigestRun.figures)).where(
            col(DigestRun.subscription_id) == subscription.id, col(DigestRun.period) == previous.key
        )
    ).scalar_one_or_none()
    value = (figures or {}).get("value")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def _compile(
    session: Session,
    facts: DigestFacts,
    subscription: Subscription,
    user: User | None,
    period: Period,
    previous: Period,
) -> Digest:
    # The driver's own tuples: every value is a plain int, str or number already (see
    # _lead_figures), so building result rows and running type processors per row, which
    # costs more than everything else done here, is skipped.
    leads = session.connection().execute(_lead_figures(subscription, user, period, previous)).cursor.fetchall()
    ids: set[int] = set()
    meeting_ids: set[int] = set()
    by_stage = {stage.value: 0 for stage in PIPELINE}
    value: dict[str, Decimal] = {}
    now = {"new_leads": 0, "advances": 0, "signed": 0}
    before = dict(now)
    new_leads, cold = [], []
    for lead_id, meeting_id, stage, currency, amount, new_at, was_new, cold_since in leads:
        ids.add(lead_id)
        if meeting_id is not None:
            meeting_ids.add(meeting_id)
        if stage in by_stage:
            by_stage[stage] += 1
            if currency is not None and amount is not None and stage != SIGNED:
                # SQLite hands NUMERIC values over as int or float: read them as written.
                value[currency] = value.get(currency, Decimal(0)) + Decimal(str(amount))
        if new_at is not None:
            now["new_leads"] += 1
            new_leads.append((new_at, lead_id))
        elif was_new:
            before["new_leads"] += 1
        if cold_since is not None:
            cold.append((cold_since, lead_id))
    new_ids = [lead_id for _, lead_id in heapq.nsmallest(LIST_LIMIT, new_leads)]
    cold_ids = [lead_id for _, lead_id in heapq.nsmallest(LIST_LIMIT, cold)]

    moved, start = [], period.start
    for change in _of_leads(facts.stage_changes(previous.start, period.end), ids):
        if change.occurred_at >= start:
            moved.append(change)
            now["advances"] += change.advanced
            now["signed"] += change.signed
        else:
            before["advances"] += change.advanced
            before["signed"] += change.signed
    moves = heapq.nsmallest(LIST_LIMIT, moved, key=lambda c: (c.occurred_at, c.event_id))
    dues = _of_leads(facts.open_followups(period.end + UPCOMING), ids)
    key = operator.attrgetter("due_at", "followup_id")
    overdue = heapq.nsmallest(LIST_LIMIT, (f for f in dues if f.due_at < period.end), key=key)
    upcoming = heapq.nsmallest(LIST_LIMIT, (f for f in dues if f.due_at >= period.end), key=key)

    shown = {c.lead_id for c in moves} | {f.lead_id for f in overdue + upcoming} | set(new_ids) | set(cold_ids)
    items = _items(session, facts, shown)
    people = facts.users([c.actor_id for c in moves] + [f.owner_id for f in overdue + upcoming])

    def name_of(user_id: int | None) -> str:
        person = people.get(user_id) if user_id is not None else None
        return person.display_name if person else ""

    return Digest(
        subscription_id=int(subscription.id or 0),
        period=period,
        figures=now,
        previous=before,
        pipeline=by_stage,
        value={code: f"{amount:.2f}" for code, amount in sorted(value.items())},
        moves=[Move(items[c.lead_id], c.from_stage, c.to_stage, name_of(c.actor_id), c.occurred_at) for c in moves],
        new_leads=[items[i] for i in new_ids],
        overdue=[Due(items[f.lead_id], f.title, f.due_at, name_of(f.owner_id)) for f in overdue],
        upcoming=[Due(items[f.lead_id], f.title, f.due_at, name_of(f.owner_id)) for f in upcoming],
        meetings=_meetings(facts, subscription, meeting_ids, period),
        cold=[items[i] for i in cold_ids],
    )


def _of_leads(by_lead: dict[int, list[T]], ids: set[int]) -> list[T]:
    """The items of these leads, walking whichever of the two is smaller."""
    if len(by_lead) < len(ids):
        return [item for lead_id, found in by_lead.items() if lead_id in ids for item in found]
    return [item for lead_id in ids for item in by_lead.get(lead_id, ())]


def _items(session: Session, facts: DigestFacts, lead_ids: set[int]) -> dict[int, LeadItem]:
    """What the digest shows of each listed lead: title, organisations, stage, owner."""
    if not lead_ids:
        return {}
    rows = session.execute(
        sa.select(
            col(Lead.id),
            col(Lead.title),
            col(Lead.stage),
            col(Lead.ma_organisation_id),
            col(Lead.us_organisation_id),
            col(Lead.owner_id),
        ).where(col(Lead.id).in_(lead_ids))
    ).all()
    facts.organisations({r.ma_organisation_id for r in rows} | {r.us_organisation_id for r in rows})
    owners = facts.users({r.owner_id for r in rows})
    found = {}
    for row in rows:
        owner = owners.get(row.owner_id)
        found[int(row.id)] = LeadItem(
            int(row.id),
            row.title,
            facts.names(row.ma_organisation_id),
            facts.names(row.us_organisation_id),
            Stage(row.stage).value,
            owner.display_name if owner else "",
        )
    return found


def _meetings(
    facts: DigestFacts, subscription: Subscription, meeting_ids: set[int], period: Period
) -> list[MeetingItem]:
    """Meetings held in the period: all of them without filters, else those of the
    subscription's leads or of its organisations."""
    filters = subscription.filters or {}
    orgs = set(filters.get("ma_organisation_ids", [])) | set(filters.get("us_organisation_ids", []))
    held = [
        m
        for m in facts.meetings(period.start, period.end)
        if not filters or m.meeting_id in meeting_ids or (orgs and m.organisation_ids & orgs)
    ]
    return [MeetingItem(m.meeting_id, m.title, m.starts_at, m.place) for m in held[:LIST_LIMIT]]
