"""Removing one person from everything Jisr keeps besides the contact row: the event log
(payloads), what people wrote (activities, meetings, leads, missions, follow-ups), the
mail ledger, the digest archive, notifications, webhook deliveries and imports.

Called by :func:`crm.privacy.operations.erase_contact` and ``delete_contact``, inside
their transaction, before they record their own event (which holds no personal data).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.checkins.models import CheckinAnswer
from crm.core.db import pk
from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail
from crm.digests.models import DigestRun, Subscription
from crm.exchange.models import DataImport, ImportFile, ImportKind, ImportRow, ImportStatus
from crm.exchange.planning import forget_plan
from crm.exchange.queries import limit
from crm.exchange.reading import read_table
from crm.followups.models import FollowUp
from crm.leads.models import Activity, Lead, SavedFilter
from crm.missions.models import Meeting, Mission
from crm.notifications.models import Notification
from crm.organisations.models import Contact
from crm.privacy.mailbox import erase_in_mail
from crm.privacy.traces import Traces, blank_personal_fields, traces_of
from crm.search.texts import lead_text
from crm.webhooks.ledger import event_body
from crm.webhooks.models import WebhookAttempt, WebhookDelivery

# Every column where people write or Jisr copies text that may name a contact.  The
# event payloads, webhook bodies and import rows are handled on their own (below) as
# they also hold the contact's fields by key.
FREE_TEXT: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (Activity, ("body",)),
    (Meeting, ("title", "place", "notes")),
    (Lead, ("title", "description")),
    (Mission, ("name", "description")),
    (FollowUp, ("title",)),
    (DigestRun, ("subject", "text_body", "html_body", "figures")),
    (Notification, ("params",)),
    (OutboundMail, ("recipient_name", "recipient_email", "subject", "text_body", "html_body", "headers")),
    (WebhookAttempt, ("response_excerpt", "error")),
    (WebhookDelivery, ("last_error",)),
    (DataImport, ("filename", "failure")),
    (SavedFilter, ("name", "query")),  # a search for the person, kept URL-encoded
    (CheckinAnswer, ("comment",)),
)
log = logging.getLogger(__name__)
IMPORT_ROW_COLUMNS = ("label", "changes", "problems", "notes", "kept_because")
ERASED_MAIL = "The recipient's personal data was erased; this message is not sent."


def rows_mentioning(session: Session, traces: Traces, model: Any, columns: Sequence[str]) -> list[Any]:
    """The rows of ``model`` where one of ``columns`` names the person."""
    condition = sa.or_(*[traces.sql_condition(getattr(model, c)) for c in columns])
    rows = session.exec(select(model).where(condition).order_by(*model.__table__.primary_key.columns)).all()
    return [row for row in rows if any(traces.found_in(getattr(row, c)) for c in columns)]


def _scrub_columns(row: Any, traces: Traces, columns: Sequence[str]) -> bool:
    changed = False
    for column in columns:
        before = getattr(row, column)
        after = traces.scrub(before)
        if after != before:
            setattr(row, column, after)
            changed = True
    return changed


def contact_events(session: Session, contact_id: int) -> list[Event]:
    return list(
        session.exec(
            select(Event)
            .where(Event.entity_type == Contact.__tablename__, Event.entity_id == contact_id)
            .order_by(col(Event.id))
        )
    )


def contact_import_rows(session: Session, contact_id: int) -> list[ImportRow]:
    """The rows of contact imports that created or updated this contact."""
    return list(
        session.exec(
            select(ImportRow)
            .join(DataImport, col(DataImport.id) == col(ImportRow.data_import_id))
            .where(DataImport.kind == ImportKind.CONTACTS, ImportRow.entity_id == contact_id)
            .order_by(col(ImportRow.id))
        )
    )


def person_traces(session: Session, contact: Contact) -> Traces:
    """The person's traces, with the names, addresses and numbers they had before."""
    history = [e.payload for e in contact_events(session, pk(contact))]
    history += [r.changes for r in contact_import_rows(session, pk(contact))]
    return traces_of(contact, history)


def subscriptions_of(traces: Traces) -> Any:
    """The person's digest subscriptions: linked to the contact, or to one of their addresses."""
    mine: list[Any] = [col(Subscription.contact_id) == traces.contact_id]
    if traces.emails:
        mine.append(sa.func.lower(Subscription.email).in_(traces.emails))
    return sa.or_(*mine)


