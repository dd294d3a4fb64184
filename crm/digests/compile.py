"""What a digest says, as plain data, from the event log and the current state.

One statement reads the subscription's leads (ids and the few columns the figures need,
through its filters and the reader's visibility); the stage and value changes since the
previous period began, the follow-ups falling due and the meetings come from
:class:`~crm.digests.facts.DigestFacts`, read once per chunk and matched to those ids in
memory; one more statement fetches the names of the leads the digest lists.  So the
number of statements per digest is the same for one lead or fifty thousand.  Names of
organisations are kept in the three languages, so the same facts render in Arabic,
French or English.

The pipeline at a period's end is read back from the leads' state now and the changes
recorded since (see :mod:`crm.digests.history`): a lead created after the end is not in
it.  A deleted lead is gone from every figure, past periods' included: its row, which
says which subscriptions it belonged to, is gone (its events stay in the log for the
audit trail only).  The subscription's leads are those its filters match now.
"""

from __future__ import annotations

import json
import operator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from crm.accounts.models import Role, User
from crm.core.time import utcnow
from crm.digests.by_lead import Smallest, groups_of_leads, of_leads
from crm.digests.content import (
    Attention,
    Digest,
    Due,
    LeadItem,
    MeetingItem,
    MissionCard,
    Move,
    money,
)
from crm.digests.emails import email_tallies
from crm.digests.facts import DigestFacts, DueFollowUp, StageChange
from crm.digests.history import History, MissionTally, add_amount
from crm.digests.models import Subscription
from crm.digests.periods import Period
from crm.leads.models import PIPELINE, Lead, Stage
from crm.leads.queries import visible_to

__all__ = ["Attention", "Digest", "Due", "LeadItem", "MeetingItem", "MissionCard", "Move", "compile_digest"]

LANGUAGES = ("ar", "fr", "en")
LIST_LIMIT = 25
ATTENTION_LIMIT = 10
QUIET_AFTER = timedelta(days=30)  # an open lead with no recorded change for this long needs attention
UPCOMING = timedelta(days=7)
SCAN_BATCH = 2_000  # leads read at a time


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


def _signature(
    subscription: Subscription, user: User | None, period: Period, previous: Period, now: datetime
) -> tuple[Any, ...]:
    filters = json.dumps(subscription.filters or {}, sort_keys=True, default=str)
    return (period.key, period.start, period.end, previous.start, now, filters, _visibility(subscription, user))


SIGNED = Stage.AGREEMENT_SIGNED.value
OPEN_STAGES = [stage.value for stage in PIPELINE if not stage.is_closed]
# When a lead was created, as the lead scan tells it: before the previous period, in it,
# in the period, or after the period's end.
EARLIER, IN_PREVIOUS, IN_PERIOD, AFTER_END = 0, 1, 2, 3


def _lead_figures(
    subscription: Subscription, user: User | None, period: Period, previous: Period, now: datetime
) -> Any:
    """One row per lead of the subscription with what the figures and lists need.  This
    is the read that grows with the leads, so it is one scan, and each row is a few small
    values: the database compares the instants with the period and hands them over as
    small numbers or whole seconds (converting timestamps row by row is what costs most
    here)."""
    created, updated, active = col(Lead.created_at), col(Lead.updated_at), col(Lead.last_activity_at)
    stage = sa.type_coerce(col(Lead.stage), sa.String)
    cutoff = now - QUIET_AFTER
    quiet = sa.and_(
        stage.in_(OPEN_STAGES),
        created < cutoff,
        col(Lead.stage_changed_at) < cutoff,
        updated < cutoff,
        sa.or_(active.is_(None), active < cutoff),
    )

    def seconds(instant: Any) -> Any:
        return sa.cast(sa.extract("epoch", instant), sa.Integer)

    return sa.select(
        col(Lead.id),
        col(Lead.meeting_id),
        col(Lead.mission_id),
        stage,
        sa.type_coerce(col(Lead.currency), sa.String),
        col(Lead.estimated_value),
        sa.case(
            (created >= period.end, AFTER_END),
            (created >= period.start, IN_PERIOD),
            (created >= previous.start, IN_PREVIOUS),
            else_=EARLIER,
        ),
        sa.case((sa.and_(created >= period.start, created < period.end), seconds(created)), else_=None),
        sa.case(
            (quiet, seconds(sa.case((sa.and_(active.is_not(None), active > updated), active), else_=updated))),
            else_=None,
        ),
    ).where(*lead_scope(subscription, user))


