"""``/leads/{id}/documents``: the documents on a lead the caller may see, newest first."""

from __future__ import annotations

from typing import Any

from crm.api.framework import Call, endpoint
from crm.api.resources.leads import seen_lead
from crm.api.schemas.documents import DocumentList, DocumentOut
from crm.core.db import db
from crm.documents.queries import documents_of


@endpoint(
    "GET",
    "/leads/<int:lead_id>/documents",
    name="list_lead_documents",
    tag="leads",
    summary="List a lead's documents",
    response=DocumentList,
)
def list_lead_documents(call: Call, lead_id: int) -> Any:
    """The files uploaded on the lead (MoU drafts, presentations, signed agreements): their
    names, types, sizes and checksums.  A confidential lead's documents exist only for
    those who see the lead."""
    seen_lead(call.user, lead_id)
    rows = documents_of(db.session, "lead", lead_id)
    return DocumentList(items=[DocumentOut.model_validate(row.document) for row in rows])