class Scrubber:
    """One erasure: what was changed, counted by place, for the event that records it."""

    def __init__(self, session: Session, contact: Contact, traces: Traces) -> None:
        self.session = session
        self.contact_id = traces.contact_id
        self.contact = contact
        self.traces = traces
        self.counts: Counter[str] = Counter()

    def run(self) -> dict[str, int]:
        self.session.flush()
        self._events()
        self._checkin_answers()
        self.counts.update(erase_in_mail(self.session, self.traces))
        self._free_text()
        self._mail()
        self._imports()
        self._subscriptions()
        return {place: n for place, n in sorted(self.counts.items()) if n}

    def _events(self) -> None:
        changed: dict[int, Event] = {}
        for event in contact_events(self.session, self.contact_id):
            payload = self.traces.scrub(blank_personal_fields(event.payload))
            if payload != event.payload:
                event.payload = payload
                changed[event.id or 0] = event
        for event in rows_mentioning(self.session, self.traces, Event, ("payload",)):
            if event.id not in changed and _scrub_columns(event, self.traces, ("payload",)):
                changed[event.id or 0] = event
        self.counts["events"] += len(changed)
        if not changed:
            return
        # A webhook delivery's body is its event as it was when written: write it again.
        self.session.flush()
        deliveries = self.session.exec(select(WebhookDelivery).where(col(WebhookDelivery.event_id).in_(changed)))
        for delivery in deliveries:
            body = event_body(changed[delivery.event_id])
            if body != delivery.body:
                delivery.body = body
                self.counts["webhook_deliveries"] += 1

    def _checkin_answers(self) -> None:
        """What the person wrote in answer to check-ins is theirs: the comments go, from the
        answers and from their events (the outcome stays, as a fact about the lead)."""
        answers = list(self.session.exec(select(CheckinAnswer).where(CheckinAnswer.contact_id == self.contact_id)))
        for answer in answers:
            if answer.comment:
                answer.comment = ""
                self.counts["checkin_answers"] += 1
        ids = [pk(a) for a in answers]
        if not ids:
            return
        events = self.session.exec(
            select(Event).where(Event.entity_type == CheckinAnswer.__tablename__, col(Event.entity_id).in_(ids))
        )
        changed = {}
        for event in events:
            if event.payload.get("comment"):
                event.payload = {**event.payload, "comment": ""}
                changed[pk(event)] = event
        self.counts["events"] += len(changed)
        if not changed:
            return
        self.session.flush()
        for delivery in self.session.exec(select(WebhookDelivery).where(col(WebhookDelivery.event_id).in_(changed))):
            delivery.body = event_body(changed[delivery.event_id])
            self.counts["webhook_deliveries"] += 1

    def _free_text(self) -> None:
        for model, columns in FREE_TEXT:
            for row in rows_mentioning(self.session, self.traces, model, columns):
                if _scrub_columns(row, self.traces, columns):
                    self.counts[model.__tablename__] += 1
                    if isinstance(row, Lead):
                        row.search_text = lead_text(row)  # as the lead operations keep it
        # Deliveries of events written before the payload scrub above (or by hand).
        for delivery in rows_mentioning(self.session, self.traces, WebhookDelivery, ("body",)):
            if _scrub_columns(delivery, self.traces, ("body",)):
                self.counts["webhook_deliveries"] += 1

    def _mail(self) -> None:
        """Mail to the person that has not gone yet never goes: the address is gone."""
        stopped = self.session.exec(
            select(OutboundMail).where(
                col(OutboundMail.recipient_email).startswith(self.traces.replacement),
                col(OutboundMail.status).in_([MailStatus.QUEUED, MailStatus.RETRY]),
            )
        )
        for mail in stopped:
            mail.status = MailStatus.FAILED
            mail.last_error = ERASED_MAIL
            mail.lease_until = None
            self.counts["mail_stopped"] += 1

    def _imports(self) -> None:
        touched: set[int] = set()
        for row in contact_import_rows(self.session, self.contact_id):
            before = (row.label, row.changes)
            row.changes = blank_personal_fields(row.changes)
            row.label = self.traces.replacement
            if (row.label, row.changes) != before:
                touched.add(row.data_import_id)
                self.counts["import_rows"] += 1
        for row in rows_mentioning(self.session, self.traces, ImportRow, IMPORT_ROW_COLUMNS):
            if _scrub_columns(row, self.traces, IMPORT_ROW_COLUMNS):
                touched.add(row.data_import_id)
                self.counts["import_rows"] += 1
        touched |= self._files_naming()
        # The uploaded file holds the raw values: it goes; an import not yet confirmed is
        # cancelled with it (as when its author abandons it), a finished one keeps its log.
        for data_import in self.session.exec(select(DataImport).where(col(DataImport.id).in_(touched))):
            stored = self.session.get(ImportFile, data_import.id)
            if stored is not None:
                self.session.delete(stored)
                self.counts["import_files"] += 1
            forget_plan(self.session, data_import)  # the preview planned from the file names them too
            if data_import.status.is_open:
                data_import.status = ImportStatus.CANCELLED

    def _files_naming(self) -> set[int]:
        """The imports whose kept file names the person in one of its cells."""
        found: set[int] = set()
        if self.traces.pattern is None:
            return found
        kept = self.session.exec(
            select(ImportFile.data_import_id, DataImport.options).join(
                DataImport, col(DataImport.id) == col(ImportFile.data_import_id)
            )
        ).all()
        for import_id, options in kept:
            content = self.session.exec(select(ImportFile.content).where(ImportFile.data_import_id == import_id)).one()
            try:
                table = read_table(content, options=dict(options), max_rows=limit("IMPORT_MAX_ROWS"))
            except Exception:  # an unreadable file names no one that Jisr could find
                log.info("import %s: its file could not be read to look for a contact", import_id, exc_info=True)
                continue
            cells = [*table.headers, *(cell for _, cells in table.rows for cell in cells)]
            if any(self.traces.found_in(cell) for cell in cells):
                found.add(import_id)
        return found

    def _subscriptions(self) -> None:
        """The person's digest subscriptions end: they carry the name and the address."""
        self.session.flush()  # the archived digests rewritten above, before the database deletes them
        for subscription in self.session.exec(select(Subscription).where(subscriptions_of(self.traces))):
            self.session.delete(subscription)
            self.counts["subscriptions"] += 1
