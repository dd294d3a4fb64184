"""Reads of documents: an owner's list (one query) and one document with its visibility."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from crm.accounts.models import User
from crm.documents.models import OWNER_KINDS, Document
from crm.leads.models import Lead
from crm.leads.queries import can_see
from crm.missions.models import Meeting, Mission

Owner = Lead | Meeting | Mission


def owner_kind(owner: Owner) -> str:
    return {Lead: "lead", Meeting: "meeting", Mission: "mission"}[type(owner)]


@dataclass
class DocumentRow:
    document: Document
    uploaded_by: User | None


def documents_of(session: Session, kind: str, owner_id: int) -> list[DocumentRow]:
    """The documents on one lead, meeting or mission, newest first, with their uploaders."""
    if kind not in OWNER_KINDS:
        raise ValueError(kind)
    rows = session.exec(
        select(Document, User)  # type: ignore[call-overload]
        .outerjoin(User, col(User.id) == Document.uploaded_by_id)
        .where(getattr(Document, f"{kind}_id") == owner_id)
        .order_by(col(Document.uploaded_at).desc(), col(Document.id).desc())
    ).all()
    return [DocumentRow(document, user) for document, user in rows]


def meeting_documents_of_mission(session: Session, mission_id: int) -> list[tuple[DocumentRow, Meeting]]:
    """The documents on a mission's meetings (one query), by meeting time then newest first."""
    rows = session.exec(
        select(Document, User, Meeting)  # type: ignore[call-overload]
        .join(Meeting, col(Meeting.id) == Document.meeting_id)
        .outerjoin(User, col(User.id) == Document.uploaded_by_id)
        .where(Meeting.mission_id == mission_id)
        .order_by(col(Meeting.starts_at), col(Document.uploaded_at).desc(), col(Document.id).desc())
    ).all()
    return [(DocumentRow(document, user), meeting) for document, user, meeting in rows]


def document_count(session: Session, kind: str, owner_id: int) -> int:
    if kind not in OWNER_KINDS:
        raise ValueError(kind)
    query = select(func.count()).select_from(Document).where(getattr(Document, f"{kind}_id") == owner_id)
    return int(session.exec(query).one())


def document_owner(session: Session, document: Document) -> Lead | Meeting | Mission | None:
    kind, owner_id = document.owner
    if kind == "lead":
        return session.get(Lead, owner_id)
    if kind == "meeting":
        return session.get(Meeting, owner_id)
    return session.get(Mission, owner_id)


def visible_document(
    session: Session, user: User, document_id: int
) -> tuple[Document, Lead | Meeting | Mission] | None:
    """The document and what it is on, if ``user`` may see it: a lead's documents are seen
    by those who see the lead (a confidential lead's are as absent as missing ones)."""
    document = session.get(Document, document_id)
    if document is None:
        return None
    owner = document_owner(session, document)
    if owner is None or (isinstance(owner, Lead) and not can_see(session, user, owner)):
        return None
    return document, owner
