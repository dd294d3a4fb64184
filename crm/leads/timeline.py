"""A lead's timeline: its events (the audit trail) told as sentences in the viewer's language.

Every row comes from the ``Event`` table (``event.lead_id``); the activities, follow-ups
and names an event refers to are loaded in one query per kind, never one per event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.events import Event
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.core.i18n import list_separator, ngettext
from crm.core.text import isolate
from crm.core.web import format_number, format_when
from crm.followups.models import FollowUp
from crm.leads.labels import PARTNERSHIP_TYPE_LABELS, PRIORITY_LABELS, stage_label
from crm.leads.models import Activity, PartnershipType, Priority
from crm.missions.models import Meeting, Mission
from crm.organisations.models import Contact, Organisation
from crm.reference.models import Sector

FIELD_LABELS = {
    "title": _l("Lead title"),
    "description": _l("Description"),
    "ma_organisation_id": _l("Moroccan organisation"),
    "us_organisation_id": _l("US organisation"),
    "mission_id": _l("Mission"),
    "meeting_id": _l("Meeting"),
    "sector_id": _l("Sector"),
    "partnership_type": _l("Partnership type"),
    "owner_id": _l("Owner"),
    "priority": _l("Priority"),
    "estimated_value": _l("Value"),
    "currency": _l("Currency"),
    "confidential": _l("Confidential"),
    "probability": _l("Probability"),
    "expected_close_on": _l("Expected close date"),
}
ICONS = {
    "lead.created": "bi-plus-circle",
    "lead.updated": "bi-pencil",
    "lead.stage_changed": "bi-arrow-right-circle",
    "lead.watcher_added": "bi-eye",
    "lead.watcher_removed": "bi-eye-slash",
    "followup.scheduled": "bi-calendar-plus",
    "followup.rescheduled": "bi-calendar-event",
    "followup.reassigned": "bi-person-check",
    "followup.done": "bi-check2-circle",
    "followup.cancelled": "bi-x-circle",
    "activity.logged": "bi-chat-left-text",
    "lead.checkin_answered": "bi-envelope-check",
    "document.added": "bi-file-earmark-plus",
    "document.removed": "bi-file-earmark-x",
    "email.filed": "bi-envelope",
    "email.sent": "bi-send",
}
EMAIL_EVENTS = ("email.filed", "email.sent")


@dataclass
class TimelineEntry:
    event: Event
    sentence: str
    details: list[str] = field(default_factory=list)
    activity: Activity | None = None

    @property
    def icon(self) -> str:
        return ICONS.get(self.event.type, "bi-dot")


class _Names:
    """Names of the rows the events mention, loaded in one query per table."""

    def __init__(self, session: Session, events: list[Event]) -> None:
        ids: dict[str, set[int]] = {
            k: set() for k in ("user", "org", "sector", "mission", "meeting", "followup", "contact")
        }
        activity_ids: set[int] = set()
        for event in events:
            if event.actor_id:
                ids["user"].add(event.actor_id)
            payload = event.payload or {}
            if event.type.startswith("lead.watcher") and payload.get("user_id"):
                ids["user"].add(int(payload["user_id"]))
            if event.type == "followup.reassigned":
                ids["user"].update(int(v) for v in (payload.get("from"), payload.get("to")) if v)
            if event.type.startswith("followup.") and event.entity_id:
                ids["followup"].add(event.entity_id)
            if event.type == "activity.logged" and event.entity_id:
                activity_ids.add(event.entity_id)
            if event.type in EMAIL_EVENTS and payload.get("activity_id"):
                activity_ids.add(int(payload["activity_id"]))
            if event.type == "lead.checkin_answered" and payload.get("contact_id"):
                ids["contact"].add(int(payload["contact_id"]))
            changes = payload.get("changes", {}) if event.type == "lead.updated" else {}
            for key, kind in (
                ("owner_id", "user"),
                ("ma_organisation_id", "org"),
                ("us_organisation_id", "org"),
                ("sector_id", "sector"),
                ("mission_id", "mission"),
                ("meeting_id", "meeting"),
            ):
                ids[kind].update(int(v) for v in changes.get(key, []) if v)
        self.users = self._load(session, User, ids["user"])
        self.orgs = self._load(session, Organisation, ids["org"])
        self.sectors = self._load(session, Sector, ids["sector"])
        self.missions = self._load(session, Mission, ids["mission"])
        self.meetings = self._load(session, Meeting, ids["meeting"])
        self.followups = self._load(session, FollowUp, ids["followup"])
        self.activities = self._load(session, Activity, activity_ids)
        self.contacts = self._load(session, Contact, ids["contact"])

    @staticmethod
    def _load(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return {row.id: row for row in session.exec(select(model).where(col(model.id).in_(wanted))).all()}

    def user(self, user_id: Any) -> str:
        user = self.users.get(int(user_id)) if user_id else None
        return str(user.display_name) if user is not None else _("Jisr")

    def value(self, key: str, value: Any) -> str:
        """A changed field's value as the viewer reads it."""
        if value is None or value == "":
            return "—"
        lookups: dict[str, Callable[[Any], str]] = {
            "owner_id": self.user,
            "ma_organisation_id": lambda v: self._name(self.orgs, v),
            "us_organisation_id": lambda v: self._name(self.orgs, v),
            "sector_id": lambda v: self._name(self.sectors, v),
            "mission_id": lambda v: getattr(self.missions.get(int(v)), "name", "—"),
            "meeting_id": lambda v: getattr(self.meetings.get(int(v)), "title", "—"),
            "partnership_type": lambda v: str(PARTNERSHIP_TYPE_LABELS[PartnershipType(v)]),
            "priority": lambda v: str(PRIORITY_LABELS[Priority(v)]),
            "confidential": lambda v: _("Yes") if v else _("No"),
            "estimated_value": _amount,
            "probability": _percent,
            "expected_close_on": _day,
        }
        try:
            return str(lookups[key](value)) if key in lookups else str(value)
        except (KeyError, ValueError):
            return str(value)

    @staticmethod
    def _name(rows: dict[int, Any], row_id: Any) -> str:
        row = rows.get(int(row_id))
        if row is None:
            return "—"
        short = getattr(row, "short_name", None)
        return str(short()) if short is not None else str(row.name())


