"""The "documents" consumer: a document's file is removed once its row's deletion is
committed (``document.removed``), and a deleted lead's files once the lead is gone
(``lead.deleted``; the database deleted their rows with it)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.documents.cleanup import remove_owner_files, remove_unreferenced
from crm.documents.storage import BadKey, StoredFile, check_key, storage

# The event's instant is taken before its commit; a file written in the same second is
# its own lead's last upload, made before the deletion.
MARGIN = timedelta(seconds=1)


@consumer("documents", "document.removed", "lead.deleted")
def on_document_gone(session: Session, event: Event) -> None:
    store = storage()
    before = event.occurred_at + MARGIN
    if event.type == "document.removed":
        try:
            key = check_key(str(event.payload.get("storage_key", "")))
        except BadKey:
            return
        remove_unreferenced(session, store, [StoredFile(key, event.occurred_at)], before=before)
    elif event.entity_id is not None:
        remove_owner_files(session, store, "lead", event.entity_id, before=before)
