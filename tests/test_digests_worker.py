"""The weekly digest through real processes: a Celery worker whose clock reads Monday
08:01 in Casablanca runs beat's digest job, compiles, queues and sends through the mail
ledger to a real SMTP server; running the job again sends nothing more, and after a
one-click unsubscribe the next week's job sends nothing either."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from crm.core.db import db
from crm.core.ledger import MailStatus, OutboundMail
from crm.core.state import get_state
from crm.digests.models import DigestRun, Subscription
from crm.digests.render import unsubscribe_token
from tests.digest_helpers import SEND_AT, prepare_week
from tests.processes import app_for, start_worker, stop
from tests.spine_helpers import Sink, wait_for

pytestmark = pytest.mark.slow


def _beat(app: Any, task: str) -> None:
    """What beat does: put the job on the broker."""
    app.extensions["celery"].send_task(task)


def _after_queued_work(app: Any, session: Any, marker: str) -> None:
    """Wait until the worker (one process, tasks in order) has run what was queued before:
    a heartbeat task queued last has then written its row."""

    def last_tick() -> str | None:
        session.rollback()
        row = get_state(session, "beat.last_tick")
        return row.value if row is not None else None

    before = last_tick()
    _beat(app, "crm.core.beat_tick")

    def ticked() -> bool:
        return last_tick() not in (None, before)

    wait_for(ticked, 120, marker)


def test_a_real_worker_sends_the_arabic_weekly_digest_once_at_monday_0800(
    spine: dict[str, Any], tmp_path: Path
) -> None:
    with Sink() as sink:
        env = {**spine, "MAIL_URL": sink.url}
        app = app_for(env)
        worker = start_worker(env, tmp_path / "worker.log", clock=SEND_AT + timedelta(minutes=1))
        try:
            with app.app_context():
                session = db.session
                week = prepare_week(session, language="ar")
                _beat(app, "crm.digests.dispatch_due")
                wait_for(lambda: len(sink.messages) >= 1, 120, "the digest")
                _beat(app, "crm.digests.dispatch_due")  # a second beat, the same period
                _after_queued_work(app, session, "the second run of the schedule")
                _beat(app, "crm.mail.sweep")
                _after_queued_work(app, session, "the mail sweep")

                assert len(sink.messages) == 1
                message = sink.messages[0]
                assert message["To"].addresses[0].addr_spec == "nadia@dgssi.example"
                html = message.get_body(("html",)).get_content()
                assert 'dir="rtl"' in html and 'lang="ar"' in html
                # SOC workshop: moved, new, an overdue and an upcoming follow-up, and needing
                # attention (overdue); the MoU moved (signed); threat intel sharing is quiet.
                listed = [week.in_week] * 5 + [week.signed, week.cold]
                assert sorted(re.findall(r'data-lead="(\d+)"', html)) == sorted(str(lead.id) for lead in listed)
                assert "Secret audit" not in html and "Cloud migration" not in html
                assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
                image = next(part for part in message.walk() if part.get_content_type() == "image/png")
                assert image["Content-ID"] == "<pipeline-chart@jisr>"
                assert image.get_content().startswith(b"\x89PNG")

                session.rollback()
                run = session.exec(select(DigestRun)).one()
                assert (run.subscription_id, run.period, run.status) == (week.subscription.id, "2026-W48", "queued")
                # Compiled by the worker at its 08:01, not before 08:00 Casablanca (UTC+0).
                assert SEND_AT <= run.created_at < SEND_AT + timedelta(minutes=30)
                assert session.exec(select(func.count()).select_from(OutboundMail)).one() == 1
                mail = session.exec(select(OutboundMail)).one()
                assert mail.status == MailStatus.SENT and mail.dedupe_key == f"digest:{week.subscription.id}:2026-W48"

                # One click on the link, then the next Monday: nothing is sent.
                client = app.test_client()
                link = f"/digests/unsubscribe/{unsubscribe_token(week.subscription.id)}"
                assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
                session.rollback()
                assert session.get(Subscription, week.subscription.id).is_active is False
        finally:
            stop(worker)

        worker = start_worker(env, tmp_path / "worker.log", clock=SEND_AT + timedelta(days=7, minutes=1))
        try:
            with app.app_context():
                _beat(app, "crm.digests.dispatch_due")
                _after_queued_work(app, db.session, "the next week's schedule")
                assert len(sink.messages) == 1
                assert db.session.exec(select(func.count()).select_from(DigestRun)).one() == 1
        finally:
            stop(worker)
