"""The reminder dispatcher: every minute, turn due rungs into mail-ledger rows.

One indexed query finds pending rungs whose moment has come.  Each becomes a ledger row
keyed ``reminder:{followup}:{rung}:{due_version}`` (plus the recipient for escalations),
so two dispatchers at once — or a dispatcher run twice — still queue each reminder once.
A rung of an old due version, or of a follow-up that is done, is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.db import pk, serialise_writers
from crm.core.emails import render_email
from crm.core.ledger import Attachment, queue_mail
from crm.core.time import utcnow
from crm.followups.agenda import AgendaItem
from crm.followups.calendar import build_calendar
from crm.followups.ladder import Rung, local_date, overdue_rung
from crm.followups.models import FollowUp, FollowUpStatus, ReminderRung, RungStatus
from crm.followups.reminders import add_rungs, plan_escalation
from crm.leads.labels import stage_label
from crm.leads.models import Lead
from crm.notifications.consumers import notify
from crm.organisations.models import Organisation


def _by_id(session: Session, model: type, ids: Iterable[int]) -> dict[int, object]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows: list[Any] = list(session.exec(select(model).where(col(model.id).in_(wanted))).all())  # type: ignore[attr-defined]
    return {row.id: row for row in rows}


def mail_key(rung: ReminderRung, owner_id: int) -> str:
    key = f"reminder:{rung.followup_id}:{rung.rung}:{rung.due_version}"
    return key if rung.recipient_id == owner_id else f"{key}:{rung.recipient_id}"


def rung_days(rung: ReminderRung, followup: FollowUp, recipient: User, now: datetime) -> int:
    """Days until (before the due date) or since (overdue) the due date, on the recipient's calendar."""
    name = rung.rung
    if name.startswith("before-"):
        return max(0, (local_date(followup.due_at, recipient.timezone) - local_date(now, recipient.timezone)).days)
    if name.startswith("overdue-"):
        return int(name.split("-", 1)[1])
    if name == "escalation":
        return max(1, (local_date(now, recipient.timezone) - local_date(followup.due_at, recipient.timezone)).days)
    return 0


def dispatch_due_reminders(session: Session, *, now: datetime | None = None, limit: int = 500) -> int:
    """Queue the mail of every due rung (up to ``limit``); commit; return how many were queued."""
    now = now or utcnow()
    session.rollback()
    serialise_writers(session, "reminders")
    query = (
        select(ReminderRung)
        .where(ReminderRung.status == RungStatus.PENDING, col(ReminderRung.fire_at) <= now)
        .order_by(col(ReminderRung.fire_at), col(ReminderRung.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rungs = list(session.exec(query).all())
    if not rungs:
        session.commit()
        return 0
    followups = _by_id(session, FollowUp, (r.followup_id for r in rungs))
    leads = _by_id(session, Lead, (f.lead_id for f in followups.values()))  # type: ignore[attr-defined]
    orgs = _by_id(
        session,
        Organisation,
        [o for lead in leads.values() for o in (lead.ma_organisation_id, lead.us_organisation_id)],  # type: ignore[attr-defined]
    )
    users = _by_id(
        session,
        User,
        [r.recipient_id for r in rungs] + [f.owner_id for f in followups.values()],  # type: ignore[attr-defined]
    )
    base_url = current_app.config["BASE_URL"]
    escalate_after = int(current_app.config.get("ESCALATION_AFTER_DAYS", 3))
    queued = 0
    for rung in rungs:
        followup = followups.get(rung.followup_id)
        recipient = users.get(rung.recipient_id)
        if (
            not isinstance(followup, FollowUp)
            or followup.status != FollowUpStatus.OPEN
            or followup.due_version != rung.due_version
            or not isinstance(recipient, User)
            or not recipient.is_active
        ):
            rung.status = RungStatus.SKIPPED
            continue
        lead = leads[followup.lead_id]
        assert isinstance(lead, Lead)
        owner = users[followup.owner_id]
        assert isinstance(owner, User)
        item = AgendaItem(followup, lead, orgs[lead.ma_organisation_id], orgs[lead.us_organisation_id], owner)  # type: ignore[arg-type]
        key = mail_key(rung, pk(owner))
        days = rung_days(rung, followup, recipient, now)
        language = recipient.language.value
        email = render_email(
            "reminder",
            language=language,
            timezone=recipient.timezone,
            rung=rung.rung,
            days=days,
            followup=followup,
            lead=lead,
            owner=owner,
            ma_organisation=item.ma_organisation,
            us_organisation=item.us_organisation,
            stage_label=stage_label,
        )
        with force_locale(language):
            ics = build_calendar([item], lambda lead_id: f"{base_url}/leads/{lead_id}")
        if queue_mail(
            session,
            dedupe_key=key,
            kind="reminder",
            to=recipient.email,
            to_name=recipient.name,
            language=language,
            subject=email.subject,
            text=email.text,
            html=email.html,
            attachments=[Attachment(f"followup-{followup.id}.ics", "text/calendar", ics)],
            user_id=recipient.id,
        ):
            queued += 1
        notify(
            session,
            {pk(recipient)},
            source=key,
            kind=f"reminder.{rung.rung.split('-')[0]}",
            lead_id=lead.id,
            params={
                "followup_id": followup.id,
                "followup_title": followup.title,
                "lead_title": lead.title,
                "days": days,
                "due_at": followup.due_at.isoformat(),
            },
        )
        rung.status = RungStatus.SENT
        rung.sent_at = now
        if rung.rung.startswith("overdue-") and rung.recipient_id == followup.owner_id:
            _plan_next_overdue(session, followup, recipient, days, now, escalate_after)
    session.commit()
    return queued


def _plan_next_overdue(
    session: Session, followup: FollowUp, owner: User, days: int, now: datetime, escalate_after: int
) -> None:
    nxt: Rung = overdue_rung(
        followup.due_at, days + 1, zone=owner.timezone, send_hour=owner.reminder_send_hour, now=now
    )
    if nxt.fire_at <= now:  # never twice in the same run
        nxt = Rung(nxt.name, now + timedelta(hours=1))
    add_rungs(session, followup, pk(owner), [nxt])
    if days >= escalate_after:
        plan_escalation(session, followup, now)
