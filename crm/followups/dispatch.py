"""The reminder dispatcher: every minute, turn due rungs into mail-ledger rows.

One indexed query finds pending rungs whose moment has come.  Each becomes a ledger row
keyed ``reminder:{followup}:{rung}:{due_version}`` (plus the recipient for escalations),
so two dispatchers at once — or a dispatcher run twice — still queue each reminder once.
The escalations of one run for one person become a single row keyed
``escalation:{recipient}:{local date}:{digest of the rung ids}``; the rungs are marked
sent in the same transaction as the row, so a re-run finds nothing left to send.
A rung of an old due version, or of a follow-up that is done, is skipped.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.db import pk, serialise_writers
from crm.core.ledger import Attachment, queue_mail
from crm.core.time import utcnow
from crm.followups.agenda import AgendaItem
from crm.followups.calendar import build_calendar
from crm.followups.ladder import Rung, days_until, local_date, overdue_rung
from crm.followups.mails import OverdueLine, Wording, lead_url, render_reminder, render_team_escalation, wording
from crm.followups.models import FollowUp, FollowUpStatus, ReminderRung, RungStatus
from crm.followups.reminders import add_rungs, plan_escalation
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
    """The overdue day a rung stands for (what the next overdue rung counts from)."""
    if rung.rung.startswith("overdue-"):
        return int(rung.rung.split("-", 1)[1])
    return max(0, -days_until(followup.due_at, now, recipient.timezone))


def team_escalation_key(recipient_id: int, rungs: Sequence[ReminderRung], now: datetime, zone: str) -> str:
    """Stable across a redelivered or re-run dispatch: the rungs of a group are marked sent
    in the transaction that writes its ledger row, so the same group is only ever retried
    whole, and then has the same key."""
    ids = ",".join(str(i) for i in sorted(pk(r) for r in rungs))
    digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
    return f"escalation:{recipient_id}:{local_date(now, zone).isoformat()}:{digest}"


def dispatch_due_reminders(session: Session, *, now: datetime | None = None, limit: int = 500) -> int:
    """Queue the mail of every due rung (up to ``limit``); commit; return how many were queued.

    The escalations of one run that go to the same person are one mail listing them all
    ("5 follow-ups of your team are overdue"); a lone escalation is a reminder of its own."""
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
    if len(rungs) == limit:
        rungs += _rest_of_escalation_groups(session, rungs, now)
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
    escalate_after = int(current_app.config.get("ESCALATION_AFTER_DAYS", 3))
    queued = 0
    escalations: dict[int, list[tuple[ReminderRung, AgendaItem]]] = defaultdict(list)
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
        if rung.rung == "escalation":
            escalations[pk(recipient)].append((rung, item))
            continue
        queued += _queue_reminder(session, rung, item, recipient, now)
        if rung.rung.startswith("overdue-") and rung.recipient_id == followup.owner_id:
            days = rung_days(rung, followup, recipient, now)
            _plan_next_overdue(session, followup, recipient, days, now, escalate_after)
    for recipient_id, group in escalations.items():
        recipient = users[recipient_id]
        assert isinstance(recipient, User)
        if len(group) == 1:
            queued += _queue_reminder(session, group[0][0], group[0][1], recipient, now)
        else:
            queued += _queue_team_escalation(session, recipient, group, now)
    session.commit()
    return queued


def _rest_of_escalation_groups(session: Session, rungs: list[ReminderRung], now: datetime) -> list[ReminderRung]:
    """The due escalations that a full batch cut off from its recipients' groups: one
    person gets one mail per run, however the batch limit falls."""
    recipients = {r.recipient_id for r in rungs if r.rung == "escalation"}
    if not recipients:
        return []
    query = select(ReminderRung).where(
        ReminderRung.status == RungStatus.PENDING,
        col(ReminderRung.fire_at) <= now,
        ReminderRung.rung == "escalation",
        col(ReminderRung.recipient_id).in_(sorted(recipients)),
        col(ReminderRung.id).not_in([pk(r) for r in rungs]),
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query).all())


def _sent(
    session: Session, rung: ReminderRung, item: AgendaItem, recipient: User, said: Wording, now: datetime
) -> None:
    """Mark ``rung`` sent (with its ledger row, in one transaction) and ring the bell."""
    key = mail_key(rung, pk(item.owner))
    notify(
        session,
        {pk(recipient)},
        source=key,
        kind=said.notification_kind,
        lead_id=item.lead.id,
        params={
            "followup_id": item.followup.id,
            "followup_title": item.followup.title,
            "lead_title": item.lead.title,
            "days": said.days,
            "due_at": item.followup.due_at.isoformat(),
        },
        occurred_at=now,
    )
    rung.status = RungStatus.SENT
    rung.sent_at = now


def _queue_reminder(session: Session, rung: ReminderRung, item: AgendaItem, recipient: User, now: datetime) -> int:
    email, said = render_reminder(item, recipient, rung.rung, now)
    language = recipient.language.value
    with force_locale(language):
        ics = build_calendar([item], lead_url)
    written = queue_mail(
        session,
        dedupe_key=mail_key(rung, pk(item.owner)),
        kind="reminder",
        to=recipient.email,
        to_name=recipient.name,
        language=language,
        subject=email.subject,
        text=email.text,
        html=email.html,
        attachments=[Attachment(f"followup-{item.followup.id}.ics", "text/calendar", ics)],
        user_id=recipient.id,
    )
    _sent(session, rung, item, recipient, said, now)
    return int(written)


def _queue_team_escalation(
    session: Session, recipient: User, group: list[tuple[ReminderRung, AgendaItem]], now: datetime
) -> int:
    said = [(rung, item, wording(rung.rung, item.followup, recipient, now)) for rung, item in group]
    email = render_team_escalation(recipient, [OverdueLine(item, w.days) for _rung, item, w in said])
    written = queue_mail(
        session,
        dedupe_key=team_escalation_key(pk(recipient), [rung for rung, _item in group], now, recipient.timezone),
        kind="reminder",
        to=recipient.email,
        to_name=recipient.name,
        language=recipient.language.value,
        subject=email.subject,
        text=email.text,
        html=email.html,
        user_id=recipient.id,
    )
    for rung, item, w in said:
        _sent(session, rung, item, recipient, w, now)
    return int(written)


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
