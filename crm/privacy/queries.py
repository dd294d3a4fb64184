"""Everything Jisr holds about one contact, gathered for the person who asks to see it
(the right of access of law 09-08 and of the GDPR): a JSON document, also shown as a
printable page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import Role
from crm.checkins.models import Checkin, CheckinAnswer, CheckinOptOut
from crm.core.events import Event, jsonable
from crm.core.ledger import OutboundMail
from crm.core.time import utcnow
from crm.digests.models import Subscription
from crm.exchange.models import DataImport, ImportRow
from crm.leads.models import Activity, Lead
from crm.missions.models import Meeting, MeetingContact, Mission, MissionDelegate
from crm.organisations.models import Contact, Organisation
from crm.privacy.mailbox import emails_naming
from crm.privacy.scrubbing import (
    FREE_TEXT,
    IMPORT_ROW_COLUMNS,
    contact_events,
    contact_import_rows,
    person_traces,
    rows_mentioning,
    subscriptions_of,
)
from crm.privacy.traces import Traces
from crm.webhooks.models import WebhookDelivery, WebhookEndpoint

FORMAT_VERSION = 1
_MAIL_COLUMNS = dict(FREE_TEXT)[OutboundMail]


def _contact(contact: Contact, org: Organisation | None) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": None if contact.is_erased else contact.name,
        "title": contact.title or None,
        "email": contact.email,
        "phone": contact.phone,
        "language": contact.language,
        "timezone": contact.timezone,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "erased": contact.is_erased,
        "erased_at": contact.erased_at,
        "organisation": None
        if org is None
        else {
            "id": org.id,
            "name_ar": org.name_ar,
            "name_fr": org.name_fr,
            "name_en": org.name_en,
            "acronym": org.acronym,
            "country": org.country,
        },
    }


def _meetings(session: Session, contact_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Meeting)
        .join(MeetingContact, col(MeetingContact.meeting_id) == col(Meeting.id))
        .where(MeetingContact.contact_id == contact_id)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    )
    return [
        {
            "id": m.id,
            "title": m.title,
            "starts_at": m.starts_at,
            "timezone": m.timezone,
            "place": m.place,
            "mission_id": m.mission_id,
            "notes": m.notes,
        }
        for m in rows
    ]


def _missions(session: Session, contact_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Mission)
        .join(MissionDelegate, col(MissionDelegate.mission_id) == col(Mission.id))
        .where(MissionDelegate.contact_id == contact_id)
        .order_by(col(Mission.starts_on), col(Mission.id))
    )
    return [{"id": m.id, "name": m.name, "starts_on": m.starts_on, "ends_on": m.ends_on} for m in rows]


def _leads(session: Session, meeting_ids: list[int], activities: list[Activity], mentioned: list[Lead]) -> list[Any]:
    why: dict[int, set[str]] = {}
    for lead in mentioned:
        why.setdefault(lead.id or 0, set()).add("mentioned")
    for activity in activities:
        why.setdefault(activity.lead_id, set()).add("activity")
    if meeting_ids:
        for lead_id in session.exec(select(Lead.id).where(col(Lead.meeting_id).in_(meeting_ids))):
            why.setdefault(lead_id or 0, set()).add("meeting")
    leads: list[Lead] = (
        list(session.exec(select(Lead).where(col(Lead.id).in_(sorted(why))).order_by(col(Lead.id)))) if why else []
    )
    return [
        {
            "id": lead.id,
            "title": lead.title,
            "stage": lead.stage,
            "created_at": lead.created_at,
            "linked_by": sorted(why[lead.id or 0]),
        }
        for lead in leads
    ]


def _events(session: Session, contact: Contact, traces: Traces) -> list[Event]:
    found = {e.id: e for e in contact_events(session, contact.id or 0)}
    for event in rows_mentioning(session, traces, Event, ("payload",)):
        found.setdefault(event.id, event)
    return [found[i] for i in sorted(found, key=lambda i: i or 0)]


def _imports(session: Session, contact: Contact, traces: Traces) -> list[dict[str, Any]]:
    rows = {r.id: r for r in contact_import_rows(session, contact.id or 0)}
    for row in rows_mentioning(session, traces, ImportRow, IMPORT_ROW_COLUMNS):
        rows.setdefault(row.id, row)
    if not rows:
        return []
    imports = {
        i.id: i
        for i in session.exec(
            select(DataImport).where(col(DataImport.id).in_({r.data_import_id for r in rows.values()}))
        )
    }
    return [
        {
            "import_id": row.data_import_id,
            "filename": imports[row.data_import_id].filename,
            "kind": imports[row.data_import_id].kind,
            "imported_at": imports[row.data_import_id].created_at,
            "row_number": row.row_number,
            "action": row.action,
            "label": row.label,
            "values": row.changes,
            "problems": row.problems,
        }
        for row in sorted(rows.values(), key=lambda r: r.id or 0)
    ]


def _mail(session: Session, traces: Traces) -> list[dict[str, Any]]:
    found: dict[int | None, OutboundMail] = {}
    if traces.emails:
        addressed = select(OutboundMail).where(sa.func.lower(OutboundMail.recipient_email).in_(traces.emails))
        found = {m.id: m for m in session.exec(addressed)}
    for mail in rows_mentioning(session, traces, OutboundMail, _MAIL_COLUMNS):
        found.setdefault(mail.id, mail)
    return [
        {
            "id": m.id,
            "kind": m.kind,
            "recipient_name": m.recipient_name,
            "recipient_email": m.recipient_email,
            "subject": m.subject,
            "status": m.status,
            "created_at": m.created_at,
            "sent_at": m.sent_at,
            "text_body": m.text_body,
        }
        for m in sorted(found.values(), key=lambda m: m.id or 0)
    ]


def _deliveries(session: Session, event_ids: list[int]) -> list[dict[str, Any]]:
    if not event_ids:
        return []
    rows = session.exec(
        select(WebhookDelivery, WebhookEndpoint.url)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(col(WebhookDelivery.event_id).in_(event_ids))
        .order_by(col(WebhookDelivery.id))
    )
    return [
        {
            "id": d.id,
            "endpoint_url": url,
            "event_id": d.event_id,
            "event_type": d.event_type,
            "status": d.status,
            "created_at": d.created_at,
            "finished_at": d.finished_at,
        }
        for d, url in rows
    ]


def _subscriptions(session: Session, traces: Traces) -> list[dict[str, Any]]:
    rows = session.exec(select(Subscription).where(subscriptions_of(traces)).order_by(col(Subscription.id)))
    return [
        {
            "id": s.id,
            "name": s.name,
            "email": s.email,
            "cadence": s.cadence,
            "language": s.language,
            "timezone": s.timezone,
            "active": s.is_active,
            "created_at": s.created_at,
        }
        for s in rows
    ]


def _checkins(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """The outcome questions mailed to the contact, their answers and their refusal of more."""
    asked = session.exec(select(Checkin).where(Checkin.contact_id == contact_id).order_by(col(Checkin.id)))
    answers = session.exec(
        select(CheckinAnswer).where(CheckinAnswer.contact_id == contact_id).order_by(col(CheckinAnswer.id))
    )
    stop = session.get(CheckinOptOut, contact_id)
    rows: list[dict[str, Any]] = [
        {"kind": "asked", "meeting_id": c.meeting_id, "days": c.days, "lead_ids": c.lead_ids, "at": c.sent_at}
        for c in asked
    ]
    rows += [
        {
            "kind": "answer",
            "meeting_id": a.meeting_id,
            "days": a.days,
            "lead_id": a.lead_id,
            "outcome": a.outcome.value,
            "comment": a.comment,
            "at": a.answered_at,
        }
        for a in answers
    ]
    if stop is not None:
        rows.append({"kind": "stopped", "via": stop.via, "at": stop.opted_out_at})
    return rows


def personal_data(session: Session, contact: Contact) -> dict[str, Any]:
    """Everything about ``contact``, JSON-ready: their fields, where they took part, what
    was written about them and what was sent to them."""
    traces = person_traces(session, contact)
    org = session.get(Organisation, contact.organisation_id)
    meetings = _meetings(session, contact.id or 0)
    activities = rows_mentioning(session, traces, Activity, ("body",))
    mentioned_leads = rows_mentioning(session, traces, Lead, ("title", "description"))
    events = _events(session, contact, traces)
    document = {
        "format": "jisr.personal_data",
        "version": FORMAT_VERSION,
        "generated_at": utcnow(),
        "contact": _contact(contact, org),
        "meetings": meetings,
        "missions": _missions(session, contact.id or 0),
        "activities": [
            {"id": a.id, "lead_id": a.lead_id, "kind": a.kind, "occurred_at": a.occurred_at, "body": a.body}
            for a in activities
        ],
        "leads": _leads(session, [m["id"] for m in meetings], activities, mentioned_leads),
        "events": [
            {
                "id": e.id,
                "type": e.type,
                "occurred_at": e.occurred_at,
                "actor_id": e.actor_id,
                "entity_type": e.entity_type,
                "entity_id": e.entity_id,
                "payload": e.payload,
            }
            for e in events
        ],
        "imports": _imports(session, contact, traces),
        "mail": _mail(session, traces),
        "webhook_deliveries": _deliveries(session, [e.id for e in events if e.id is not None]),
        "digest_subscriptions": _subscriptions(session, traces),
        "checkins": _checkins(session, contact.id or 0),
        "emails_on_leads": [
            {
                "id": e.id,
                "lead_id": e.lead_id,
                "direction": e.direction.value,
                "sent_at": e.sent_at,
                "from": {"name": e.from_name, "email": e.from_address},
                "to": e.to,
                "cc": e.cc,
                "subject": e.subject,
                "text": e.text,
            }
            for e in emails_naming(session, traces)
        ],
    }
    return dict(jsonable(document))


def counts(document: dict[str, Any]) -> dict[str, int]:
    """How many records of each kind the document holds (for the event and the page)."""
    return {key: len(value) for key, value in document.items() if isinstance(value, list)}


def may_handle_personal_data(user: Any) -> bool:
    """Exporting, erasing and deleting a person's data are an administrator's acts: they
    reach into every record and rewrite the activity log."""
    return user is not None and getattr(user, "is_authenticated", True) and user.role == Role.ADMIN
