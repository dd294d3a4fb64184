"""Reverting a finished import: what it created is removed, what it updated is restored —
where that is safe.

A row is kept (and says why) when its record changed after the import (any later event
on it: an edit, a stage move, a follow-up, a note, another import), when other records
now refer to it (a lead or contact of a created organisation, a meeting, a mission, a
subscription), or when it no longer exists. Everything is read in a few set-based queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, delete, select

from crm.accounts.models import User
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.digests.models import Subscription
from crm.exchange.models import DataImport, ImportKind, ImportRow, RowAction
from crm.exchange.plan import Problem, chunked
from crm.followups.models import FollowUp
from crm.leads.models import Activity, Lead, LeadWatcher
from crm.leads.operations import move_lead_to_stage, update_lead
from crm.missions.models import MeetingContact, MeetingOrganisation, MissionDelegate, MissionOrganiser
from crm.organisations.models import Contact, Organisation
from crm.organisations.operations import update_contact, update_organisation

MODELS: dict[ImportKind, Any] = {
    ImportKind.ORGANISATIONS: Organisation,
    ImportKind.CONTACTS: Contact,
    ImportKind.LEADS: Lead,
}
# Columns that point at a row of each kind; a created row that something points at is kept.
REFERENCES: dict[ImportKind, tuple[Any, ...]] = {
    ImportKind.ORGANISATIONS: (
        Lead.ma_organisation_id,
        Lead.us_organisation_id,
        Contact.organisation_id,
        MeetingOrganisation.organisation_id,
        MissionOrganiser.organisation_id,
    ),
    ImportKind.CONTACTS: (MeetingContact.contact_id, MissionDelegate.contact_id, Subscription.contact_id),
    ImportKind.LEADS: (FollowUp.lead_id, Activity.lead_id, LeadWatcher.lead_id),
}
CHANGED = _l("It was changed in Jisr after the import.")
REFERRED = _l("Other records now refer to it.")
GONE = _l("It no longer exists in Jisr.")
REFUSED = _l("You may not make this change.")


@dataclass
class RevertCheck:
    revertible: list[ImportRow] = field(default_factory=list)
    kept: list[tuple[ImportRow, Problem]] = field(default_factory=list)


def _entity_type(kind: ImportKind) -> str:
    return str(MODELS[kind].__tablename__)


def _existing(session: Session, kind: ImportKind, ids: list[int]) -> set[int]:
    model = MODELS[kind]
    found: set[int] = set()
    for batch in chunked(ids):
        found |= {i for i in session.exec(select(model.id).where(col(model.id).in_(batch))).all() if i is not None}
    return found


def _changed_since(session: Session, data_import: DataImport, ids: list[int]) -> set[int]:
    last = data_import.last_event_id or 0
    entity_type = _entity_type(data_import.kind)
    found: set[int | None] = set()
    for batch in chunked(ids):
        found |= set(
            session.exec(
                select(Event.entity_id).where(
                    col(Event.id) > last, Event.entity_type == entity_type, col(Event.entity_id).in_(batch)
                )
            ).all()
        )
        if data_import.kind == ImportKind.LEADS:
            found |= set(
                session.exec(select(Event.lead_id).where(col(Event.id) > last, col(Event.lead_id).in_(batch))).all()
            )
    return {i for i in found if i is not None}


def _referenced(session: Session, kind: ImportKind, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for column in REFERENCES[kind]:
        for batch in chunked(ids):
            found |= set(session.exec(select(column).where(col(column).in_(batch)).distinct()).all())
    return found


def lock_records(session: Session, data_import: DataImport) -> None:
    """Lock the records the import wrote (PostgreSQL), so that nobody changes one between the
    check and the revert; SQLite's single writer lock does that already."""
    if session.get_bind().dialect.name == "sqlite":
        return
    model = MODELS[data_import.kind]
    ids = session.exec(
        select(ImportRow.entity_id).where(
            ImportRow.data_import_id == data_import.id, col(ImportRow.entity_id).is_not(None)
        )
    ).all()
    for batch in chunked(sorted({i for i in ids if i is not None})):
        session.exec(select(model.id).where(col(model.id).in_(batch)).with_for_update()).all()


