"""Handing a rendered message to the mail server, or to the local outbox.

In the embedded mode no SMTP server is needed: messages are written as ``.eml`` files
under ``instance/outbox/`` and administrators read them on the outbox page.  With
``MAIL_URL`` set, the same call speaks SMTP (or SMTPS / STARTTLS).
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path

from flask import current_app

from crm.config import MailSettings
from crm.core.time import utcnow
from crm.core.wire import WireMessage


def outbox_dir() -> Path:
    path = Path(current_app.instance_path) / "outbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the system's certificates takes
    tens of milliseconds, more than sending a message."""
    return ssl.create_default_context()


def deliver(message: WireMessage) -> None:
    """Send one message to its envelope recipient, and to nobody else whatever its headers
    say; raises ``smtplib.SMTPException`` / ``OSError`` on failure."""
    settings: MailSettings = current_app.config["MAIL"]
    if settings.is_local:
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        path = outbox_dir() / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(message.data)
        return
    smtp: smtplib.SMTP
    if settings.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=30, context=tls_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=30)
    with smtp:
        if settings.starttls:
            smtp.starttls(context=tls_context())
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        options = ["SMTPUTF8"] if message.smtputf8 else []
        smtp.sendmail(message.envelope_from, [message.envelope_to], message.data, mail_options=options)


@dataclass(frozen=True)
class StoredMail:
    name: str
    sent_at: datetime
    sender: str
    to: str
    subject: str


def list_outbox(limit: int = 200) -> list[StoredMail]:
    """The newest messages kept in the local outbox."""
    files = sorted(outbox_dir().glob("*.eml"), reverse=True)[:limit]
    result = []
    for path in files:
        msg = message_from_bytes(path.read_bytes(), policy=email.policy.default)
        result.append(
            StoredMail(
                name=path.name,
                sent_at=datetime.fromtimestamp(path.stat().st_mtime).astimezone(),
                sender=str(msg.get("From", "")),
                to=str(msg.get("To", "")),
                subject=str(msg.get("Subject", "")),
            )
        )
    return result


def read_outbox_message(name: str) -> EmailMessage | None:
    if "/" in name or "\\" in name or not name.endswith(".eml"):
        return None
    path = outbox_dir() / name
    if not path.is_file():
        return None
    msg = message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg
