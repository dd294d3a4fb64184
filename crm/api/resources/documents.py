"""``/leads/{id}/documents``: the documents on a lead the caller may see, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from crm.api.framework import Call, endpoint
from crm.api.listing import list_page, page_reply
from crm.api.resources.leads import seen_lead
from crm.api.schemas.documents import DocumentList, DocumentOut, DocumentQuery
from crm.core.db import db
from crm.documents.models import Document


@endpoint(
    "GET",
    "/leads/<int:lead_id>/documents",
    name="list_lead_documents",
    tag="leads",
    summary="List a lead's documents",
    query=DocumentQuery,
    response=DocumentList,
)
def list_lead_documents(call: Call, lead_id: int) -> Any:
    """The files uploaded on the lead (MoU drafts, presentations, signed agreements): their
    names, types, sizes and checksums.  A confidential lead's documents exist only for
    those who see the lead."""
    seen_lead(call.user, lead_id)
    query = select(Document).where(col(Document.lead_id) == lead_id)
    found = list_page(
        db.session,
        query,
        call.query,
        name="documents",
        columns={"uploaded_at": col(Document.uploaded_at)},
        tie=col(Document.id),
        sort="-uploaded_at",
    )
    return page_reply(DocumentList, [DocumentOut.model_validate(row[0]) for row in found.rows], found)
