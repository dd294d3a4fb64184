"""The preview of a large file is planned by a worker and stored: the preview pages read the
stored plan, never the file; mapping the columns again or reading the file otherwise plans
again; a lost planning message is handed over again; a planning that fails says why in the
reader's language.  A small file is still previewed at once, planned on each view."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from crm.accounts.models import User
from crm.accounts.operations import deactivate_user
from crm.core.db import db
from crm.core.events import Event
from crm.core.time import utcnow
from crm.exchange import jobs, operations
from crm.exchange.models import DataImport, ImportFile, ImportPlanRow, ImportStatus
from crm.leads.models import Lead
from tests.conftest import make_test_app
from tests.exchange_helpers import csv_bytes, mixed_leads_file, seed_mission_organisations, worker_env
from tests.factories import make_organisation, make_user
from tests.processes import app_for, free_port, start_worker, stop
from tests.test_import_leads import upload_and_map
from tests.test_web import count_queries
from tests.web_helpers import login

HX = {"HX-Request": "true"}
LATER = jobs.STALLED_AFTER + timedelta(minutes=1)
TABS = ("all", "problems", "create", "update", "unchanged")
ORGANISATION_ROWS = [
    ["Sigle", "Nom", "Pays", "Type", "Site web", "Autres noms"],
    ["ADD", "Agence du Digital", "Maroc", "Agence", "www.add.gov.ma", ""],
    ["", "المديرية العامة لأمن نظم المعلومات", "", "", "", "Direction de la cybersécurité"],
    ["USTDA", "US Trade and Development Agency", "États-Unis", "US government agency", "", ""],
    ["", "وكالة التنمية الرقمية", "", "", "", ""],
    ["X", "Oracle", "Maroc", "", "", ""],
]


def officer_with_organisations(session: Session, language: str = "en") -> User:
    officer = make_user(session, email="officer@jisr.example", language=language)
    seed_mission_organisations(session)
    session.commit()
    return officer


def current(session: Session, import_id: int) -> DataImport:
    session.rollback()
    session.expire_all()
    data_import = session.get(DataImport, import_id)
    assert data_import is not None
    return data_import


def plan_as_the_worker_does(session: Session, import_id: int, task_id: str | None = None) -> ImportStatus | None:
    """What ``crm.exchange.plan_import`` runs, with the task id its message carries."""
    return jobs.execute_planning(session, import_id, task_id or current(session, import_id).task_id or "")


def plan_rows(session: Session, import_id: int) -> int:
    session.rollback()
    return int(
        session.exec(
            select(func.count()).select_from(ImportPlanRow).where(ImportPlanRow.data_import_id == import_id)
        ).one()
    )


def errors_in(preview: str) -> int:
    found = re.search(r'data-count="error">(\d+)<', preview)
    assert found, preview
    return int(found.group(1))


def shown_rows(page: str, import_id: int) -> str:
    """The preview's tabs, counts and rows, without what differs between two imports."""
    counts = re.findall(r'data-count="(\w+)">([^<]*)<', page)
    start = page.index('data-testid="row-filters"')
    end = page.index("</table>", start) if "</table>" in page[start:] else page.index("No rows here", start)
    return f"{counts}{page[start:end]}".replace(f"/imports/{import_id}/", "/imports/N/")