def _amount(value: Any) -> str:
    try:
        return format_number(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def _percent(value: Any) -> str:
    from crm.pipeline.views import format_probability

    return format_probability(int(value))


def _day(value: Any) -> str:
    from crm.core.formats import date_text
    from crm.core.i18n import current_language

    return date_text(date.fromisoformat(str(value)), current_language())


def _instant(value: Any) -> str:
    try:
        return format_when(datetime.fromisoformat(str(value)), "short")
    except ValueError:
        return str(value)


def _sentence(event: Event, names: _Names) -> tuple[str, list[str]]:
    p = event.payload or {}
    actor = isolate(names.user(event.actor_id))
    followup = names.followups.get(event.entity_id or 0) if event.type.startswith("followup.") else None
    title = isolate(followup.title if followup is not None else p.get("title", ""))
    kind = event.type
    if kind == "lead.created":
        return _("%(actor)s created the lead in stage %(stage)s.", actor=actor, stage=stage_label(p["stage"])), []
    if kind == "lead.updated":
        changes: dict[str, list[Any]] = p.get("changes", {})
        details = []
        for key, (old, new) in changes.items():
            label = str(FIELD_LABELS.get(key, key))
            if key == "description":
                details.append(_("%(field)s changed", field=label))
            else:
                # A merged organisation is gone: the event keeps the name it had.
                gone: dict[str, str] = p.get("names", {})
                before, after = (gone.get(str(v)) or names.value(key, v) for v in (old, new))
                details.append(f"{label}: {isolate(before)} → {isolate(after)}")
        fields = list_separator().join(str(FIELD_LABELS.get(k, k)) for k in changes)
        return _("%(actor)s changed %(fields)s.", actor=actor, fields=fields), details
    if kind == "lead.stage_changed":
        sentence = _(
            "%(actor)s moved the lead from %(old)s to %(new)s.",
            actor=actor,
            old=stage_label(p["from"]),
            new=stage_label(p["to"]),
        )
        return sentence, [p["note"]] if p.get("note") else []
    if kind == "lead.watcher_added":
        return _("%(actor)s added %(user)s as a watcher.", actor=actor, user=isolate(names.user(p.get("user_id")))), []
    if kind == "lead.watcher_removed":
        return _(
            "%(actor)s removed %(user)s from the watchers.", actor=actor, user=isolate(names.user(p.get("user_id")))
        ), []
    if kind == "followup.scheduled":
        due = _instant(p.get("due_at"))
        return _("%(actor)s scheduled the follow-up “%(title)s” for %(due)s.", actor=actor, title=title, due=due), []
    if kind == "followup.rescheduled":
        old, new = _instant(p.get("from", {}).get("due_at")), _instant(p.get("to", {}).get("due_at"))
        return _(
            "%(actor)s rescheduled “%(title)s” from %(old)s to %(new)s.", actor=actor, title=title, old=old, new=new
        ), []
    if kind == "followup.reassigned":
        return _(
            "%(actor)s gave “%(title)s” to %(user)s.", actor=actor, title=title, user=isolate(names.user(p.get("to")))
        ), []
    if kind == "followup.done":
        return _("%(actor)s marked “%(title)s” as done.", actor=actor, title=title), []
    if kind == "followup.cancelled":
        return _("%(actor)s cancelled “%(title)s”.", actor=actor, title=title), [p["reason"]] if p.get("reason") else []
    if kind == "activity.logged":
        sentences = {
            "note": _("%(actor)s added a note.", actor=actor),
            "call": _("%(actor)s logged a call.", actor=actor),
            "email": _("%(actor)s logged an email.", actor=actor),
            "meeting": _("%(actor)s logged a meeting.", actor=actor),
        }
        return sentences.get(str(p.get("kind")), sentences["note"]), []
    if kind == "lead.checkin_answered":
        return _checkin_sentence(p, names)
    if kind == "document.added":
        return _("%(actor)s added the document “%(name)s”.", actor=actor, name=isolate(p.get("file_name", ""))), []
    if kind == "document.removed":
        return _("%(actor)s deleted the document “%(name)s”.", actor=actor, name=isolate(p.get("file_name", ""))), []
    if kind == "email.sent":
        return _("%(actor)s wrote an email.", actor=actor), []
    if kind == "email.filed":
        if p.get("direction") == "outbound":
            return _("An email from the team was filed."), []
        return _("An email was received."), []
    return f"{actor}: {kind}", []


def _checkin_sentence(p: dict[str, Any], names: _Names) -> tuple[str, list[str]]:
    """A meeting contact's answer to an outcome check-in (no user acts: a signed link)."""
    from crm.checkins.outcomes import outcome_label

    contact = names.contacts.get(int(p.get("contact_id") or 0))
    who = isolate(contact.display_name if contact is not None else _("A contact"))
    sentence = ngettext(
        "%(contact)s answered the check-in %(num)d day after the meeting: %(answer)s.",
        "%(contact)s answered the check-in %(num)d days after the meeting: %(answer)s.",
        int(p.get("days") or 0),
        contact=who,
        answer=outcome_label(p.get("outcome")),
    )
    details = [p["comment"]] if p.get("comment") else []
    if p.get("contradicts"):
        details.append(_("This answer contradicts the lead's stage (%(stage)s).", stage=stage_label(p.get("stage"))))
    return sentence, details


TIMELINE_PAGE = 200


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    # The event to continue after (the next page holds older events), if there are more.
    older: int | None = None


def lead_timeline(
    session: Session, lead_id: int, *, before: int | None = None, limit: int = TIMELINE_PAGE
) -> TimelinePage:
    """The lead's events, newest first, each with its sentence and details: ``limit`` of
    them, after the event ``before`` (by instant, then id, so that events of one instant
    are neither repeated nor skipped from one page to the next)."""
    query = select(Event).where(Event.lead_id == lead_id)
    if before is not None:
        since = select(Event.occurred_at).where(Event.id == before, Event.lead_id == lead_id).scalar_subquery()
        query = query.where(sa.tuple_(col(Event.occurred_at), col(Event.id)) < sa.tuple_(since, before))
    events = list(
        session.exec(query.order_by(col(Event.occurred_at).desc(), col(Event.id).desc()).limit(limit + 1)).all()
    )
    more = len(events) > limit
    events = events[:limit]
    return TimelinePage(describe(session, events), older=events[-1].id if more and events else None)


def describe(session: Session, events: list[Event]) -> list[TimelineEntry]:
    """Each event of a lead (its own, its follow-ups' and activities') as a sentence in the
    viewer's language, with what it refers to loaded in one query per kind."""
    names = _Names(session, events)
    entries = []
    for event in events:
        sentence, details = _sentence(event, names)
        activity = names.activities.get(event.entity_id or 0) if event.type == "activity.logged" else None
        if event.type in EMAIL_EVENTS:
            activity = names.activities.get(int((event.payload or {}).get("activity_id") or 0))
        entries.append(TimelineEntry(event=event, sentence=sentence, details=details, activity=activity))
    return entries
