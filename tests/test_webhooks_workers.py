"""A webhook through the real machinery: the relay and a Celery worker process (over
SQLite's embedded broker, or Redis with PostgreSQL) to a receiver on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from crm.accounts.models import Role
from crm.core.db import db
from crm.leads.models import Stage
from crm.leads.operations import move_lead_to_stage
from crm.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from crm.webhooks.operations import create_webhook_endpoint
from crm.webhooks.signing import verify_signature
from tests.conftest import TEST_REDIS_URL
from tests.factories import make_lead, make_user
from tests.processes import app_for, start_worker, stop
from tests.webhook_helpers import Receiver, Reply

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path, database_url: str, backend: str) -> Iterator[dict[str, str]]:
    values = {
        "JISR_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "EVENT_REDELIVERY_AFTER_SECONDS": "3",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    }
    if backend == "postgresql":
        if not TEST_REDIS_URL:
            pytest.skip("the PostgreSQL suite runs its workers over Redis: set REDIS_URL")
        values["REDIS_URL"] = TEST_REDIS_URL
    yield values


def wait_for(condition: Callable[[], bool], timeout: float, what: str, beat: Callable[[], None]) -> None:
    deadline = time.monotonic() + timeout
    last = 0.0
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if time.monotonic() - last > 3:  # what beat does every few seconds
            last = time.monotonic()
            beat()
        time.sleep(0.2)


def test_a_stage_change_reaches_the_endpoint_once_signed_after_a_retry(env: dict[str, str], tmp_path: Path) -> None:
    with Receiver(lambda n: Reply(503, b"warming up") if n == 1 else Reply(200, b"ok")) as receiver:
        app = app_for(env, WEBHOOKS_ALLOW_LOOPBACK=True)
        worker = start_worker(env, tmp_path / "worker.log", app="tests.webhook_worker")
        celery = app.extensions["celery"]

        def beat() -> None:
            for task in ("crm.events.relay", "crm.webhooks.sweep", "crm.events.republish"):
                celery.send_task(task)

        try:
            with app.app_context():
                session = db.session
                admin = make_user(session, Role.ADMIN)
                endpoint = create_webhook_endpoint(
                    session, url=receiver.url(), event_types=["lead.stage_changed"], actor=admin
                )
                owner = make_user(session)
                lead = make_lead(session, owner=owner, title="Cloud migration proposal for ADD")
                session.commit()
                move_lead_to_stage(session, lead, Stage.PROPOSAL, actor=owner)
                session.commit()
                wait_for(lambda: len(receiver.requests) >= 2, 90, "the delivery and its retry", beat)
                beat()  # one more round of beat: nothing is sent twice
                time.sleep(2)
                assert len(receiver.requests) == 2
                first, second = receiver.requests
                assert first.headers["Jisr-Delivery"] == second.headers["Jisr-Delivery"]
                assert first.headers["Jisr-Event"] == "lead.stage_changed"
                header = second.headers["Jisr-Signature"]
                assert verify_signature(endpoint.secret, header, second.body)  # the receiver's own clock
                timestamp = int(header.split(",")[0].removeprefix("t="))
                assert abs(time.time() - timestamp) < 120
                document = second.json
                assert (document["type"], document["lead_id"], document["payload"]["to"]) == (
                    "lead.stage_changed",
                    lead.id,
                    "proposal",
                )
                session.rollback()
                (delivery,) = session.exec(select(WebhookDelivery)).all()
                assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
                assert delivery.public_id == second.headers["Jisr-Delivery"]
                log = session.exec(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
                assert [(a.status_code, a.outcome) for a in log] == [
                    (503, DeliveryStatus.RETRY),
                    (200, DeliveryStatus.DELIVERED),
                ]
        finally:
            stop(worker)
            app.extensions["jisr.db"][0].dispose()
