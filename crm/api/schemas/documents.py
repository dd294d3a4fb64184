"""Documents as the API lists them (read-only: uploads go through the web pages)."""

from __future__ import annotations

from pydantic import Field

from crm.api.schemas.common import InstantOut, QueryModel, ReadModel, page_model


class DocumentOut(ReadModel):
    id: int
    file_name: str = Field(description="The name the file was uploaded under.")
    content_type: str = Field(description="The type recognised from the file's content.")
    size: int = Field(description="In bytes.")
    sha256: str = Field(description="The SHA-256 of the content, in hexadecimal.")
    uploaded_by_id: int | None
    uploaded_at: InstantOut


class DocumentQuery(QueryModel):
    # A lead's documents came whole before the list was paged: a page holds as many as it can.
    limit: int = Field(default=100, ge=1, le=100, description="Items per page (at most 100).")


DocumentList = page_model(DocumentOut, "DocumentList")
