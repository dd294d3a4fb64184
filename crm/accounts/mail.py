"""Email to a user of Jisr: rendered in their language and time zone, queued in the mail
ledger under a key that makes it once, and sent right after the transaction commits."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm.accounts.models import User
from crm.core.emails import render_email
from crm.core.events import kick_after_commit
from crm.core.ledger import Attachment, queue_mail

MAIL_SWEEP = "crm.mail.sweep"


def email_user(
    session: Session,
    user: User,
    template: str,
    *,
    dedupe_key: str,
    kind: str,
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
    **context: Any,
) -> bool:
    """Queue ``emails/<template>`` for ``user``; True if queued (False: already there)."""
    language = user.language.value
    email = render_email(template, language=language, timezone=user.timezone, hour_cycle=user.hour_cycle, **context)
    queued = queue_mail(
        session,
        dedupe_key=dedupe_key,
        kind=kind,
        to=user.email,
        to_name=user.name,
        language=language,
        subject=email.subject,
        text=email.text,
        html=email.html,
        attachments=attachments,
        user_id=user.id,
    )
    if queued:
        kick_after_commit(session, MAIL_SWEEP)
    return queued
