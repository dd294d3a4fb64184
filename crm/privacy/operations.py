"""The rights of the people Jisr keeps as contacts: to see what is held about them, to
have it erased, and to be deleted.  Administrators act on their behalf; each act is an
event that says who did it and holds no personal data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col
from sqlmodel import delete as sa_delete

from crm.accounts.models import User
from crm.core.db import pk
from crm.core.errors import PermissionDenied
from crm.core.events import record_event
from crm.core.time import utcnow
from crm.organisations.models import Contact
from crm.privacy.queries import counts, may_handle_personal_data, personal_data
from crm.privacy.scrubbing import Scrubber, person_traces
from crm.privacy.traces import PERSONAL_FIELDS, marker

EXPORT_FORMATS = ("json", "html")


@dataclass
class Erasure:
    """What an erasure changed: records per place (``{"events": 3, "activity": 1}``)."""

    scrubbed: dict[str, int] = field(default_factory=dict)
    already_erased: bool = False


def _require_admin(actor: User | None) -> None:
    if not may_handle_personal_data(actor):
        raise PermissionDenied("only administrators handle a contact's personal data")


def export_contact_data(session: Session, contact: Contact, *, actor: User, format: str = "json") -> dict[str, Any]:
    """Everything held about ``contact`` (see :func:`crm.privacy.queries.personal_data`);
    the export itself is recorded, as personal data left the app."""
    _require_admin(actor)
    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format!r}")
    document = personal_data(session, contact)
    record_event(
        session,
        "contact.data_exported",
        contact,
        actor=actor,
        payload={"format": format, "records": counts(document)},
    )
    return document


def _erase(session: Session, contact: Contact) -> dict[str, int]:
    """Remove the person's traces everywhere, then their fields from the contact row."""
    scrubbed = Scrubber(session, contact, person_traces(session, contact)).run()
    contact.name = marker(pk(contact))
    contact.title = ""
    contact.email = None
    contact.phone = None
    contact.search_text = ""
    contact.erased_at = contact.updated_at = utcnow()
    return scrubbed


def erase_contact(session: Session, contact: Contact, *, actor: User) -> Erasure:
    """Erase the person's data for good: their name, title, email and phone leave the
    contact (shown as "Erased contact #12"), and every record that named them (event
    payloads, activities, meeting notes, mail, webhook deliveries, import rows and files,
    digest subscriptions) is rewritten without them.  The contact stays, with its
    organisation, meetings and missions.  Erasing again changes nothing."""
    _require_admin(actor)
    if contact.is_erased:
        return Erasure(already_erased=True)
    scrubbed = _erase(session, contact)
    record_event(
        session,
        "contact.erased",
        contact,
        actor=actor,
        payload={"fields": list(PERSONAL_FIELDS), "scrubbed": scrubbed},
    )
    return Erasure(scrubbed=scrubbed)


def delete_contact(session: Session, contact: Contact, *, actor: User) -> Erasure:
    """Delete the contact: the person's data goes as with :func:`erase_contact`, then the
    row, with their places at meetings and on missions.  Activities and leads that named
    them stay, without their name."""
    _require_admin(actor)
    contact_id = pk(contact)
    was_erased = contact.is_erased
    scrubbed = {} if was_erased else _erase(session, contact)
    record_event(
        session,
        "contact.deleted",
        contact,
        actor=actor,
        payload={"organisation_id": contact.organisation_id, "erased_before": was_erased, "scrubbed": scrubbed},
    )
    session.flush()
    session.expunge(contact)
    # The database removes the attendances and delegations (ON DELETE CASCADE).
    session.execute(sa_delete(Contact).where(col(Contact.id) == contact_id))
    return Erasure(scrubbed=scrubbed, already_erased=was_erased)
