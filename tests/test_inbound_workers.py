"""Filing with real Celery workers: a worker killed (SIGKILL) while it files a stream of
received messages loses none and doubles none once another worker takes over."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, func, select

from crm.core.consumers import ConsumedEvent
from crm.core.db import db
from crm.inbound.addresses import lead_address
from crm.inbound.models import EmailMessage, InboundMail, InboundState
from crm.inbound.operations import store_inbound
from tests.factories import make_lead
from tests.inbound_corpus import plain
from tests.processes import app_for, start_worker, stop
from tests.spine_helpers import wait_for

MESSAGES = 150


def _filed(session: Session) -> int:
    session.rollback()
    return int(
        session.exec(select(func.count()).select_from(ConsumedEvent).where(ConsumedEvent.consumer == "inbound")).one()
    )


def test_a_filing_worker_killed_mid_stream_loses_nothing(spine: dict[str, Any], tmp_path: Path) -> None:
    # The logging addresses are signed with the secret key: every process shares it.
    env = {**spine, "SECRET_KEY": "inbound-workers-" + "k" * 40}
    app = app_for(env, SECRET_KEY=env["SECRET_KEY"])
    log = tmp_path / "worker.log"
    with app.app_context():
        session = db.session
        lead = make_lead(session)
        session.commit()
        for n in range(MESSAGES):
            store_inbound(
                session, plain(f"stream-{n}@aws.example", "jane@aws.example", "x@jisr.example"), lead_address(lead)
            )
        session.commit()
        celery = app.extensions["celery"]
        last = [0.0]

        def beat() -> None:  # what beat does every few seconds
            if time.monotonic() - last[0] > 2:
                last[0] = time.monotonic()
                try:
                    celery.send_task("crm.events.relay")
                    celery.send_task("crm.events.republish")
                except Exception:
                    pass

        worker = start_worker(env, log)
        try:
            wait_for(lambda: _filed(session) >= 20, 240, "the first filings", beat)
            stop(worker, kill=True)
            at_kill = _filed(session)
            worker = start_worker(env, log)
            wait_for(lambda: _filed(session) >= MESSAGES, 300, "every message filed after the restart", beat)
        finally:
            stop(worker)
        print(f"killed after {at_kill} filings")
        session.rollback()
        states = session.exec(select(InboundMail.state, func.count()).group_by(col(InboundMail.state))).all()
        assert dict(states) == {InboundState.FILED: MESSAGES}
        assert session.exec(select(func.count()).select_from(EmailMessage)).one() == MESSAGES