@pytest.mark.parametrize(
    ("kind", "content", "large_above"),
    [
        ("leads", mixed_leads_file(250, bad_count=12).content, 100),
        ("organisations", csv_bytes(ORGANISATION_ROWS), 2),
    ],
    ids=["leads", "organisations"],
)
def test_a_stored_plan_previews_exactly_what_planning_in_the_request_shows(
    app: Any, session: Session, client: Any, kind: str, content: bytes, large_above: int
) -> None:
    officer_with_organisations(session)
    login(client, "officer@jisr.example")
    app.config["IMPORT_INLINE_ROWS"] = 10_000
    small = upload_and_map(client, content, kind=kind)
    assert current(session, small).status == ImportStatus.MAPPED and plan_rows(session, small) == 0
    app.config["IMPORT_INLINE_ROWS"] = large_above
    large = upload_and_map(client, content, kind=kind)
    assert current(session, large).status == ImportStatus.PLANNING
    waiting = client.get(f"/imports/{large}/preview").get_data(as_text=True)
    assert 'data-status="planning"' in waiting and 'hx-trigger="every 1s"' in waiting
    assert plan_as_the_worker_does(session, large) == ImportStatus.MAPPED
    assert plan_rows(session, large) == current(session, large).row_count
    for tab in TABS:
        for page in (1, 2, 3):
            query = f"preview?show={tab}&page={page}"
            inline = client.get(f"/imports/{small}/{query}").get_data(as_text=True)
            stored = client.get(f"/imports/{large}/{query}").get_data(as_text=True)
            assert shown_rows(stored, large) == shown_rows(inline, small), query
    # The error report of the preview says the same from the stored plan.
    assert client.get(f"/imports/{large}/errors").data == client.get(f"/imports/{small}/errors").data.replace(
        f"jisr-import-{small}".encode(), f"jisr-import-{large}".encode()
    )


