"""A backup restored into an empty database gives back every table's rows and the event
log up to its last id, and the restored Jisr starts and serves; a restore refuses a
database that holds data (unless ``--force``) and a file that is not a backup, changing
nothing.  PostgreSQL through pg_dump/pg_restore, the embedded SQLite through its online
backup API."""

from __future__ import annotations

import stat
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crm.core.db import db
from crm.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from crm.system.backup import snapshot
from tests.conftest import make_test_app

pytestmark = pytest.mark.slow


@pytest.fixture
def empty_target(backend: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database beside the test's own: a new PostgreSQL database, or no file yet."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'jisr.sqlite'}"
        return
    server = sa.engine.make_url(database_url)
    name = f"jisr_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _app(url: str, instance: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(instance))
    return make_test_app(url)


def _filled(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    app = _app(database_url, tmp_path / "instance", monkeypatch)
    with app.app_context():
        load_demo(db.session)
        db.session.commit()
    (Path(app.instance_path) / "documents").mkdir(exist_ok=True)
    (Path(app.instance_path) / "documents" / "note.txt").write_text("a stored document")
    return app


def test_a_backup_restored_into_an_empty_database_matches_and_serves(
    database_url: str, empty_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _filled(database_url, tmp_path, monkeypatch)
    archive = tmp_path / "jisr-backup.tar.gz"
    before = snapshot(database_url)
    assert before.last_event_id > 100 and before.tables["lead"] > 10

    done = source.test_cli_runner().invoke(args=["crm", "backup", "--output", str(archive)])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"ok: {archive}:")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds the secret key
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "instance/secret_key" in names and "instance/documents/note.txt" in names
    assert not [n for n in names if n.endswith(("broker.sqlite", "jisr.sqlite", "celery-results.sqlite"))]

    target_instance = tmp_path / "restored-instance"
    target = _app(empty_target, target_instance, monkeypatch)
    done = target.test_cli_runner().invoke(args=["crm", "restore", "--input", str(archive)])
    assert done.exit_code == 0, done.output
    assert "match" in done.output

    after = snapshot(empty_target)
    assert after.tables == before.tables
    assert after.last_event_id == before.last_event_id and after.schema == before.schema
    assert (target_instance / "documents" / "note.txt").read_text() == "a stored document"
    assert (target_instance / "secret_key").read_text() == (Path(source.instance_path) / "secret_key").read_text()

    served = _app(empty_target, target_instance, monkeypatch)  # starts on what was restored
    client = served.test_client()
    admin = next(email for email, role in DEMO_USERS if role == "admin")
    assert client.post("/login", data={"email": admin, "password": DEMO_PASSWORD}).status_code == 302
    page = client.get("/leads")
    assert page.status_code == 200 and "Oracle" in page.get_data(as_text=True)
    served.extensions["jisr.db"][0].dispose()
    target.extensions["jisr.db"][0].dispose()
    source.extensions["jisr.db"][0].dispose()


def test_a_restore_refuses_a_database_with_data_unless_forced_and_a_file_that_is_no_backup(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _filled(database_url, tmp_path, monkeypatch)
    archive = tmp_path / "backup.tar.gz"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["crm", "backup", "--output", str(archive)]).exit_code == 0
    with app.app_context():
        from crm.leads.models import Lead

        db.session.execute(sa.update(Lead).values(title="changed after the backup"))
        db.session.commit()
    changed = snapshot(database_url)

    refused = runner.invoke(args=["crm", "restore", "--input", str(archive)])
    assert refused.exit_code == 1
    assert "holds data" in refused.output and "--force" in refused.output
    assert snapshot(database_url) == changed

    garbage = tmp_path / "not-a-backup.tar.gz"
    garbage.write_bytes(b"PK\x03\x04 not a tar")
    refused = runner.invoke(args=["crm", "restore", "--input", str(garbage), "--force"])
    assert refused.exit_code == 1 and "Error: cannot read" in refused.output

    forced = runner.invoke(args=["crm", "restore", "--input", str(archive), "--force"])
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        from crm.leads.models import Lead

        titles = db.session.execute(sa.select(Lead.title)).scalars().all()
    assert "changed after the backup" not in titles
    app.extensions["jisr.db"][0].dispose()
