"""A confirmed import whose task went missing is handed to a worker again by the sweep, at
most three times, and never while a worker is writing it."""

from __future__ import annotations

import html
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from crm.accounts.models import User
from crm.core.db import db
from crm.core.events import Event
from crm.core.time import utcnow
from crm.exchange import jobs, operations
from crm.exchange.models import DataImport, ImportStatus
from crm.leads.models import Lead
from tests.conftest import TEST_REDIS_URL
from tests.exchange_helpers import mixed_leads_file, seed_mission_organisations
from tests.factories import make_user
from tests.processes import app_for, start_worker, stop
from tests.web_helpers import login

LATER = jobs.STALLED_AFTER + timedelta(minutes=1)


def confirmed_import(session: Session, *, rows: int = 40, background: bool = True) -> DataImport:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    seed_mission_organisations(session)
    session.commit()
    content = mixed_leads_file(rows).content
    data_import = operations.upload_import(session, kind="leads", filename="pistes.csv", content=content, actor=officer)
    operations.map_import_columns(session, data_import, mapping=data_import.mapping, actor=officer)
    operations.confirm_import(session, data_import, actor=officer, background=background)
    session.commit()
    return data_import


def sweep(session: Session, now: Any) -> list[tuple[int, str]]:
    sent: list[tuple[int, str]] = []
    jobs.requeue_stalled_imports(session, lambda import_id, task_id: sent.append((import_id, task_id)), now=now)
    return sent


def test_an_import_never_started_is_handed_over_until_a_worker_takes_it(session: Session) -> None:
    data_import = confirmed_import(session)
    import_id, task_id = data_import.id, data_import.task_id
    for n in range(1, 6):  # workers down for an hour: it waits, it does not fail
        assert sweep(session, utcnow() + n * LATER) == [(import_id, task_id)]
    session.expire_all()
    assert session.get(DataImport, import_id).status == ImportStatus.QUEUED
    assert jobs.execute_import(session, import_id) == ImportStatus.COMPLETED  # a worker is back
    assert sweep(session, utcnow() + 9 * LATER) == []


def test_an_import_workers_keep_dying_on_is_handed_over_twice_then_fails(session: Session, client: Any) -> None:
    data_import = confirmed_import(session)
    import_id, task_id = data_import.id, data_import.task_id
    assert sweep(session, utcnow()) == []  # just confirmed: a worker may take it any moment
    assert operations.start_import(session, data_import)  # a worker took it, then died
    session.commit()
    first = utcnow() + LATER
    assert sweep(session, first) == [(import_id, task_id)]  # the same task id: one progress bar
    assert sweep(session, first) == []  # handed over again just now
    assert sweep(session, first + LATER) == [(import_id, task_id)]
    session.expire_all()
    data_import = session.get(DataImport, import_id)
    assert data_import.handovers == 3 and data_import.status == ImportStatus.RUNNING
    assert sweep(session, first + 2 * LATER) == []
    session.expire_all()
    data_import = session.get(DataImport, import_id)
    assert data_import.status == ImportStatus.FAILED
    assert data_import.failure["msgid"].startswith("The import stopped several times")
    login(client, "officer@jisr.example")
    page = html.unescape(client.get(f"/imports/{import_id}").get_data(as_text=True))
    assert "L'import s'est arrêté plusieurs fois avant de finir ; rien n'a été écrit." in page
    events = session.exec(
        select(Event.type).where(Event.entity_type == "data_import", Event.entity_id == import_id).order_by(Event.id)
    ).all()
    assert events[-3:] == ["import.requeued", "import.requeued", "import.failed"]
    assert session.exec(select(func.count()).select_from(Lead)).one() == 0
    # Failed means "nothing was written, confirm again": a new confirmation starts afresh.
    operations.confirm_import(session, data_import, actor=session.get(User, data_import.author_id), background=True)
    session.commit()
    assert data_import.handovers == 1 and data_import.status == ImportStatus.QUEUED
    assert data_import.started_at is None and data_import.failure == {}


def test_an_import_left_by_a_request_that_died_is_run_by_a_worker(session: Session) -> None:
    data_import = confirmed_import(session, background=False)  # the request died before running it
    assert data_import.task_id is None
    [(import_id, task_id)] = sweep(session, utcnow() + LATER)
    assert import_id == data_import.id and task_id
    assert jobs.execute_import(session, import_id) == ImportStatus.COMPLETED  # what the worker does
    assert session.exec(select(func.count()).select_from(Lead)).one() == 40


def test_a_running_import_is_handed_over_again_only_when_no_worker_is_writing_it(
    app: Any, session: Session, backend: str
) -> None:
    data_import = confirmed_import(session)
    assert operations.start_import(session, data_import)
    session.commit()
    import_id = data_import.id
    if backend == "postgresql":
        # A worker writing the import holds its row (apply_import locks it first).
        with db.engine.connect() as writer:
            writer.execute(sa.text("SELECT id FROM data_import WHERE id = :id FOR UPDATE"), {"id": import_id})
            assert sweep(session, utcnow() + LATER) == []
            writer.rollback()
    # The worker died: nothing holds the import, so it goes to a worker again, which finishes it.
    assert [i for i, _ in sweep(session, utcnow() + LATER)] == [import_id]
    assert jobs.execute_import(session, import_id) == ImportStatus.COMPLETED
    assert session.exec(select(func.count()).select_from(Lead)).one() == 40


def test_a_failure_after_another_run_finished_the_import_is_not_recorded(
    app: Any, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs of one import (a task sent again): the second fails on the lock while the
    first commits; the import stays completed."""
    data_import = confirmed_import(session)
    import_id = data_import.id

    def finished_elsewhere(*args: Any, **kwargs: Any) -> None:
        with Session(db.engine) as other:
            operations.apply_import(other, other.get(DataImport, import_id))
            other.commit()
        raise sa.exc.OperationalError("UPDATE data_import", {}, Exception("database is locked"))

    monkeypatch.setattr(jobs, "apply_import", finished_elsewhere)
    assert jobs.execute_import(session, import_id) == ImportStatus.COMPLETED
    assert session.exec(select(func.count()).select_from(Lead)).one() == 40


@pytest.mark.slow
def test_a_worker_finishes_an_import_whose_message_the_broker_lost(
    tmp_path: Path, database_url: str, backend: str
) -> None:
    env = {"JISR_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url}
    if backend == "postgresql":
        if not TEST_REDIS_URL:
            pytest.skip("the PostgreSQL suite runs its workers over Redis: set REDIS_URL")
        env["REDIS_URL"] = TEST_REDIS_URL
    app = app_for(env)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        with app.app_context():
            import_id = confirmed_import(db.session).id  # confirmed, never sent: the message is lost
            with app.test_request_context():
                assert jobs.requeue_stalled_imports(db.session, jobs.send_import_task, now=utcnow() + LATER) == [
                    import_id
                ]
            deadline = time.monotonic() + 60
            while db.session.get(DataImport, import_id).status != ImportStatus.COMPLETED:
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
                time.sleep(0.3)
                db.session.expire_all()
            assert db.session.exec(select(func.count()).select_from(Lead)).one() == 40
    finally:
        stop(worker)
