"""The event spine in one process: relay, idempotent consumers, dispatcher, mail ledger."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crm.config import parse_mail_url
from crm.core.consumers import ConsumedEvent, consume, consumers_for
from crm.core.db import db
from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail, build_message, send_one
from crm.core.outbox import publish_pending, republish_unconsumed
from crm.core.time import utcnow
from crm.followups.dispatch import dispatch_due_reminders
from crm.followups.models import ReminderRung, RungStatus
from crm.followups.operations import complete_followup, reschedule_followup
from crm.leads.operations import add_watcher, move_lead_to_stage
from crm.notifications.models import Notification
from tests.factories import make_followup, make_lead, make_user
from tests.spine_helpers import Sink, due_soon, waking_zone

CASA = "Africa/Casablanca"


def relay_and_consume(session: Session) -> int:
    """What relay + workers do, in this process: publish, then run each delivery."""
    deliveries: list[tuple[int, str]] = []
    while publish_pending(session, lambda ids, name: deliveries.extend((i, name) for i in ids)):
        pass
    for event_id, name in deliveries:
        consume(session, event_id, name)
    return len(deliveries)


def test_relay_publishes_each_event_once_per_consumer(session: Session) -> None:
    lead = make_lead(session)
    make_followup(session, lead, due_soon(CASA, 60 * 24 * 5))
    session.commit()
    published: list[tuple[int, str]] = []
    assert publish_pending(session, lambda ids, n: published.extend((e, n) for e in ids)) > 0
    assert publish_pending(session, lambda ids, n: published.extend((e, n) for e in ids)) == 0
    assert len(published) == len(set(published))
    scheduled = session.exec(select(Event).where(Event.type == "followup.scheduled")).one()
    assert {(scheduled.id, "notifications"), (scheduled.id, "reminders")} <= set(published)
    assert session.exec(select(func.count()).select_from(Event).where(col(Event.published_at).is_(None))).one() == 0


def test_failed_publication_leaves_events_unpublished(session: Session) -> None:
    make_followup(session, make_lead(session), due_soon(CASA, 60 * 24 * 5))
    session.commit()

    def broken(event_id: int, name: str) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        publish_pending(session, broken)
    session.rollback()
    assert session.exec(select(func.count()).select_from(Event).where(col(Event.published_at).is_(None))).one() > 0


def test_two_relays_at_once_publish_every_event_once(app: Any, session: Session) -> None:
    owner = make_user(session)
    for _ in range(60):
        make_followup(session, make_lead(session, owner=owner), due_soon(CASA, 60 * 24 * 4))
    session.commit()
    published: list[tuple[int, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                while publish_pending(
                    db.session,
                    lambda ids, n: (lock.acquire(), published.extend((e, n) for e in ids), lock.release()),
                    batch=7,
                ):
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    expected = sum(len(consumers_for(t)) for t in session.exec(select(Event.type)).all())
    assert len(published) == expected == len(set(published))


def test_late_commit_with_lower_id_is_not_skipped(app: Any, backend: str, database_url: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: commit order is id order there")
    from crm.core.events import record_event

    with app.app_context():
        user = make_user(db.session)
        db.session.commit()
        engine = db.engine
        slow = Session(engine)
        slow_user = slow.get(type(user), user.id)
        record_event(slow, "user.test_slow", slow_user)
        slow.flush()  # takes the lower id, not committed yet
        make_user(db.session)
        db.session.commit()
        seen: list[int] = []
        publish_pending(db.session, lambda ids, n: seen.extend(ids))
        slow.commit()
        slow.close()
        later: list[int] = []
        publish_pending(db.session, lambda ids, n: later.extend(ids))
        slow_id = db.session.exec(select(Event.id).where(Event.type == "user.test_slow")).one()
        assert db.session.get(Event, slow_id).published_at is not None
        assert slow_id < max(db.session.exec(select(Event.id)).all())


def test_consumers_are_idempotent(session: Session) -> None:
    owner = make_user(session)
    watcher = make_user(session)
    lead = make_lead(session, owner=owner)
    add_watcher(session, lead, watcher.id, actor=owner)
    session.commit()
    relay_and_consume(session)
    move_lead_to_stage(session, lead, "proposal", actor=owner)
    session.commit()
    event = session.exec(select(Event).where(Event.type == "lead.stage_changed")).one()
    assert consume(session, event.id, "notifications") is True
    assert consume(session, event.id, "notifications") is False  # redelivery changes nothing
    notes = session.exec(select(Notification).where(Notification.source == f"event:{event.id}")).all()
    assert [n.user_id for n in notes] == [watcher.id]  # not the actor
    assert (
        session.exec(select(func.count()).select_from(ConsumedEvent).where(ConsumedEvent.event_id == event.id)).one()
        == 1
    )


def test_reschedule_stops_the_old_ladder_and_done_stops_all(session: Session) -> None:
    lead = make_lead(session)
    followup = make_followup(session, lead, due_soon(CASA, 60 * 24 * 6))
    session.commit()
    relay_and_consume(session)
    first = session.exec(select(ReminderRung).where(ReminderRung.followup_id == followup.id)).all()
    assert {r.rung for r in first} == {"before-3", "before-1", "due", "overdue-1"}
    reschedule_followup(session, followup, due_local=due_soon(CASA, 60 * 24 * 10))
    session.commit()
    relay_and_consume(session)
    rungs = session.exec(select(ReminderRung).where(ReminderRung.followup_id == followup.id)).all()
    assert {r.status for r in rungs if r.due_version == 1} == {RungStatus.SKIPPED}
    assert {r.rung for r in rungs if r.due_version == 2 and r.status == RungStatus.PENDING} == {
        "before-3",
        "before-1",
        "due",
        "overdue-1",
    }
    complete_followup(session, followup)
    session.commit()
    relay_and_consume(session)
    assert (
        session.exec(
            select(func.count()).select_from(ReminderRung).where(ReminderRung.status == RungStatus.PENDING)
        ).one()
        == 0
    )


def _due_now(session: Session, *, language: str = "fr", zone: str = CASA, title: str = "Send the proposal") -> Any:
    owner = make_user(session, language=language, timezone=zone)
    lead = make_lead(session, owner=owner, title="Cybersecurity workshop between DGSSI and Palo Alto Networks")
    followup = make_followup(session, lead, due_soon(zone, 10), zone, title=title)
    session.commit()
    relay_and_consume(session)
    return owner, lead, followup


def test_followup_due_in_ten_minutes_is_reminded_at_the_next_dispatch(session: Session) -> None:
    zone = waking_zone()
    owner, _lead, followup = _due_now(session, language="ar", zone=zone)
    assert dispatch_due_reminders(session) == 1
    assert dispatch_due_reminders(session) == 0  # twice: still one
    mail = session.exec(select(OutboundMail)).one()
    assert mail.dedupe_key == f"reminder:{followup.id}:due:1"
    assert mail.language == "ar" and mail.recipient_email == owner.email
    assert 'dir="rtl"' in mail.html_body and 'lang="ar"' in mail.html_body
    assert "Cybersecurity workshop" in mail.subject
    assert mail.attachments[0]["content_type"] == "text/calendar"
    bell = session.exec(select(Notification).where(Notification.user_id == owner.id)).all()
    assert [n.kind for n in bell if n.kind.startswith("reminder.")] == ["reminder.due"]


def test_two_dispatchers_at_once_queue_each_reminder_once(app: Any, session: Session) -> None:
    zone = waking_zone()
    for _ in range(40):
        _due_now(session, zone=zone)
    results: list[int] = []

    def run() -> None:
        with app.app_context():
            results.append(dispatch_due_reminders(db.session, limit=15))
            results.append(dispatch_due_reminders(db.session, limit=15))
            results.append(dispatch_due_reminders(db.session, limit=15))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sum(results) == 40
    assert session.exec(select(func.count()).select_from(OutboundMail)).one() == 40


def test_reminder_email_reads_right_in_french(session: Session) -> None:
    zone = waking_zone()
    _owner, _lead, _followup = _due_now(session, language="fr", zone=zone, title="Envoyer la proposition")
    dispatch_due_reminders(session)
    mail = session.exec(select(OutboundMail)).one()
    assert re.match(r"Échéance aujourd'hui à \d\d:\d\d : Envoyer la proposition", mail.subject), mail.subject
    assert "Organisation marocaine" in mail.text_body and "/leads/" in mail.text_body
    if zone != CASA:
        assert "Heure de Casablanca" in mail.text_body


def test_a_crlf_in_a_title_cannot_add_a_header(session: Session) -> None:
    zone = waking_zone()
    _due_now(session, zone=zone, title="Call\r\nBcc: spy@example.org")
    dispatch_due_reminders(session)
    mail = session.exec(select(OutboundMail)).one()
    raw = build_message(mail, "Jisr <jisr@localhost>").as_bytes()
    parsed = message_from_bytes(raw, policy=default_policy)
    assert parsed["Bcc"] is None
    assert "\n" not in mail.subject


def _send(app: Any, mail_id: int, base: float = 0.0) -> Any:
    with app.app_context():
        return send_one(
            db.session, mail_id, sender="Jisr <jisr@localhost>", lease=timedelta(seconds=30), base=base, max_attempts=8
        )


def test_smtp_451_three_times_then_250_is_delivered_on_the_fourth_attempt(app: Any, session: Session) -> None:
    zone = waking_zone()
    _due_now(session, zone=zone)
    dispatch_due_reminders(session)
    mail_id = session.exec(select(OutboundMail.id)).one()
    with Sink(lambda n: "451 4.3.0 Try again later" if n <= 3 else "250 OK") as sink:
        app.config["MAIL"] = parse_mail_url(sink.url)
        outcomes = [_send(app, mail_id).status for _ in range(4)]
    assert outcomes == [MailStatus.RETRY] * 3 + [MailStatus.SENT]
    session.expire_all()
    mail = session.get(OutboundMail, mail_id)
    assert (mail.status, mail.attempts, len(sink.messages)) == (MailStatus.SENT, 4, 1)
    assert sink.messages[0]["Message-ID"] == mail.message_id


def test_retry_waits_for_its_backoff(app: Any, session: Session) -> None:
    zone = waking_zone()
    _due_now(session, zone=zone)
    dispatch_due_reminders(session)
    mail_id = session.exec(select(OutboundMail.id)).one()
    with Sink(lambda n: "451 busy") as sink:
        app.config["MAIL"] = parse_mail_url(sink.url)
        assert _send(app, mail_id, base=60).status == MailStatus.RETRY
        assert _send(app, mail_id, base=60) is None  # not due yet: nobody may claim it
    session.expire_all()
    mail = session.get(OutboundMail, mail_id)
    assert timedelta(seconds=29) < mail.next_attempt_at - utcnow() <= timedelta(seconds=60)


def test_smtp_550_fails_after_one_attempt_and_shows_on_the_admin_page(app: Any, session: Session, client: Any) -> None:
    zone = waking_zone()
    _due_now(session, zone=zone)
    dispatch_due_reminders(session)
    mail_id = session.exec(select(OutboundMail.id)).one()
    with Sink(lambda n: "550 5.1.1 No such user") as sink:
        app.config["MAIL"] = parse_mail_url(sink.url)
        assert _send(app, mail_id).status == MailStatus.FAILED
        assert _send(app, mail_id) is None
    session.expire_all()
    mail = session.get(OutboundMail, mail_id)
    assert (mail.status, mail.attempts) == (MailStatus.FAILED, 1)
    make_user(session, role="admin", email="admin@jisr.example")
    session.commit()
    from tests.web_helpers import login

    login(client, "admin@jisr.example")
    page = client.get("/admin/status").get_data(as_text=True)
    assert "No such user" in page and "Renvoyer les messages en échec" in page
    assert client.post("/admin/status/retry-failed").status_code == 302
    session.expire_all()
    assert session.get(OutboundMail, mail_id).status == MailStatus.QUEUED
    assert session.exec(select(Event).where(Event.type == "mail.retry_requested")).one().actor_id is not None


def test_expired_lease_is_requeued(app: Any, session: Session) -> None:
    from crm.core.ledger import claim, requeue_expired_leases

    zone = waking_zone()
    _due_now(session, zone=zone)
    dispatch_due_reminders(session)
    mail_id = session.exec(select(OutboundMail.id)).one()
    assert claim(session, mail_id, timedelta(seconds=-1)) is not None  # a worker took it, then died
    assert requeue_expired_leases(session) == 1
    session.expire_all()
    assert session.get(OutboundMail, mail_id).status == MailStatus.RETRY


def test_lost_deliveries_are_published_again(session: Session) -> None:
    lead = make_lead(session)
    make_followup(session, lead, due_soon(CASA, 60 * 24 * 5))
    session.commit()
    publish_pending(session, lambda ids, n: None)  # published, then the broker lost them
    session.execute(sa.update(Event).values(published_at=utcnow() - timedelta(minutes=10)))
    session.commit()
    again: list[tuple[int, str]] = []
    assert (
        republish_unconsumed(session, lambda ids, n: again.extend((e, n) for e in ids), older_than=timedelta(minutes=5))
        > 0
    )
    for event_id, name in again:
        consume(session, event_id, name)
    assert (
        republish_unconsumed(session, lambda ids, n: again.extend((e, n) for e in ids), older_than=timedelta(minutes=5))
        == 0
    )


def test_overdue_demo_followups_get_an_overdue_reminder_on_the_first_run(session: Session) -> None:
    from crm.demo import load_demo

    load_demo(session)
    session.commit()
    relay_and_consume(session)
    dispatch_due_reminders(session)
    keys = session.exec(select(OutboundMail.dedupe_key)).all()
    from crm.core.time import to_local
    from crm.followups.models import FollowUp, FollowUpStatus

    overdue = session.exec(
        select(FollowUp).where(FollowUp.status == FollowUpStatus.OPEN, col(FollowUp.due_at) < utcnow())
    ).all()
    assert overdue
    from crm.accounts.models import User

    for followup in overdue:
        owner = session.get(User, followup.owner_id)
        if 7 <= to_local(utcnow(), owner.timezone).hour < 21:
            assert any(k.startswith(f"reminder:{followup.id}:overdue-") for k in keys), followup.title


def test_escalation_goes_to_the_supervisor(app: Any, session: Session) -> None:
    zone = waking_zone()
    boss = make_user(session, role="admin", email="boss@jisr.example", timezone=zone)
    owner = make_user(session, timezone=zone)
    owner.supervisor_id = boss.id
    from crm.core.events import record_event

    record_event(session, "user.updated", owner, payload={"changes": {"supervisor_id": [None, boss.id]}})
    lead = make_lead(session, owner=owner)
    from crm.core.time import wall_time

    make_followup(session, lead, wall_time(utcnow() - timedelta(days=5), zone), zone)
    session.commit()
    relay_and_consume(session)
    dispatch_due_reminders(session)
    mails = session.exec(select(OutboundMail)).all()
    assert {m.recipient_email for m in mails} == {owner.email, boss.email}
    escalation = next(m for m in mails if m.recipient_email == boss.email)
    assert ":escalation:" in escalation.dedupe_key


def test_the_bell_shows_unread_notifications(session: Session, client: Any) -> None:
    zone = waking_zone()
    owner, _lead, _f = _due_now(session, zone=zone)
    dispatch_due_reminders(session)
    from tests.web_helpers import login

    unread = session.exec(select(func.count()).select_from(Notification).where(Notification.user_id == owner.id)).one()
    assert unread >= 1
    login(client, owner.email)
    page = client.get("/leads").get_data(as_text=True)
    assert 'data-testid="bell"' in page and f'text-bg-danger ms-1">{unread}<' in page
    listing = client.get("/notifications").get_data(as_text=True)
    assert "arrive à échéance aujourd'hui" in html.unescape(listing)
    client.post("/notifications/read")
    assert "text-bg-danger ms-1" not in client.get("/leads").get_data(as_text=True)


def test_changing_reminder_settings_replans_open_followups(session: Session, client: Any) -> None:
    owner = make_user(session, email="officer@jisr.example")
    lead = make_lead(session, owner=owner)
    # Due at 15:00 local in twelve days: every rung then falls at the send hour (a follow-up
    # due before the send hour is reminded earlier that morning, or the evening before).
    due = due_soon(CASA, 60 * 24 * 12).replace(hour=15, minute=0)
    followup = make_followup(session, lead, due)
    session.commit()
    relay_and_consume(session)
    from tests.web_helpers import login

    login(client, "officer@jisr.example")
    form = {
        "name": "Officer",
        "language": "fr",
        "timezone": CASA,
        "reminder_send_hour": "8",
        "reminder_days_before": "7, 2",
    }
    assert client.post("/settings", data=form).status_code == 302
    relay_and_consume(session)
    pending = session.exec(
        select(ReminderRung).where(ReminderRung.followup_id == followup.id, ReminderRung.status == RungStatus.PENDING)
    ).all()
    assert {r.rung for r in pending} == {"before-7", "before-2", "due", "overdue-1"}
    from crm.core.time import to_local

    assert {to_local(r.fire_at, CASA).hour for r in pending} == {8}
    bad = client.post("/settings", data={**form, "reminder_days_before": "3, tomorrow"})
    assert bad.status_code == 400
    assert "Indiquez des nombres entiers de jours entre 1 et 30" in bad.get_data(as_text=True)


def test_escalation_of_a_confidential_lead_skips_a_supervisor_who_may_not_see_it(session: Session) -> None:
    from crm.accounts.operations import set_user_supervisor
    from crm.core.time import wall_time

    zone = waking_zone()
    admin = make_user(session, role="admin", email="root@jisr.example", timezone=zone)
    boss = make_user(session, email="boss@jisr.example", timezone=zone)
    owner = make_user(session, timezone=zone)
    set_user_supervisor(session, owner, boss.id, actor=admin)
    lead = make_lead(session, owner=owner, confidential=True)
    make_followup(session, lead, wall_time(utcnow() - timedelta(days=5), zone), zone)
    session.commit()
    relay_and_consume(session)
    dispatch_due_reminders(session)
    recipients = {m.recipient_email for m in session.exec(select(OutboundMail)).all()}
    assert recipients == {owner.email, admin.email}
