"""Reads about inbound mail, always through the viewer's visibility of the lead."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.inbound.models import EmailMessage, InboundMail, InboundState
from crm.leads.models import Lead

LEAD_PAGE = 50


def lead_emails(session: Session, lead: Lead, limit: int = LEAD_PAGE) -> list[EmailMessage]:
    """The lead's emails, newest first (the caller has checked that the viewer sees the lead)."""
    return list(
        session.exec(
            select(EmailMessage)
            .where(EmailMessage.lead_id == lead.id)
            .order_by(col(EmailMessage.sent_at).desc(), col(EmailMessage.id).desc())
            .limit(limit)
        ).all()
    )


def tray_count(session: Session, user: User) -> int:
    """Messages waiting for ``user``: in their tray, and for an administrator those to review."""
    mine = InboundMail.user_id == user.id
    condition = (mine & (InboundMail.state == InboundState.TO_FILE)) | (
        (InboundMail.state == InboundState.REVIEW) if user.role == Role.ADMIN else False
    )
    return int(session.exec(select(func.count()).select_from(InboundMail).where(condition)).one())
