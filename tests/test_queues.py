"""Queues that cannot starve each other, and exactly one beat.

Every task has its queue (events, mail, digests, imports, webhooks); digest mail is sent
from the digests queue so that a Monday morning's thousands never delay a reminder; a
worker of the mail queue sends a reminder while the digests queue is full.  Two beats
started together send as one, and when the one holding the lease dies the other takes
over.  Real processes, a private Redis (or the embedded SQLite broker), a real SMTP sink."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from crm.core.db import db, pk
from crm.core.ledger import MailStatus, OutboundMail, queue_mail
from tests.processes import RedisServer, app_for, start_beat, start_worker, stop
from tests.spine_helpers import Sink, wait_for
from workers.queues import QUEUES, queue_of_task
from workers.schedule import BEAT_SCHEDULE

pytestmark = pytest.mark.slow


@pytest.fixture
def private_redis(tmp_path: Path) -> Any:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_env(spine: dict[str, Any], private_redis: RedisServer) -> dict[str, Any]:
    return {**spine, "REDIS_URL": private_redis.url}


def _messages(app: Any, queue: str) -> list[dict[str, Any]]:
    """The messages waiting in ``queue`` of the app's broker (Redis lists or the embedded
    broker's tables), as Celery wrote them."""
    url = app.config["BROKER_URL"]
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url)
        try:
            return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
        finally:
            client.close()
    engine = sa.create_engine(url.removeprefix("sqla+"), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT m.payload FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id "
                    "WHERE q.name = :queue AND m.visible"
                ),
                {"queue": queue},
            ).all()
        return [json.loads(payload) for (payload,) in rows]
    except sa.exc.OperationalError:  # no message was ever sent: no tables yet
        return []
    finally:
        engine.dispose()


def test_every_task_has_its_queue_and_every_queue_its_tasks(redis_env: dict[str, Any]) -> None:
    app = app_for(redis_env)
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    ours = sorted(name for name in celery.tasks if name.startswith("crm."))
    routed = {name: celery.amqp.router.route({}, name)["queue"].name for name in ours}
    assert set(routed.values()) == set(QUEUES), routed
    assert {name: queue_of_task(name) for name in ours} == routed
    assert routed["crm.reminders.dispatch_due"] == routed["crm.mail.send"] == "mail"
    assert routed["crm.digests.send_chunk"] == "digests" and routed["crm.exchange.run_import"] == "imports"
    assert routed["crm.webhooks.send"] == "webhooks" and routed["crm.events.consume"] == "events"
    assert {job["task"] for job in BEAT_SCHEDULE.values()} <= set(ours)
    assert sorted(q.name for q in celery.conf.task_queues) == sorted(QUEUES)


def test_digest_mail_waits_in_the_digests_queue_and_reminders_in_the_mail_queue(redis_env: dict[str, Any]) -> None:
    from workers.mail import enqueue_due_mail

    app = app_for(redis_env)
    with app.app_context():
        for n, kind in enumerate(["reminder", "digest", "digest", "password_link"]):
            queue_mail(db.session, dedupe_key=f"q:{n}", kind=kind, to=f"p{n}@example.org", language="fr",
                       subject="Objet", text="Texte")  # fmt: skip
        db.session.commit()
        ids: dict[str, list[int]] = {}
        for mail in db.session.exec(select(OutboundMail)):
            ids.setdefault(mail.kind, []).append(pk(mail))
        assert enqueue_due_mail() == 4

    def sent_ids(queue: str) -> list[int]:
        found = []
        for message in _messages(app, queue):
            assert message["headers"]["task"] == "crm.mail.send"
            found += json.loads(base64.b64decode(message["body"]))[0][0]
        return sorted(found)

    assert sent_ids("digests") == sorted(ids["digest"])
    assert sent_ids("mail") == sorted(ids["reminder"] + ids["password_link"])


def test_a_full_digests_queue_does_not_delay_a_reminder(redis_env: dict[str, Any], tmp_path: Path) -> None:
    from workers.mail import enqueue_due_mail

    with Sink() as sink:
        env = {**redis_env, "MAIL_URL": sink.url}
        app = app_for(env)
        celery = app.extensions["celery"]
        for _ in range(300):  # a digest run that no worker has reached yet
            celery.send_task("crm.digests.send_chunk", args=[[]])
        worker = start_worker(env, tmp_path / "worker.log", queues="mail")
        try:
            with app.app_context():
                queue_mail(db.session, dedupe_key="reminder:1", kind="reminder", to="officer@example.org",
                           language="fr", subject="Échéance demain", text="Relance")  # fmt: skip
                db.session.commit()
                enqueue_due_mail()
            wait_for(lambda: len(sink.messages) == 1, 60, "the reminder")
        finally:
            stop(worker)
        assert len(_messages(app, "digests")) == 300
        with app.app_context():
            assert db.session.exec(select(OutboundMail)).one().status == MailStatus.SENT


ORIGIN = re.compile(r"gen(\d+)@")


def _senders(app: Any) -> Counter[int]:
    """How many beat ticks each beat process (by pid) has sent."""
    queue = "events" if app.config["BROKER_URL"].startswith("redis") else "celery"
    found: Counter[int] = Counter()
    for message in _messages(app, queue):
        if message["headers"]["task"] == "crm.core.beat_tick":
            match = ORIGIN.match(message["headers"]["origin"])
            assert match, message["headers"]["origin"]
            found[int(match.group(1))] += 1
    return found


def test_two_beats_send_as_one_and_the_other_takes_over_when_it_dies(spine: dict[str, Any], tmp_path: Path) -> None:
    """On both brokers: the Redis lease, or the database row of the embedded mode."""
    env = {**spine, "BEAT_LOCK_SECONDS": "2"}
    redis_server = None
    if "REDIS_URL" in env:
        redis_server = RedisServer(tmp_path / "redis")
        redis_server.start()
        env["REDIS_URL"] = redis_server.url
    app = app_for(env)
    beats = [
        start_beat(env, tmp_path / f"beat-{n}.log", tmp_path / f"schedule-{n}", app="tests.beat_app") for n in (1, 2)
    ]
    try:
        wait_for(lambda: sum(_senders(app).values()) >= 12, 60, "a dozen ticks")
        time.sleep(1)  # the other beat had every chance to send too
        senders = _senders(app)
        assert len(senders) == 1, senders
        (holder,) = senders
        assert holder in {b.pid for b in beats}
        os.kill(holder, signal.SIGKILL)
        before = senders[holder]
        other = next(b.pid for b in beats if b.pid != holder)
        wait_for(lambda: _senders(app)[other] >= 4, 30, "the second beat to take over")
        assert _senders(app)[holder] == before
    finally:
        for beat in beats:
            stop(beat)
        if redis_server is not None:
            redis_server.stop()


def test_the_status_page_shows_each_queues_depth(redis_env: dict[str, Any]) -> None:
    from tests.factories import make_user
    from tests.web_helpers import login

    app = app_for(redis_env)
    celery = app.extensions["celery"]
    for _ in range(3):
        celery.send_task("crm.digests.send_chunk", args=[[]])
    celery.send_task("crm.exchange.requeue_stalled")
    with app.app_context():
        make_user(db.session, role="admin", email="admin@jisr.example")
        db.session.commit()
    client = app.test_client()
    login(client, "admin@jisr.example")
    page = client.get("/admin/status").get_data(as_text=True)
    depths = dict(re.findall(r'data-queue="(\w+)">(?:<bdi[^>]*>)?(\d+)<', page))
    assert depths == {"events": "0", "mail": "0", "digests": "3", "imports": "1", "webhooks": "0"}