def revert_check(session: Session, data_import: DataImport) -> RevertCheck:
    """Which created or updated rows can be reverted, and why the others cannot."""
    rows = list(
        session.exec(
            select(ImportRow)
            .where(
                ImportRow.data_import_id == data_import.id,
                col(ImportRow.action).in_((RowAction.CREATE, RowAction.UPDATE)),
                col(ImportRow.reverted_at).is_(None),
            )
            .order_by(col(ImportRow.row_number))
        ).all()
    )
    ids = [row.entity_id for row in rows if row.entity_id is not None]
    existing = _existing(session, data_import.kind, ids)
    changed = _changed_since(session, data_import, ids)
    created = [row.entity_id for row in rows if row.action == RowAction.CREATE and row.entity_id is not None]
    referenced = _referenced(session, data_import.kind, created)
    check = RevertCheck()
    for row in rows:
        if row.entity_id not in existing:
            check.kept.append((row, Problem.of(None, GONE)))
        elif row.entity_id in changed:
            check.kept.append((row, Problem.of(None, CHANGED)))
        elif row.action == RowAction.CREATE and row.entity_id in referenced:
            check.kept.append((row, Problem.of(None, REFERRED)))
        else:
            check.revertible.append(row)
    return check


def _describe(kind: ImportKind, obj: Any) -> dict[str, Any]:
    if kind == ImportKind.LEADS:
        return {"title": obj.title, "confidential": obj.confidential}
    if kind == ImportKind.CONTACTS:
        return {"name": obj.name, "email": obj.email}
    return {"name": obj.short_name()}


def _record_deleted(session: Session, kind: ImportKind, obj: Any, actor: User, payload: dict[str, Any]) -> None:
    payload = {**payload, **_describe(kind, obj)}
    if kind == ImportKind.LEADS:
        record_event(session, "lead.deleted", obj, actor=actor, lead_id=obj.id, payload=payload)
    elif kind == ImportKind.CONTACTS:
        record_event(session, "contact.deleted", obj, actor=actor, payload=payload)
    else:
        record_event(session, "organisation.deleted", obj, actor=actor, payload=payload)


def remove_rows(session: Session, data_import: DataImport, rows: list[ImportRow], actor: User) -> list[ImportRow]:
    """Delete what these rows created, each with its ``<kind>.deleted`` event; one DELETE per
    batch (the database cascades to what hangs off a record: an organisation's sectors)."""
    model = MODELS[data_import.kind]
    removed = []
    for batch in chunked(rows):
        ids = [r.entity_id for r in batch]
        objects = {obj.id: obj for obj in session.exec(select(model).where(col(model.id).in_(ids))).all()}
        for row in batch:
            obj = objects[row.entity_id]
            _record_deleted(session, data_import.kind, obj, actor, {"import_id": data_import.id})
            session.expunge(obj)
            removed.append(row)
        session.execute(delete(model).where(col(model.id).in_(ids)))
    return removed


def restore_rows(
    session: Session, kind: ImportKind, rows: list[ImportRow], actor: User
) -> tuple[list[ImportRow], list[tuple[ImportRow, Problem]]]:
    """Put back the values these rows replaced, through the domain's update operations."""
    model = MODELS[kind]
    restored: list[ImportRow] = []
    kept: list[tuple[ImportRow, Problem]] = []
    for batch in chunked(rows):
        objects = {
            obj.id: obj
            for obj in session.exec(select(model).where(col(model.id).in_([r.entity_id for r in batch]))).all()
        }
        for row in batch:
            before = {name: pair[0] for name, pair in row.changes.items()}
            try:
                _restore(session, kind, objects[row.entity_id], before, actor)
            except ValidationError as exc:
                kept.append((row, Problem.of(None, next(iter(exc.errors.values())))))
            except PermissionDenied as exc:  # e.g. the lead's owner, which the reverter no longer manages
                kept.append((row, Problem.of(None, exc.message or REFUSED)))
            else:
                restored.append(row)
    return restored, kept


def _restore(session: Session, kind: ImportKind, obj: Any, before: dict[str, Any], actor: User) -> None:
    if kind == ImportKind.LEADS:
        stage = before.pop("stage", None)
        if before:
            update_lead(session, obj, actor=actor, **before)
        if stage is not None:
            move_lead_to_stage(session, obj, stage, actor=actor)
    elif kind == ImportKind.ORGANISATIONS:
        sector_ids = before.pop("sector_ids", None)
        update_organisation(session, obj, actor=actor, sector_ids=sector_ids, **before)
    else:
        update_contact(session, obj, actor=actor, **before)
