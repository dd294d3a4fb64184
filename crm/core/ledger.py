"""The mail ledger: every outbound email is one row with a unique dedupe key.

Sending claims a row with a lease, talks SMTP, then marks it sent, retry (4xx or a
network error: exponential backoff with jitter) or failed (5xx, or too many attempts).
A sweeper puts rows whose lease expired back in the queue.  The Message-ID is fixed
when the row is written, so a resend after a crash is recognisably the same message.
Result: nothing is lost, and a duplicate is only possible when the process dies between
the server's 250 and the commit.
"""

from __future__ import annotations

import base64
import enum
import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, func, select

from crm.core.db import UTCDateTime, enum_column
from crm.core.requestid import current_request_id, working_for
from crm.core.time import utcnow
from crm.core.wire import BadAddress, WireMessage, compose, one_line, strip_name, wire_address

log = logging.getLogger(__name__)


class MailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


class OutboundMail(SQLModel, table=True):
    __tablename__ = "outbound_mail"
    __table_args__ = (sa.Index("ix_outbound_mail_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32, index=True)
    recipient_email: str = Field(max_length=254)
    recipient_name: str = Field(default="", max_length=200)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True)
    language: str = Field(max_length=2)
    subject: str = Field(max_length=500)
    text_body: str = Field(sa_type=sa.Text)
    html_body: str = Field(default="", sa_type=sa.Text)
    # [{"filename": …, "content_type": "text/calendar", "data": base64}, …]
    attachments: list[dict[str, str]] = Field(default_factory=list, sa_type=sa.JSON)
    headers: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    message_id: str = Field(max_length=250)
    status: MailStatus = Field(default=MailStatus.QUEUED, sa_type=enum_column(MailStatus, 16))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enqueued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The request (or beat tick) whose work wrote the row: its log lines carry the same id.
    request_id: str | None = Field(default=None, max_length=64)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    cid: str | None = None  # an inline part of the HTML (``<img src="cid:…">``)

    def to_json(self) -> dict[str, str]:
        found = {
            "filename": self.filename,
            "content_type": self.content_type,
            "data": base64.b64encode(self.data).decode("ascii"),
        }
        if self.cid:
            found["cid"] = self.cid
        return found


def queue_mail(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    to: str,
    to_name: str = "",
    language: str,
    subject: str,
    text: str,
    html: str = "",
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
    headers: dict[str, str] | None = None,
    user_id: int | None = None,
    domain: str = "jisr.local",
) -> bool:
    """Write a ledger row unless one with ``dedupe_key`` exists; True if written.

    The row's address is the message's only recipient.  One that is not a single plain
    address (it should have been refused where it was typed) is written as failed, with
    the reason for the administrators, and never sent."""
    problem: str | None = None
    try:
        wire_address(to.strip())
    except BadAddress:
        problem = "not a single email address: nothing was sent"
    values: dict[str, Any] = {
        "dedupe_key": dedupe_key,
        "kind": kind,
        "recipient_email": to.strip()[:254],
        "recipient_name": strip_name(to_name)[:200].rstrip(),
        "user_id": user_id,
        "language": language,
        "subject": one_line(subject)[:500].rstrip(),
        "text_body": text,
        "html_body": html,
        "attachments": [a.to_json() for a in attachments],
        "headers": {one_line(k): one_line(v) for k, v in (headers or {}).items()},
        "message_id": make_msgid(domain=domain),
        "status": (MailStatus.FAILED if problem else MailStatus.QUEUED).value,
        "last_error": problem,
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
        "request_id": current_request_id(),
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(OutboundMail).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # RETURNING tells what was written on both databases (psycopg's rowcount for an ORM
    # insert skipped by ON CONFLICT is not 0).
    return session.execute(statement.returning(col(OutboundMail.id))).first() is not None


def build_message(mail: OutboundMail, sender: str) -> WireMessage:
    """The row as it goes over the wire: its address is the one envelope recipient."""
    return compose(
        sender=sender,
        recipient=mail.recipient_email,
        recipient_name=mail.recipient_name,
        subject=mail.subject,
        message_id=mail.message_id,
        date=mail.created_at,
        language=mail.language,
        text=mail.text_body,
        html=mail.html_body,
        attachments=mail.attachments,
        headers=mail.headers,
    )


def claim(session: Session, mail_id: int, lease: timedelta) -> OutboundMail | None:
    """Take the row for sending if it is due and nobody holds it; commit the claim."""
    now = utcnow()
    result = session.execute(
        sa.update(OutboundMail)
        .where(
            col(OutboundMail.id) == mail_id,
            col(OutboundMail.status).in_([MailStatus.QUEUED, MailStatus.RETRY]),
            col(OutboundMail.next_attempt_at) <= now,
        )
        .values(status=MailStatus.SENDING, lease_until=now + lease, attempts=OutboundMail.attempts + 1)
    )
    session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    mail = session.get(OutboundMail, mail_id, populate_existing=True)
    return mail


def backoff(attempts: int, base: float, cap: float = 3600.0) -> timedelta:
    """Exponential backoff with full jitter between 50 % and 100 % of the step."""
    step = min(cap, base * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=step * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class Outcome:
    status: MailStatus
    retry_in: timedelta | None = None


def record_result(
    session: Session, mail: OutboundMail, error: BaseException | None, *, base: float, max_attempts: int
) -> Outcome:
    """Mark the claimed row after a send attempt; commit."""
    now = utcnow()
    mail.lease_until = None
    if error is None:
        mail.status = MailStatus.SENT
        mail.sent_at = now
        mail.last_error = None
        session.commit()
        return Outcome(MailStatus.SENT)
    permanent = isinstance(error, smtplib.SMTPResponseException) and 500 <= error.smtp_code < 600
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
    mail.last_error = f"{type(error).__name__}: {error}"[:2000]
    if permanent or mail.attempts >= max_attempts:
        mail.status = MailStatus.FAILED
        session.commit()
        return Outcome(MailStatus.FAILED)
    delay = backoff(mail.attempts, base)
    mail.status = MailStatus.RETRY
    mail.next_attempt_at = now + delay
    session.commit()
    return Outcome(MailStatus.RETRY, delay)


def requeue_expired_leases(session: Session) -> int:
    """Rows left 'sending' by a process that died go back to the queue; commit."""
    now = utcnow()
    result = session.execute(
        sa.update(OutboundMail)
        .where(col(OutboundMail.status) == MailStatus.SENDING, col(OutboundMail.lease_until) < now)
        .values(status=MailStatus.RETRY, next_attempt_at=now, lease_until=None, last_error="lease expired")
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def due_mail_ids(session: Session, *, stale_after: timedelta, limit: int = 1000) -> list[tuple[int, str]]:
    """(id, kind) of the rows ready to send whose task was never enqueued or was enqueued
    long ago; marks them."""
    now = utcnow()
    query = (
        select(OutboundMail.id, OutboundMail.kind)
        .where(
            col(OutboundMail.status).in_([MailStatus.QUEUED, MailStatus.RETRY]),
            col(OutboundMail.next_attempt_at) <= now,
            sa.or_(col(OutboundMail.enqueued_at).is_(None), col(OutboundMail.enqueued_at) < now - stale_after),
        )
        .order_by(col(OutboundMail.next_attempt_at))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = [(int(i), str(kind)) for i, kind in session.exec(query).all() if i is not None]
    ids = [i for i, _ in due]
    if ids:
        session.execute(sa.update(OutboundMail).where(col(OutboundMail.id).in_(ids)).values(enqueued_at=now))
    session.commit()
    return due


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.exec(select(OutboundMail.status, func.count()).group_by(OutboundMail.status)).all()
    return {str(getattr(status, "value", status)): int(n) for status, n in rows}


def last_errors(session: Session, limit: int = 10) -> list[OutboundMail]:
    query = (
        select(OutboundMail)
        .where(col(OutboundMail.last_error).is_not(None), OutboundMail.status != MailStatus.SENT)
        .order_by(col(OutboundMail.id).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


def retry_failed(session: Session) -> list[int]:
    """Put every failed row back in the queue (an admin action); the caller commits."""
    ids = [
        int(i) for i in session.exec(select(OutboundMail.id).where(OutboundMail.status == MailStatus.FAILED)).all() if i
    ]
    if ids:
        session.execute(
            sa.update(OutboundMail)
            .where(col(OutboundMail.id).in_(ids))
            .values(status=MailStatus.QUEUED, attempts=0, next_attempt_at=utcnow(), enqueued_at=None)
        )
    return ids


def send_one(
    session: Session, mail_id: int, *, sender: str, lease: timedelta, base: float, max_attempts: int
) -> Outcome | None:
    """Claim, send and record one ledger row; ``None`` when someone else has it or it is done."""
    from crm.core.mail import deliver

    mail = claim(session, mail_id, lease)
    if mail is None:
        return None
    error: BaseException | None = None
    with working_for(mail.request_id):
        try:
            deliver(build_message(mail, sender))
        except (smtplib.SMTPException, OSError) as exc:
            error = exc
        except ValueError as exc:  # a bad address or header in the row: retrying cannot help
            error = smtplib.SMTPResponseException(550, f"not sent: {exc}".encode())
        kind, attempt = mail.kind, mail.attempts
        outcome = record_result(session, mail, error, base=base, max_attempts=max_attempts)
        log.log(
            logging.INFO if outcome.status == MailStatus.SENT else logging.WARNING,
            "mail %s (%s), attempt %s: %s%s",
            mail_id, kind, attempt, outcome.status.value, f" ({error})" if error else "",
            extra={"mail_id": mail_id, "mail_status": outcome.status.value},
        )  # fmt: skip
    return outcome
