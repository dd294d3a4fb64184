"""The event spine with real processes: Celery workers, a real SMTP server (aiosmtpd),
SQLite's embedded broker or Redis — and crashes of the worker and of Redis."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from crm.core.consumers import ConsumedEvent
from crm.core.db import db
from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail
from crm.followups.dispatch import dispatch_due_reminders
from crm.followups.models import FollowUp, ReminderRung
from crm.followups.operations import schedule_followup
from crm.leads.operations import create_lead
from crm.notifications.models import Notification
from tests.factories import make_organisation, make_user
from tests.processes import RedisServer, app_for, start_worker, stop
from tests.spine_helpers import Sink, due_soon, wait_for, waking_zone

pytestmark = pytest.mark.slow
# The tests that push a thousand messages through real workers run one after the other
# (in one pytest-xdist process), beside the rest of the suite rather than beside each other.
THOUSANDS = pytest.mark.xdist_group("thousands")
LANGUAGES = ("ar", "fr", "en")
ARABIC = "\u0600-\u06ff"


def followups_falling_due(session: Session, count: int, zone: str) -> list[int]:
    """``count`` follow-ups due in ten minutes, owners speaking Arabic, French and English."""
    owners = [make_user(session, language=LANGUAGES[i % 3], timezone=zone) for i in range(6)]
    ma = make_organisation(session, "MA", name_fr="Agence de Développement du Digital", acronym="ADD")
    us = make_organisation(session, "US", name_en="Oracle")
    due = due_soon(zone, 10)
    ids = []
    for n in range(count):
        owner = owners[n % len(owners)]
        lead = create_lead(
            session,
            title=f"Cloud lead {n}",
            ma_organisation_id=ma.id,
            us_organisation_id=us.id,
            partnership_type="technology_partnership",
            owner_id=owner.id,
            actor=owner,
        )
        followup = schedule_followup(
            session, lead, title=f"Send proposal {n}", due_local=due, timezone=zone, actor=owner
        )
        session.flush()
        ids.append(followup.id)
    session.commit()
    return ids


def consumed(session: Session, consumer: str) -> int:
    session.rollback()
    return int(
        session.exec(select(func.count()).select_from(ConsumedEvent).where(ConsumedEvent.consumer == consumer)).one()
    )


def relay_until_consumed(app: Any, session: Session, expected: int, timeout: float = 240) -> None:
    celery = app.extensions["celery"]

    def tick() -> None:  # what beat does every few seconds
        try:
            celery.send_task("crm.events.relay")
            celery.send_task("crm.events.republish")
        except Exception:
            pass

    tick()
    last = [time.monotonic()]

    def maybe_tick() -> None:
        if time.monotonic() - last[0] > 3:
            last[0] = time.monotonic()
            tick()

    wait_for(lambda: consumed(session, "reminders") >= expected, timeout, "the reminders consumer", maybe_tick)


def check_languages(messages: list[Any], session: Session) -> None:
    import re

    for message in messages:
        language = message["Content-Language"]
        assert language in LANGUAGES
        subject = str(message["Subject"])
        has_arabic = re.search(f"[{ARABIC}]", subject) is not None
        assert has_arabic == (language == "ar"), subject
        if language == "fr":
            assert "Échéance" in subject or "En retard" in subject


@THOUSANDS
def test_a_thousand_followups_give_a_thousand_reminders_once(spine: dict[str, Any], tmp_path: Path) -> None:
    zone = waking_zone()
    with Sink() as sink:
        env = {**spine, "MAIL_URL": sink.url}
        app = app_for(env)
        worker = start_worker(env, tmp_path / "worker.log", concurrency=2)
        try:
            with app.app_context():
                session = db.session
                followups_falling_due(session, 1000, zone)
                relay_until_consumed(app, session, 1000)
                # Two dispatchers at once, in the worker (prefork, two processes).
                celery = app.extensions["celery"]
                celery.send_task("crm.reminders.dispatch_due")
                celery.send_task("crm.reminders.dispatch_due")
                wait_for(lambda: len(sink.messages) >= 1000, 300, "1,000 reminders", lambda: time.sleep(1))
                time.sleep(3)
                celery.send_task("crm.reminders.dispatch_due")
                celery.send_task("crm.mail.sweep")
                time.sleep(6)
                assert len(sink.messages) == 1000
                assert len({m["Message-ID"] for m in sink.messages}) == 1000
                session.rollback()
                assert session.exec(select(func.count()).select_from(OutboundMail)).one() == 1000
                check_languages(sink.messages, session)
        finally:
            stop(worker)


@THOUSANDS
def test_worker_killed_mid_batch_loses_nothing(spine: dict[str, Any], tmp_path: Path) -> None:
    zone = waking_zone()
    with Sink() as sink:
        env = {**spine, "MAIL_URL": sink.url}
        app = app_for(env)
        log = tmp_path / "worker.log"
        worker = start_worker(env, log)
        try:
            with app.app_context():
                session = db.session
                followups_falling_due(session, 1000, zone)
                relay_until_consumed(app, session, 1000)
                celery = app.extensions["celery"]
                celery.send_task("crm.reminders.dispatch_due")
                wait_for(lambda: len(sink.messages) >= 250, 240, "the first reminders")
                stop(worker, kill=True)  # SIGKILL in the middle of the batch
                at_kill = len(sink.messages)
                worker = start_worker(env, log)

                def beat() -> None:
                    try:
                        celery.send_task("crm.mail.sweep")
                        celery.send_task("crm.reminders.dispatch_due")
                    except Exception:
                        pass

                last = [0.0]

                def every_two_seconds() -> None:
                    if time.monotonic() - last[0] > 2:
                        last[0] = time.monotonic()
                        beat()

                wait_for(
                    lambda: len({m["Message-ID"] for m in sink.messages}) >= 1000,
                    300,
                    "every reminder after the restart",
                    every_two_seconds,
                )
                time.sleep(5)
                ids = Counter(m["Message-ID"] for m in sink.messages)
                duplicates = sum(n - 1 for n in ids.values())
                print(f"killed after {at_kill} messages; {duplicates} duplicate(s) after restart")
                assert len(ids) == 1000
                assert duplicates <= 1
                session.rollback()
                statuses = dict(
                    session.exec(select(OutboundMail.status, func.count()).group_by(OutboundMail.status)).all()
                )
                assert statuses == {MailStatus.SENT: 1000}
        finally:
            stop(worker)


def _one_reminder(app: Any, zone: str) -> int:
    with app.app_context():
        session = db.session
        followups_falling_due(session, 1, zone)
        relay_until_consumed(app, session, 1)
        wait_for(
            lambda: (
                dispatch_due_reminders(db.session) > 0
                or db.session.exec(select(func.count()).select_from(OutboundMail)).one() > 0
            ),
            30,
            "the reminder",
        )
        return int(db.session.exec(select(OutboundMail.id)).one())


def test_smtp_451_three_times_then_delivered(spine: dict[str, Any], tmp_path: Path) -> None:
    zone = waking_zone()
    with Sink(lambda n: "451 4.3.0 Greylisted, try again" if n <= 3 else "250 OK") as sink:
        env = {**spine, "MAIL_URL": sink.url}
        app = app_for(env)
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            mail_id = _one_reminder(app, zone)
            app.extensions["celery"].send_task("crm.mail.send", args=[[mail_id]])
            with app.app_context():

                def sent() -> bool:
                    db.session.rollback()
                    return db.session.get(OutboundMail, mail_id).status == MailStatus.SENT

                wait_for(sent, 60, "delivery after three 451s")
                mail = db.session.get(OutboundMail, mail_id)
                assert mail.attempts == 4 and sink.attempts == 4 and len(sink.messages) == 1
        finally:
            stop(worker)


def test_smtp_550_fails_after_one_attempt(spine: dict[str, Any], tmp_path: Path) -> None:
    zone = waking_zone()
    with Sink(lambda n: "550 5.1.1 Mailbox unavailable") as sink:
        env = {**spine, "MAIL_URL": sink.url}
        app = app_for(env)
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            mail_id = _one_reminder(app, zone)
            celery = app.extensions["celery"]
            celery.send_task("crm.mail.send", args=[[mail_id]])
            with app.app_context():

                def failed() -> bool:
                    db.session.rollback()
                    return db.session.get(OutboundMail, mail_id).status == MailStatus.FAILED

                wait_for(failed, 60, "the permanent failure")
                celery.send_task("crm.mail.sweep")
                time.sleep(3)
                db.session.rollback()
                mail = db.session.get(OutboundMail, mail_id)
                assert (mail.status, mail.attempts, sink.attempts) == (MailStatus.FAILED, 1, 1)
                assert "Mailbox unavailable" in (mail.last_error or "")
        finally:
            stop(worker)


@THOUSANDS
def test_redis_restart_while_relaying_a_thousand_events(tmp_path: Path, database_url: str, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("Redis is the production broker; this runs in the PostgreSQL suite")
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    env = {
        "JISR_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "EVENT_REDELIVERY_AFTER_SECONDS": "3",
    }
    app = app_for(env)
    worker = start_worker(env, tmp_path / "worker.log", concurrency=2)
    try:
        with app.app_context():
            session = db.session
            followups_falling_due(session, 1000, waking_zone())  # a "due" rung needs waking hours
            celery = app.extensions["celery"]
            celery.send_task("crm.events.relay")
            wait_for(lambda: consumed(session, "reminders") >= 50, 120, "the relay to start")
            redis_server.stop()  # everything in Redis is lost: it keeps nothing on disk
            time.sleep(2)
            redis_server.start()
            relay_until_consumed(app, session, 1000, timeout=300)
            wait_for(
                lambda: consumed(session, "notifications") >= 1000,
                120,
                "the notifications consumer",
                lambda: time.sleep(1),
            )
            session.rollback()
            scheduled = session.exec(select(Event.id).where(Event.type == "followup.scheduled")).all()
            assert len(scheduled) == 1000
            # Each side effect exactly once: one "due" rung per follow-up, one consumer record per
            # (event, consumer), no notification twice.
            due_rungs = session.exec(
                select(ReminderRung.followup_id, func.count())
                .where(ReminderRung.rung == "due")
                .group_by(ReminderRung.followup_id)
            ).all()
            assert len(due_rungs) == 1000 and all(n == 1 for _, n in due_rungs)
            assert consumed(session, "reminders") == 1000
            assert session.exec(select(func.count()).select_from(FollowUp)).one() == 1000
            sources = session.exec(select(Notification.source, Notification.user_id)).all()
            assert len(sources) == len(set(sources))
            assert (
                session.exec(select(func.count()).select_from(Event).where(col(Event.published_at).is_(None))).one()
                == 0
            )
    finally:
        stop(worker)
        redis_server.stop()


def test_a_web_commit_reaches_the_consumers_in_about_a_second(spine: dict[str, Any], tmp_path: Path) -> None:
    """No beat here: only the kick sent after the commit makes the worker relay."""
    app = app_for(spine, RELAY_KICK=True)
    worker = start_worker(spine, tmp_path / "worker.log")
    try:
        with app.app_context():
            session = db.session
            owner = make_user(session)
            ma = make_organisation(session, "MA", acronym="DGSSI", name_fr="DGSSI")
            us = make_organisation(session, "US", name_en="Palo Alto Networks")
            session.commit()
            time.sleep(3)  # the worker is up and idle
            lead = create_lead(
                session,
                title="Cybersecurity workshop",
                ma_organisation_id=ma.id,
                us_organisation_id=us.id,
                partnership_type="capacity_building",
                owner_id=owner.id,
            )
            schedule_followup(
                session,
                lead,
                title="Agree on dates",
                due_local=due_soon("Africa/Casablanca", 60 * 24 * 9),
                timezone="Africa/Casablanca",
            )
            started = time.monotonic()
            session.commit()
            wait_for(lambda: consumed(session, "reminders") >= 1, 15, "the kicked relay")
            elapsed = time.monotonic() - started
            print(f"event consumed {elapsed:.2f} s after the commit")
            assert elapsed < 10
    finally:
        stop(worker)