def compile_digest(
    session: Session,
    subscription: Subscription,
    period: Period,
    *,
    now: datetime | None = None,
    base_links: bool = True,
    facts: DigestFacts | None = None,
) -> Digest:
    """The digest of ``subscription`` for ``period``, compiled for sending at ``now``
    (follow-ups and leads needing attention are counted from then).  The pipeline is the
    one at the period's end, or at ``now`` for a period not over yet (a preview).

    The statements do not depend on the number of leads: one for the subscription's
    leads, one for the names of those the digest lists, and the shared facts (read once
    per ``facts``, i.e. once per dispatch chunk)."""
    facts = facts or DigestFacts(session)
    now = now or utcnow()
    user = facts.user(subscription.user_id)
    previous = period.previous(
        subscription.cadence, subscription.timezone, subscription.weekday, subscription.send_hour
    )
    signature = _signature(subscription, user, period, previous, now)
    shared = facts.compiled.get(signature)
    if shared is None:
        shared = facts.compiled[signature] = _compile(session, facts, subscription, user, period, previous, now)
    return replace(shared, subscription_id=int(subscription.id or 0), links=base_links and user is not None)


def _compile(
    session: Session,
    facts: DigestFacts,
    subscription: Subscription,
    user: User | None,
    period: Period,
    previous: Period,
    now: datetime,
) -> Digest:
    # The leads come in batches through a server-side cursor (PostgreSQL; SQLite's cursor
    # reads as it goes), and what is kept of each is bounded by the period's facts, not by
    # the number of leads: a digest over a million leads holds a few batches of rows.
    statement = _lead_figures(subscription, user, period, previous, now)
    as_of = min(period.end, now)
    a_period_ago = now - (period.end - previous.end)
    changes = facts.stage_changes(previous.start, now)
    followups = facts.followups(now + UPCOMING, a_period_ago)
    emails = facts.emails(period.start, min(period.end, now))
    history = History(changes, facts.amount_changes(previous.start, now))
    mission_ids = set((subscription.filters or {}).get("mission_ids") or [])
    cards = {m.mission_id: MissionTally(m) for m in facts.missions(mission_ids, as_of)} if mission_ids else {}
    signers = facts.signers(previous.start, now)
    overdue_leads = followups.overdue_leads(now)
    # Of the subscription's leads, only those with facts are remembered (by id).
    ids: set[int] = set()
    meeting_ids: set[int] = set()
    amount_now: dict[int, tuple[Any, Any]] = {}
    by_stage = {stage.value: 0 for stage in PIPELINE}
    value: dict[str, Decimal] = {}
    previous_value: dict[str, Decimal] = {}
    now_figures = {"new_leads": 0, "moves": 0, "signed": 0, "overdue": 0}
    before = dict(now_figures)
    new_leads: Smallest[tuple[int, int]] = Smallest(LIST_LIMIT)
    quiet: Smallest[tuple[int, int]] = Smallest(ATTENTION_LIMIT)
    open_now: set[int] = set()  # of the leads with follow-ups, those open now
    rows = session.connection().execute(statement.execution_options(yield_per=SCAN_BATCH))
    for lead_id, meeting_id, mission_id, stage, currency, amount, born, new_at, quiet_since in rows:
        if lead_id in changes or lead_id in followups or lead_id in emails:
            ids.add(lead_id)
            if lead_id in followups and stage in OPEN_STAGES:
                open_now.add(lead_id)
        if meeting_id is not None:
            meeting_ids.add(meeting_id)
        if born == IN_PERIOD:
            now_figures["new_leads"] += 1
            new_leads.add((new_at, lead_id))
        elif born == IN_PREVIOUS:
            before["new_leads"] += 1
        # A quiet lead with an overdue follow-up needs attention for the follow-up (listed first).
        if quiet_since is not None and lead_id not in overdue_leads:
            quiet.add((quiet_since, lead_id))
        if lead_id in signers:
            amount_now[lead_id] = (amount, currency)
        if born == AFTER_END:
            continue
        at_end = history.stage_at(lead_id, stage, as_of)
        if at_end in by_stage:
            by_stage[at_end] += 1
            if at_end != SIGNED:
                add_amount(value, *history.amount_at(lead_id, amount, currency, as_of))
        card = cards.get(mission_id)
        if card is not None:
            card.count(at_end, *history.amount_at(lead_id, amount, currency, as_of))
        if born != IN_PERIOD:
            at_previous_end = history.stage_at(lead_id, stage, previous.end)
            if at_previous_end in by_stage and at_previous_end != SIGNED:
                add_amount(previous_value, *history.amount_at(lead_id, amount, currency, previous.end))

    moved: Smallest[StageChange] = Smallest(LIST_LIMIT, operator.attrgetter("occurred_at", "event_id"))
    start = period.start
    signed_value: dict[str, Decimal] = {}
    signed_before: dict[str, Decimal] = {}
    for change in of_leads(facts.stage_changes(previous.start, now), ids):
        if change.occurred_at >= period.end:
            continue
        this_period = change.occurred_at >= start
        figures = now_figures if this_period else before
        figures["moves"] += 1
        if change.signed:
            figures["signed"] += 1
            after = change.occurred_at + timedelta(microseconds=1)
            amount, currency = history.amount_at(change.lead_id, *amount_now[change.lead_id], after)
            add_amount(signed_value if this_period else signed_before, amount, currency)
        if this_period:
            moved.add(change)
    moves = moved.items()

    due_key = operator.attrgetter("due_at", "followup_id")
    overdue_first: Smallest[DueFollowUp] = Smallest(LIST_LIMIT, due_key)
    upcoming_first: Smallest[DueFollowUp] = Smallest(LIST_LIMIT, due_key)
    late: Smallest[tuple[Any, int, int]] = Smallest(ATTENTION_LIMIT)  # (soonest overdue, lead, how many)
    for lead_id, found in groups_of_leads(followups, ids):
        soonest, overdue_here = None, 0
        for f in found:  # soonest due first
            if f.closed_at is None and f.due_at < now:
                overdue_first.add(f)
                soonest, overdue_here = soonest or due_key(f), overdue_here + 1
            elif f.closed_at is None:
                upcoming_first.add(f)
            if f.overdue_at(a_period_ago):
                before["overdue"] += 1
        if overdue_here and lead_id in open_now:
            late.add((soonest, lead_id, overdue_here))
    now_figures["overdue"] = overdue_first.seen
    overdue, upcoming = overdue_first.items(), upcoming_first.items()

    attention, attention_total = _needing_attention(late, quiet)
    new_ids = [lead_id for _, lead_id in new_leads.items()]
    shown = {c.lead_id for c in moves} | {f.lead_id for f in overdue + upcoming} | set(new_ids)
    items = _items(session, facts, shown | {lead_id for lead_id, _n, _q in attention})
    people = facts.users([c.actor_id for c in moves] + [f.owner_id for f in overdue + upcoming])

    def name_of(user_id: int | None) -> str:
        person = people.get(user_id) if user_id is not None else None
        return person.display_name if person else ""

    def due(f: DueFollowUp) -> Due:
        return Due(items[f.lead_id], f.title, f.due_at, name_of(f.owner_id))

    return Digest(
        subscription_id=int(subscription.id or 0),
        period=period,
        now=now,
        as_of=as_of,
        figures=now_figures,
        previous=before,
        pipeline=by_stage,
        value=money(value),
        previous_value=money(previous_value),
        signed_value=money(signed_value),
        previous_signed_value=money(signed_before),
        moves=[Move(items[c.lead_id], c.from_stage, c.to_stage, name_of(c.actor_id), c.occurred_at) for c in moves],
        new_leads=[items[i] for i in new_ids],
        overdue=[due(f) for f in overdue],
        upcoming=[due(f) for f in upcoming],
        overdue_more=overdue_first.seen - len(overdue),
        upcoming_more=upcoming_first.seen - len(upcoming),
        meetings=_meetings(facts, subscription, meeting_ids, period),
        attention=[Attention(items[lead_id], n, since) for lead_id, n, since in attention],
        attention_more=attention_total - len(attention),
        missions=[card.card() for card in cards.values()],
        emails=email_tallies(facts, ids, period.start, min(period.end, now)),
    )


def _needing_attention(
    late: Smallest[tuple[Any, int, int]], quiet: Smallest[tuple[int, int]]
) -> tuple[list[tuple[int, int, datetime | None]], int]:
    """Open leads with follow-ups overdue now (the longest overdue first), then open leads
    with no recorded change for :data:`QUIET_AFTER` (the quietest first, those without an
    overdue follow-up): the first :data:`ATTENTION_LIMIT` of them, and how many there are in all."""
    total = late.seen + quiet.seen
    listed: list[tuple[int, int, datetime | None]] = [(lead_id, n, None) for _due, lead_id, n in late.items()]
    for since, lead_id in quiet.items()[: max(0, ATTENTION_LIMIT - len(listed))]:
        listed.append((lead_id, 0, datetime.fromtimestamp(since, UTC)))
    return listed[:ATTENTION_LIMIT], total


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