def test_the_preview_of_a_large_file_runs_a_fixed_number_of_statements_and_never_reads_the_file(
    app: Any, session: Session, client: Any
) -> None:
    officer_with_organisations(session)
    login(client, "officer@jisr.example")
    app.config["IMPORT_INLINE_ROWS"] = 100
    imports = [upload_and_map(client, mixed_leads_file(rows, bad_count=rows // 20).content) for rows in (150, 450)]
    for import_id in imports:
        plan_as_the_worker_does(session, import_id)
    statements: dict[tuple[str, int], list[int]] = {}
    for import_id in imports:
        for tab in TABS:
            for page in (1, 2, 9):
                session.expunge_all()  # as in a request of its own: nothing loaded yet
                with count_queries(app) as seen:
                    response = client.get(f"/imports/{import_id}/preview?show={tab}&page={page}")
                assert response.status_code == 200
                assert not [s for s in seen if "import_file" in s], "the preview read the file"
                statements.setdefault((tab, page), []).append(len(seen))
    for (tab, page), counts in statements.items():
        assert counts[0] == counts[1] <= 8, (tab, page, counts)


def test_changing_the_mapping_or_the_reading_plans_again_and_a_late_plan_is_thrown_away(
    app: Any, session: Session, client: Any
) -> None:
    officer_with_organisations(session)
    login(client, "officer@jisr.example")
    app.config["IMPORT_INLINE_ROWS"] = 100
    import_id = upload_and_map(client, mixed_leads_file(200, bad_count=10).content)
    first_task = current(session, import_id).task_id
    plan_as_the_worker_does(session, import_id)
    preview = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
    assert 'data-count="create">190<' in preview and "Enter an amount" in preview
    # Without the value column, no row fails on its amount: planned again, by a new task.
    data_import = current(session, import_id)
    mapping = ["" if field == "estimated_value" else field for field in data_import.mapping]
    assert client.post(f"/imports/{import_id}/mapping", data={"mapping": mapping}).status_code == 302
    data_import = current(session, import_id)
    second_task = data_import.task_id
    assert data_import.status == ImportStatus.PLANNING and second_task != first_task
    assert data_import.planned_at is None and plan_rows(session, import_id) == 0
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302  # not yet: nothing runs
    assert current(session, import_id).status == ImportStatus.PLANNING
    report = client.get(f"/imports/{import_id}/errors", follow_redirects=True)  # not yet either
    assert report.mimetype == "text/html" and "The preview is being prepared." in report.get_data(as_text=True)
    # The first task, delivered again late, plans nothing for a mapping that is gone.
    assert plan_as_the_worker_does(session, import_id, first_task) == ImportStatus.PLANNING
    assert plan_rows(session, import_id) == 0
    assert plan_as_the_worker_does(session, import_id, second_task) == ImportStatus.MAPPED
    assert plan_as_the_worker_does(session, import_id, second_task) == ImportStatus.MAPPED  # twice: harmless
    assert plan_rows(session, import_id) == 200
    preview = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
    assert 'data-count="create">192<' in preview and "Enter an amount" not in preview
    # Reading the file otherwise forgets the plan; the columns are mapped (and planned) again.
    response = client.post(f"/imports/{import_id}/reading", data={"encoding": "utf-8", "delimiter": ";"})
    assert response.status_code == 302
    data_import = current(session, import_id)
    assert data_import.status == ImportStatus.UPLOADED and plan_rows(session, import_id) == 0
    assert plan_as_the_worker_does(session, import_id, second_task) == ImportStatus.UPLOADED
    assert client.get(f"/imports/{import_id}/preview").headers["Location"].endswith("/mapping")
    # Cancelled while being planned: the plan never arrives.
    assert client.post(f"/imports/{import_id}/mapping", data={"mapping": mapping}).status_code == 302
    third_task = current(session, import_id).task_id
    assert client.post(f"/imports/{import_id}/cancel").status_code == 302
    assert plan_as_the_worker_does(session, import_id, third_task) == ImportStatus.CANCELLED
    assert plan_rows(session, import_id) == 0


def test_the_import_plans_again_rather_than_trusting_the_stored_plan(app: Any, session: Session, client: Any) -> None:
    officer_with_organisations(session)
    login(client, "officer@jisr.example")
    app.config["IMPORT_INLINE_ROWS"] = 100
    lead_file = mixed_leads_file(200, bad_count=10)
    import_id = upload_and_map(client, lead_file.content)
    plan_as_the_worker_does(session, import_id)
    preview = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
    assert 'data-count="create">190<' in preview
    # Since the plan, the unknown agency of two rows was added to Jisr.
    unknown = sum("No organisation is called" in words for words in lead_file.bad.values())
    assert unknown == 2
    make_organisation(session, "MA", name_fr="Agence inconnue")
    session.commit()
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    assert current(session, import_id).status == ImportStatus.QUEUED  # a large file: for a worker
    assert jobs.execute_import(session, import_id) == ImportStatus.COMPLETED  # what the worker runs
    data_import = current(session, import_id)
    assert (data_import.created_count, data_import.error_count) == (192, 8)
    assert session.exec(select(func.count()).select_from(Lead)).one() == 192
    assert plan_rows(session, import_id) == 0  # its log is kept instead


@pytest.mark.parametrize("rows", [99, 100, 101])
def test_a_file_up_to_the_inline_rows_is_previewed_at_once_and_a_larger_one_by_a_worker(
    app: Any, session: Session, client: Any, rows: int
) -> None:
    officer_with_organisations(session)
    login(client, "officer@jisr.example")
    app.config["IMPORT_INLINE_ROWS"] = 100
    import_id = upload_and_map(client, mixed_leads_file(rows, bad_count=5).content)
    data_import = current(session, import_id)
    large = rows > 100
    assert data_import.status == (ImportStatus.PLANNING if large else ImportStatus.MAPPED)
    assert bool(data_import.task_id) == large
    preview = client.get(f"/imports/{import_id}/preview").get_data(as_text=True)
    assert ('data-testid="preview-counts"' in preview) != large
    if not large:
        # Planned on each view: a change in Jisr shows at once, and nothing is stored.
        make_organisation(session, "MA", name_fr="Agence inconnue")
        session.commit()
        after = client.get(f"/imports/{import_id}/preview").get_data(as_text=True)
        assert errors_in(after) < errors_in(preview)
        assert plan_rows(session, import_id) == 0 and current(session, import_id).planned_at is None


def test_a_lost_planning_message_is_handed_over_again_and_given_up_after_workers_die_on_it(
    app: Any, session: Session, client: Any
) -> None:
    officer = officer_with_organisations(session, language="fr")
    data_import = operations.upload_import(
        session, kind="leads", filename="pistes.csv", content=mixed_leads_file(120).content, actor=officer
    )
    operations.map_import_columns(session, data_import, mapping=data_import.mapping, actor=officer, plan_in_worker=True)
    session.commit()  # and its message never reached the broker
    import_id, task_id = data_import.id, data_import.task_id
    assert import_id is not None and task_id
    sent: list[tuple[str, int, str]] = []

    def sweep(now: Any) -> list[int]:
        return jobs.requeue_stalled_imports(
            session,
            lambda i, t: sent.append(("import", i, t)),
            send_planning=lambda i, t: sent.append(("planning", i, t)),
            now=now,
        )

    assert sweep(utcnow()) == [] and sent == []  # just handed over: a worker may take it any moment
    assert sweep(utcnow() + LATER) == [import_id]
    assert sent == [("planning", import_id, task_id)]  # the planning task, with the same id
    # A worker takes it and dies on it, twice more.
    assert operations.start_planning(session, current(session, import_id))
    session.commit()
    assert sweep(utcnow() + 2 * LATER) == [import_id]
    assert sweep(utcnow() + 3 * LATER) == []
    data_import = current(session, import_id)
    assert data_import.status == ImportStatus.UPLOADED and data_import.handovers == 3
    assert data_import.failure["msgid"].startswith("It stopped several times")
    login(client, "officer@jisr.example")
    page = html.unescape(client.get(f"/imports/{import_id}/preview", follow_redirects=True).get_data(as_text=True))
    assert "L'aperçu n'a pas pu être préparé." in page
    assert "Il s'est arrêté plusieurs fois avant de finir." in page
    events = session.exec(
        select(Event.type).where(Event.entity_type == "data_import", Event.entity_id == import_id).order_by(Event.id)
    ).all()
    assert events[-4:] == ["import.requeued", "import.planning_started", "import.requeued", "import.planning_failed"]
    # Mapping the columns again plans again, from the start.
    operations.map_import_columns(
        session, data_import, mapping=data_import.mapping, actor=session.get(User, officer.id), plan_in_worker=True
    )
    session.commit()
    assert (data_import.status, data_import.handovers, data_import.started_at) == (ImportStatus.PLANNING, 1, None)
    assert data_import.failure == {}


def _author_may_no_longer_import(session: Session, data_import: DataImport) -> str:
    author = session.get(User, data_import.author_id)
    assert author is not None
    deactivate_user(session, author, actor=make_user(session, role="admin"))
    session.commit()
    return "L'auteur de cet import n'a plus le droit d'importer."


def _file_no_longer_kept(session: Session, data_import: DataImport) -> str:
    session.delete(session.get(ImportFile, data_import.id))
    session.commit()
    return "Le fichier de cet import n'est plus conservé."


@pytest.mark.parametrize("cause", [_author_may_no_longer_import, _file_no_longer_kept])
def test_a_planning_that_fails_says_why_in_the_readers_language(
    app: Any, session: Session, client: Any, cause: Any
) -> None:
    officer_with_organisations(session, language="fr")
    admin = make_user(session, role="admin", email="admin@jisr.example", language="fr")
    session.commit()
    login(client, "officer@jisr.example")
    app.config["IMPORT_INLINE_ROWS"] = 100
    import_id = upload_and_map(client, mixed_leads_file(150).content)
    expected = cause(session, current(session, import_id))
    assert plan_as_the_worker_does(session, import_id) == ImportStatus.UPLOADED
    assert plan_rows(session, import_id) == 0
    client.get("/logout")
    login(client, admin.email)
    fragment = client.get(f"/imports/{import_id}/status?was=planning", headers=HX)
    assert fragment.headers.get("HX-Refresh") == "true"  # the waiting page reloads…
    page = client.get(f"/imports/{import_id}/preview", follow_redirects=True)  # …onto the columns
    text = html.unescape(page.get_data(as_text=True))
    # (a file no longer kept also makes the columns page answer 400: it has no rows to show)
    assert page.status_code in (200, 400) and 'data-testid="planning-failure"' in text
    assert "L'aperçu n'a pas pu être préparé." in text and expected in text
    assert (
        session.exec(select(func.count()).select_from(Event).where(Event.type == "import.planning_failed")).one() == 1
    )


def test_a_broker_that_cannot_be_reached_is_said_on_the_columns_page(database_url: str, tmp_path: Any) -> None:
    app = make_test_app(
        database_url, BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", IMPORT_INLINE_ROWS=100, RATELIMIT_ENABLED=False
    )
    try:
        with app.app_context():
            officer_with_organisations(db.session, language="fr")
        client = app.test_client()
        login(client, "officer@jisr.example")
        import_id = upload_and_map(client, mixed_leads_file(150).content)
        page = html.unescape(client.get(f"/imports/{import_id}/preview", follow_redirects=True).get_data(as_text=True))
        assert "L'aperçu n'a pas pu être préparé." in page
        assert "La file des tâches est injoignable." in page
        with app.app_context():
            assert db.session.get(DataImport, import_id).status == ImportStatus.UPLOADED  # type: ignore[union-attr]
    finally:
        app.extensions["jisr.db"][0].dispose()


def wait_for_preview(client: Any, import_id: int, log: Path) -> str:
    """Follow the waiting page as the browser does (polling its fragment) until the worker
    has planned the preview; the preview page then."""
    page = client.get(f"/imports/{import_id}/preview").get_data(as_text=True)
    deadline = time.monotonic() + 120
    while 'data-status="planning"' in page:
        assert 'hx-trigger="every 1s"' in page
        assert time.monotonic() < deadline, f"the worker did not plan the preview: {log.read_text()[-3000:]}"
        time.sleep(0.3)
        fragment = client.get(f"/imports/{import_id}/status?was=planning", headers=HX)
        if fragment.headers.get("HX-Refresh") == "true":
            break
        page = fragment.get_data(as_text=True)
    return str(client.get(f"/imports/{import_id}/preview").get_data(as_text=True))


@pytest.mark.slow
def test_a_worker_plans_the_preview_of_a_large_file_and_of_one_whose_message_was_lost(
    tmp_path: Path, database_url: str, backend: str
) -> None:
    env = worker_env(tmp_path, database_url, backend)
    app = app_for(env)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        with app.app_context():
            officer_with_organisations(db.session)
        client = app.test_client()
        login(client, "officer@jisr.example")
        import_id = upload_and_map(client, mixed_leads_file(600, bad_count=10).content)
        wait_for_preview(client, import_id, log)
        with count_queries(app) as seen:
            preview = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
        assert 'data-count="create">590<' in preview and 'data-count="error">10<' in preview
        assert 'data-testid="planned-at"' in preview
        assert len(seen) <= 8 and not [s for s in seen if "import_file" in s]
        with app.app_context():
            assert plan_rows(db.session, import_id) == 600
            # Another large file, whose planning message never reached the broker.
            officer = db.session.exec(select(User).where(User.email == "officer@jisr.example")).one()
            content = mixed_leads_file(150).content
            lost = operations.upload_import(db.session, kind="leads", filename="b.csv", content=content, actor=officer)
            operations.map_import_columns(db.session, lost, mapping=lost.mapping, actor=officer, plan_in_worker=True)
            db.session.commit()
            lost_id = lost.id
            assert lost_id is not None
            with app.test_request_context():
                assert jobs.requeue_stalled_imports(db.session, jobs.send_import_task, now=utcnow() + LATER) == [
                    lost_id
                ]
        assert 'data-count="create">150<' in wait_for_preview(client, lost_id, log)
        with app.app_context():
            assert plan_rows(db.session, lost_id) == 150
        # Confirming runs the import in the worker, which plans again and keeps its own log.
        assert client.post(f"/imports/{import_id}/confirm").status_code == 302
        deadline = time.monotonic() + 120
        with app.app_context():
            while current(db.session, import_id).status != ImportStatus.COMPLETED:
                assert time.monotonic() < deadline, f"the worker did not import: {log.read_text()[-3000:]}"
                time.sleep(0.3)
            assert current(db.session, import_id).created_count == 590
            assert plan_rows(db.session, import_id) == 0
    finally:
        stop(worker)
