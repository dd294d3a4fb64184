"""Email activities in the API: each activity of kind ``email`` carries its email (subject,
participants, direction), read for a whole page in one query."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from crm.api.schemas.leads import ActivityOut, EmailOut, EmailParticipant
from crm.core.db import db
from crm.inbound.models import EmailMessage
from crm.leads.models import Activity, ActivityKind


def _people(listed: list[dict[str, str]]) -> list[EmailParticipant]:
    return [EmailParticipant(name=str(p.get("name", "")), email=str(p.get("email", ""))) for p in listed]


def email_out(email: EmailMessage) -> EmailOut:
    return EmailOut(
        subject=email.subject,
        direction=email.direction.value,  # type: ignore[arg-type]
        sender=EmailParticipant(name=email.from_name, email=email.from_address),
        to=_people(email.to),
        cc=_people(email.cc),
        message_id=email.message_id,
        thread_id=email.thread_id,
        attachments=len(email.attachments),
    )


def activities_out(activities: list[Activity]) -> list[ActivityOut]:
    wanted = [a.id for a in activities if a.kind == ActivityKind.EMAIL and a.id is not None]
    found: Any = (
        db.session.exec(select(EmailMessage).where(col(EmailMessage.activity_id).in_(wanted))) if wanted else []
    )
    emails = {e.activity_id: e for e in found}
    return [
        ActivityOut.model_validate({**a.model_dump(), "email": email_out(emails[a.id]) if a.id in emails else None})
        for a in activities
    ]
