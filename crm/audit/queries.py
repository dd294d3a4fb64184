"""Reading the activity log: the event table newest first, filtered, a page at a time,
with the names of the people and records involved loaded in one query per table."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import url_for
from sqlmodel import Session, col, or_, select

from crm.accounts.models import User
from crm.api.models import ApiToken
from crm.audit.labels import ENTITY_LABELS, EVENT_LABELS, GROUP_LABELS, event_label
from crm.core.db import parse_id
from crm.core.events import Event
from crm.core.time import local_day_bounds
from crm.digests.models import Subscription
from crm.exchange.models import DataImport
from crm.followups.models import FollowUp
from crm.leads.models import Activity, Lead
from crm.leads.timeline import ICONS, describe
from crm.missions.models import Meeting, Mission
from crm.organisations.models import Contact, Organisation
from crm.reference.models import Sector
from crm.webhooks.models import WebhookEndpoint

PAGE_SIZE = 100
PARAMS = ("actor", "type", "entity", "since", "until")


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    event_type: str | None = None  # a type ("lead.created") or a group ("lead.")
    entity_type: str | None = None
    entity_id: int | None = None
    since: date | None = None  # days on the reader's clock, both included
    until: date | None = None

    @property
    def active(self) -> bool:
        return self != AuditFilter()

    def query_string(self, **extra: Any) -> str:
        pairs = [
            ("actor", self.actor_id),
            ("type", self.event_type),
            ("entity", f"{self.entity_type}:{self.entity_id}" if self.entity_type else None),
            ("since", self.since.isoformat() if self.since else None),
            ("until", self.until.isoformat() if self.until else None),
            *extra.items(),
        ]
        return urlencode([(k, str(v)) for k, v in pairs if v is not None])

    def for_entity(self, entity_type: str | None, entity_id: int | None) -> AuditFilter:
        return replace(self, entity_type=entity_type, entity_id=entity_id)

    def for_actor(self, actor_id: int | None) -> AuditFilter:
        return replace(self, actor_id=actor_id)


def _id(value: str | None) -> int | None:
    return parse_id(value)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def parse_audit_filter(args: Any) -> AuditFilter:
    """A filter from the query string; malformed or unknown values are ignored, as in the
    lead list, so a hand-edited URL shows the unfiltered log rather than an error."""
    event_type = args.get("type") or None
    if event_type not in EVENT_LABELS and not (
        event_type and event_type.endswith(".") and event_type[:-1] in GROUP_LABELS
    ):
        event_type = None
    entity_type, _, entity_id = (args.get("entity") or "").partition(":")
    known_entity = entity_type in ENTITY_LABELS and _id(entity_id) is not None
    return AuditFilter(
        actor_id=_id(args.get("actor")),
        event_type=event_type,
        entity_type=entity_type if known_entity else None,
        entity_id=_id(entity_id) if known_entity else None,
        since=_day(args.get("since")),
        until=_day(args.get("until")),
    )


@dataclass
class AuditEntry:
    event: Event
    label: str
    actor: str
    entity_label: str
    entity_name: str
    entity_url: str | None
    sentence: str | None  # for the events of a lead, the timeline's sentence
    details: list[str]

    @property
    def icon(self) -> str:
        return ICONS.get(self.event.type, "bi-dot")

    @property
    def payload_json(self) -> str:
        return json.dumps(self.event.payload or {}, ensure_ascii=False, indent=1, sort_keys=True)


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    older: int | None  # the event to continue after, when there are older ones


def _conditions(audit_filter: AuditFilter, zone: str) -> list[Any]:
    found: list[Any] = []
    if audit_filter.actor_id is not None:
        found.append(Event.actor_id == audit_filter.actor_id)
    if audit_filter.event_type:
        if audit_filter.event_type.endswith("."):
            found.append(col(Event.type).startswith(audit_filter.event_type, autoescape=True))
        else:
            found.append(Event.type == audit_filter.event_type)
    if audit_filter.entity_type is not None:
        own = sa.and_(
            col(Event.entity_type) == audit_filter.entity_type, col(Event.entity_id) == audit_filter.entity_id
        )
        # A lead's log holds its follow-ups' and activities' events too, as its timeline does.
        found.append(or_(own, Event.lead_id == audit_filter.entity_id) if audit_filter.entity_type == "lead" else own)
    if audit_filter.since is not None:
        found.append(Event.occurred_at >= local_day_bounds(audit_filter.since, zone)[0])
    if audit_filter.until is not None:
        found.append(Event.occurred_at < local_day_bounds(audit_filter.until, zone)[1])
    return found


def audit_page(
    session: Session, audit_filter: AuditFilter, *, zone: str, before: int | None = None, limit: int = PAGE_SIZE
) -> AuditPage:
    query = select(Event).where(*_conditions(audit_filter, zone))
    if before is not None:
        since = select(Event.occurred_at).where(Event.id == before).scalar_subquery()
        query = query.where(sa.tuple_(col(Event.occurred_at), col(Event.id)) < sa.tuple_(since, before))
    events = list(session.exec(query.order_by(col(Event.occurred_at).desc(), col(Event.id).desc()).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(_entries(session, events), older=events[-1].id if more and events else None)


def _excerpt(text: str, length: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


# What each kind of record is called and where its page is.
_RECORDS: dict[str, tuple[Any, Callable[[Any], str], Callable[[Any], str | None]]] = {
    "lead": (Lead, lambda r: r.title, lambda r: url_for("lead.show", lead_id=r.id)),
    "followup": (FollowUp, lambda r: r.title, lambda r: url_for("lead.show", lead_id=r.lead_id)),
    "activity": (Activity, lambda r: _excerpt(r.body), lambda r: url_for("lead.show", lead_id=r.lead_id)),
    "organisation": (Organisation, lambda r: r.short_name(), lambda r: url_for("organisations.detail", org_id=r.id)),
    "contact": (Contact, lambda r: r.display_name, lambda r: url_for("contacts.detail", contact_id=r.id)),
    "mission": (Mission, lambda r: r.name, lambda r: url_for("missions.detail", mission_id=r.id)),
    "meeting": (Meeting, lambda r: r.title, lambda r: url_for("missions.edit_meeting", meeting_id=r.id)),
    "sector": (Sector, lambda r: r.name(), lambda r: None),
    "user_account": (User, lambda r: r.display_name, lambda r: None),
    "subscription": (
        Subscription,
        lambda r: r.name or r.email,
        lambda r: url_for("digests.edit", subscription_id=r.id),
    ),
    "data_import": (DataImport, lambda r: r.filename, lambda r: url_for("imports.show", import_id=r.id)),
    "api_token": (ApiToken, lambda r: r.name, lambda r: None),
    "webhook_endpoint": (WebhookEndpoint, lambda r: r.url, lambda r: url_for("webhooks.detail", endpoint_id=r.id)),
}


def _records(session: Session, events: list[Event]) -> dict[tuple[str, int], Any]:
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.entity_type in _RECORDS and event.entity_id is not None:
            wanted.setdefault(event.entity_type, set()).add(event.entity_id)
    found: dict[tuple[str, int], Any] = {}
    for entity_type, ids in wanted.items():
        model = _RECORDS[entity_type][0]
        for row in session.exec(select(model).where(col(model.id).in_(sorted(ids)))).all():
            found[(entity_type, row.id)] = row
    return found


def _entries(session: Session, events: list[Event]) -> list[AuditEntry]:
    lead_events = [e for e in events if e.lead_id is not None and e.type in ICONS]
    described = {entry.event.id: entry for entry in describe(session, lead_events)}
    records = _records(session, events)
    actor_ids = sorted({e.actor_id for e in events if e.actor_id is not None})
    actors = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(actor_ids))).all()} if actor_ids else {}
    entries = []
    for event in events:
        actor = actors.get(event.actor_id) if event.actor_id is not None else None
        record = records.get((event.entity_type, event.entity_id or 0))
        if record is not None:
            _, name_of, url_of = _RECORDS[event.entity_type]
            name, url = str(name_of(record)), url_of(record)
        else:  # deleted since, or a kind of record without a page
            name, url = f"#{event.entity_id}" if event.entity_id is not None else "", None
        timeline = described.get(event.id)
        entries.append(
            AuditEntry(
                event=event,
                label=event_label(event.type),
                actor=actor.display_name if actor is not None else "",
                entity_label=str(ENTITY_LABELS.get(event.entity_type, event.entity_type)),
                entity_name=name,
                entity_url=url,
                sentence=timeline.sentence if timeline is not None else None,
                details=timeline.details if timeline is not None else [],
            )
        )
    return entries
