"""The "documents" consumer: a document's file is removed once its row's deletion is
committed (``document.removed``), and a deleted lead's, meeting's or mission's files once
it is gone (``lead.deleted`` and the like: the database deleted their rows with it)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.documents.cleanup import remove_owner_files, remove_unreferenced
from crm.documents.models import OWNER_KINDS
from crm.documents.storage import BadKey, StoredFile, check_key, storage

# The event's instant is taken before its commit; a file written in the same second is
# its own lead's last upload, made before the deletion.
MARGIN = timedelta(seconds=1)


@consumer("documents", "document.removed", "lead.deleted", "meeting.deleted", "mission.deleted")
def on_document_gone(session: Session, event: Event) -> None:
    store = storage()
    before = event.occurred_at + MARGIN
    if event.type == "document.removed":
        try:
            key = check_key(str(event.payload.get("storage_key", "")))
        except BadKey:
            return
        remove_unreferenced(session, store, [StoredFile(key, event.occurred_at)], before=before)
    elif event.entity_id is not None and event.entity_type in OWNER_KINDS:
        remove_owner_files(session, store, event.entity_type, event.entity_id, before=before)
