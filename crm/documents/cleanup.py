"""Removing files that no document row points at any more.

A file outlives its row when the row is deleted (a document removed, or its lead deleted
with everything that hangs from it) and when a process died between writing a file and
committing its row.  The ``documents`` consumer removes the first kind right after the
commit; :func:`sweep_orphans` finds any that remain, older than a grace period so that an
upload still on its way to its commit is left alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from crm.core.time import utcnow
from crm.documents.models import Document
from crm.documents.storage import Storage, StoredFile

SWEEP_GRACE = timedelta(hours=6)


def _known(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(session.exec(select(Document.storage_key).where(col(Document.storage_key).in_(chunk))).all())
    return found


def remove_unreferenced(session: Session, store: Storage, files: list[StoredFile], *, before: datetime) -> list[str]:
    """Delete those of ``files`` written before ``before`` that no row names; their keys."""
    candidates = [f.key for f in files if f.modified_at <= before]
    known = _known(session, candidates)
    removed = [key for key in candidates if key not in known]
    for key in removed:
        store.delete(key)
    return removed


def remove_owner_files(session: Session, store: Storage, kind: str, owner_id: int, *, before: datetime) -> list[str]:
    """The files of a deleted lead, meeting or mission (written before its deletion)."""
    return remove_unreferenced(session, store, list(store.files(f"{kind}/{int(owner_id)}/")), before=before)


def sweep_orphans(session: Session, store: Storage, *, grace: timedelta = SWEEP_GRACE) -> list[str]:
    """Every file without a row, written more than ``grace`` ago."""
    return remove_unreferenced(session, store, list(store.files()), before=utcnow() - grace)
