"""Adding and removing documents; each records its event.

Adding writes the file first, then the row and its event: when the transaction rolls
back, the file is removed (a hook on the session); when the process dies between the two,
the file has no row and :func:`crm.documents.cleanup.sweep_orphans` removes it later.
Removing deletes the row and records ``document.removed``; the file goes after the commit,
in the ``documents`` consumer, so a rollback never leaves a row without its file.
"""

from __future__ import annotations

import hashlib
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session

from crm.accounts.models import User
from crm.accounts.permissions import require_editor
from crm.core.db import pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import record_event
from crm.core.i18n import lazy_gettext as _l
from crm.documents.content import recognise
from crm.documents.models import Document
from crm.documents.queries import Owner, owner_kind
from crm.documents.settings import max_bytes
from crm.documents.storage import Storage, new_key, storage
from crm.exchange.labels import display_filename, human_size
from crm.leads.models import Lead
from crm.leads.queries import can_see

_SAVED = "jisr_documents_saved"


class FileTooLarge(ValidationError):
    """The file is over ``DOCUMENT_MAX_BYTES`` (answered with HTTP 413)."""


def _check_rights(session: Session, actor: User | None, owner: Owner) -> None:
    """Whoever may change the lead, meeting or mission adds and removes its documents."""
    require_editor(actor)
    if actor is not None and isinstance(owner, Lead) and not can_see(session, actor, owner):
        raise PermissionDenied("confidential lead", message=_l("You do not have access to this lead."))


def _size(content: IO[bytes]) -> int:
    content.seek(0, 2)
    size = content.tell()
    content.seek(0)
    return size


def _sha256(content: IO[bytes]) -> str:
    digest = hashlib.sha256()
    content.seek(0)
    while chunk := content.read(1024 * 1024):
        digest.update(chunk)
    content.seek(0)
    return digest.hexdigest()


def _event_payload(document: Document) -> dict[str, Any]:
    kind, owner_id = document.owner
    return {
        "file_name": document.file_name,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "owner_type": kind,
        "owner_id": owner_id,
    }


def add_document(
    session: Session,
    owner: Owner,
    *,
    file_name: str,
    content: IO[bytes],
    actor: User | None,
    store: Storage | None = None,
) -> Document:
    """Keep ``content`` as a document on ``owner``; refuse a file too large, of a type not
    accepted, or whose content does not match its name (nothing written)."""
    _check_rights(session, actor, owner)
    name = display_filename(file_name)
    if not name:
        raise ValidationError.single("file", _l("Choose a file."))
    size, limit = _size(content), max_bytes()
    if size > limit:
        raise FileTooLarge.single("file", _l("The file is larger than %(size)s.", size=human_size(limit)))
    content_type = recognise(name, content)
    kind = owner_kind(owner)
    store = store or storage()
    key = new_key(kind, pk(owner))
    sha256 = _sha256(content)
    store.save(key, content)
    session.info.setdefault(_SAVED, []).append((store, key))
    try:
        document = Document(
            file_name=name,
            content_type=content_type,
            size=size,
            sha256=sha256,
            storage_key=key,
            uploaded_by_id=getattr(actor, "id", None),
        )
        setattr(document, f"{kind}_id", pk(owner))
        session.add(document)
        session.flush()
        lead_id = pk(owner) if kind == "lead" else None
        record_event(
            session, "document.added", document, actor=actor, lead_id=lead_id, payload=_event_payload(document)
        )
    except BaseException:
        store.delete(key)
        raise
    return document


def remove_document(session: Session, document: Document, owner: Owner, *, actor: User | None) -> None:
    """Delete the document's row; its file goes once the deletion is committed."""
    _check_rights(session, actor, owner)
    kind, owner_id = document.owner
    if (kind, owner_id) != (owner_kind(owner), pk(owner)):
        raise ValidationError.single("document", _l("This document is not on this page."))
    payload = {**_event_payload(document), "storage_key": document.storage_key}
    record_event(
        session,
        "document.removed",
        document,
        actor=actor,
        lead_id=owner_id if kind == "lead" else None,
        payload=payload,
    )
    session.delete(document)


@sa.event.listens_for(Session, "after_commit")
def _keep_saved(session: Session) -> None:
    session.info.pop(_SAVED, None)


@sa.event.listens_for(Session, "after_rollback")
def _remove_saved(session: Session) -> None:
    """The files of documents whose rows were rolled back."""
    for store, key in session.info.pop(_SAVED, ()):
        store.delete(key)
