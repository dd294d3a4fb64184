"""A large import runs in a real Celery worker process; the page polls a small status
fragment that shows the progress the worker reports through the result backend."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from crm.core.db import db
from crm.exchange import operations
from crm.exchange.models import DataImport, ImportStatus
from crm.leads.models import Lead
from tests.exchange_helpers import mixed_leads_file, seed_mission_organisations, worker_env
from tests.factories import make_user
from tests.processes import app_for, start_worker, stop
from tests.test_import_leads import upload_and_map
from tests.test_import_planning import wait_for_preview
from tests.web_helpers import login

HX = {"HX-Request": "true"}


def status_of(fragment: str) -> str:
    found = re.search(r'id="import-status" data-status="([a-z]+)"', fragment)
    assert found, fragment
    return found.group(1)


@pytest.mark.slow
def test_a_large_import_runs_in_a_worker_and_the_fragment_follows_it(
    tmp_path: Path, database_url: str, backend: str
) -> None:
    env = worker_env(tmp_path, database_url, backend)
    app = app_for(env)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        with app.app_context():
            make_user(db.session, email="officer@jisr.example", language="en")
            seed_mission_organisations(db.session)
            db.session.commit()
        client = app.test_client()
        login(client, "officer@jisr.example")
        import_id = upload_and_map(client, mixed_leads_file(600, bad_count=10).content)
        preview = wait_for_preview(client, import_id, log)  # planned by the worker too
        assert "the import runs in the background" in preview
        assert client.post(f"/imports/{import_id}/confirm").status_code == 302
        page = client.get(f"/imports/{import_id}").get_data(as_text=True)
        first = status_of(page)
        assert first in ("queued", "running", "completed")
        if first != "completed":
            assert 'hx-trigger="every 1s"' in page
        seen = [first]
        deadline = time.monotonic() + 180
        while seen[-1] != "completed":
            assert time.monotonic() < deadline, f"the worker did not finish: {log.read_text()[-3000:]}"
            time.sleep(0.5)
            fragment = client.get(f"/imports/{import_id}/status?was={seen[-1]}", headers=HX)
            status = status_of(fragment.get_data(as_text=True))
            if status != seen[-1]:
                seen.append(status)
                if status == "completed" and seen[-2] in ("queued", "running"):
                    assert fragment.headers.get("HX-Refresh") == "true"
        order = ["queued", "running", "completed"]
        assert seen == sorted(seen, key=order.index)
        said = re.sub(r"<[^>]+>", "", fragment.get_data(as_text=True))
        assert "Imported: 590 created, 0 updated, 0 unchanged, 10 left out with errors." in said
        with app.app_context():
            assert db.session.exec(select(func.count()).select_from(Lead)).one() == 590
            data_import = db.session.get(DataImport, import_id)
            assert data_import.status == ImportStatus.COMPLETED and data_import.task_id
            # The worker reported its progress to the result backend as it went.
            result = app.extensions["celery"].AsyncResult(data_import.task_id)
            assert (result.state, result.info) == ("PROGRESS", {"done": 600, "total": 600})
    finally:
        stop(worker)


def test_the_fragment_shows_the_progress_a_worker_reported(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    seed_mission_organisations(session)
    session.commit()
    content = mixed_leads_file(1000).content
    data_import = operations.upload_import(session, kind="leads", filename="pistes.csv", content=content, actor=officer)
    operations.map_import_columns(session, data_import, mapping=data_import.mapping, actor=officer)
    operations.confirm_import(session, data_import, actor=officer, background=True)
    session.commit()
    login(client, "officer@jisr.example")
    fragment = client.get(f"/imports/{data_import.id}/status", headers=HX).get_data(as_text=True)
    assert status_of(fragment) == "queued" and "En attente d'un processus" in fragment
    operations.start_import(session, data_import)
    session.commit()
    app.extensions["celery"].backend.store_result(data_import.task_id, {"done": 400, "total": 1000}, "PROGRESS")
    fragment = client.get(f"/imports/{data_import.id}/status?was=queued", headers=HX)
    text = fragment.get_data(as_text=True)
    assert status_of(text) == "running" and "HX-Refresh" not in fragment.headers
    assert "Import en cours : 400 lignes sur 1\u202f000 (40 %)" in re.sub(r"<[^>]+>", "", text)
    assert '<progress class="w-100" max="1000" value="400"' in text
    assert 'hx-trigger="every 1s"' in text
