"""The person in received and written email: the emails on leads that name them, and the
raw messages Jisr keeps (the inbound ledger's .eml, which a regular expression cannot
clean: a name may be quoted-printable, base64 or RFC 2047 encoded there)."""

from __future__ import annotations

from email.message import EmailMessage as Message
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.inbound.models import EmailMessage, InboundMail, InboundState
from crm.inbound.parsing import parse_mail
from crm.privacy.traces import Traces

EMAIL_COLUMNS = ("from_name", "from_address", "to", "cc", "subject", "text", "html")
ERASED_NOTICE = "The personal data of a sender or a recipient of this message was erased."
# Raw messages not filed on a lead live only in the ledger: a tray is short, so it is read.
UNFILED = (InboundState.RECEIVED, InboundState.TO_FILE, InboundState.REVIEW, InboundState.DROPPED)


def emails_naming(session: Session, traces: Traces) -> list[EmailMessage]:
    condition = sa.or_(*[traces.sql_condition(getattr(EmailMessage, c)) for c in EMAIL_COLUMNS])
    rows = session.exec(select(EmailMessage).where(condition).order_by(col(EmailMessage.id))).all()
    return [row for row in rows if any(traces.found_in(getattr(row, c)) for c in EMAIL_COLUMNS)]


def raw_naming(session: Session, traces: Traces, emails: list[EmailMessage]) -> list[InboundMail]:
    """The raw messages behind ``emails``, those the person sent, and the unfiled ones that
    name them once decoded."""
    ids = {e.inbound_mail_id for e in emails if e.inbound_mail_id is not None}
    found = list(session.exec(select(InboundMail).where(col(InboundMail.id).in_(ids))).all()) if ids else []
    others = select(InboundMail).where(
        sa.or_(traces.sql_condition(InboundMail.envelope_from), col(InboundMail.state).in_(UNFILED))
    )
    if ids:
        others = others.where(col(InboundMail.id).not_in(ids))
    for mail in session.exec(others.order_by(col(InboundMail.id))):
        if traces.found_in(mail.envelope_from) or (mail.state in UNFILED and _names(traces, mail.raw)):
            found.append(mail)
    return found


def _names(traces: Traces, raw: bytes) -> bool:
    parsed = parse_mail(raw)
    texts: list[Any] = [parsed.from_name, parsed.from_address, parsed.subject, parsed.text, parsed.html]
    return any(traces.found_in(t) for t in [*texts, parsed.to, parsed.cc])


def erased_raw(mail: InboundMail) -> bytes:
    """What stays of a raw message: its Message-ID (so that it is not stored again) and a
    notice; no name, address or text of the original."""
    message = Message()
    message["Message-ID"] = f"<{mail.message_id}>"
    message["Subject"] = "-"
    message.set_content(ERASED_NOTICE)
    return message.as_bytes()


def erase_in_mail(session: Session, traces: Traces) -> dict[str, int]:
    """Scrub the emails on leads and replace the raw messages that name the person."""
    emails = emails_naming(session, traces)
    raws = raw_naming(session, traces, emails)
    for email in emails:
        for column in EMAIL_COLUMNS:
            setattr(email, column, traces.scrub(getattr(email, column)))
        email.has_remote_images = False
        email.attachments = []  # they were parts of the raw message, which is gone
    for mail in raws:
        mail.raw = erased_raw(mail)
        mail.size = len(mail.raw)
        mail.envelope_from = traces.scrub(mail.envelope_from)
    return {"email_message": len(emails), "inbound_mail": len(raws)}
