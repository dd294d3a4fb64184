"""Zero-downtime upgrades (docs/migrations.md): the migrations added since the release in
production only expand the schema, and that release's code still works on the new schema
(so the new schema can go in first, while the old web and workers keep serving)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlmodel import col, select

from crm.core.migrate import alembic_config, upgrade

ROOT = Path(__file__).resolve().parent.parent
RELEASE_FILE = ROOT / "migrations" / "RELEASE"
SERVER_VARIABLES = ("DATABASE_URL", "REDIS_URL", "MAIL_URL", "PROMETHEUS_MULTIPROC_DIR")


def release() -> dict[str, str]:
    """``commit`` and ``revision`` of the release in production (migrations/RELEASE)."""
    found = {}
    for line in RELEASE_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = line.split()
            found[key] = value
    assert set(found) == {"commit", "revision"}, found
    return found


def _schema(url: str) -> dict[str, dict[str, dict[str, Any]]]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {c["name"]: c for c in inspector.get_columns(table)}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def test_the_release_revision_is_an_ancestor_of_the_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    (head,) = script.get_heads()
    chain = [r.revision for r in script.walk_revisions("base", head)]
    assert release()["revision"] in chain


def expand_only(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[str]:
    """What in ``after`` would break code written for ``before``."""
    problems = []
    for table, columns in before.items():
        if table not in after:
            problems.append(f"table {table} dropped or renamed")
            continue
        for name, column in columns.items():
            new = after[table].get(name)
            if new is None:
                problems.append(f"column {table}.{name} dropped or renamed")
            elif column["nullable"] and not new["nullable"]:
                problems.append(f"column {table}.{name} became NOT NULL")
        for name in after[table].keys() - columns.keys():
            new = after[table][name]
            if not new["nullable"] and new.get("default") is None:
                problems.append(f"column {table}.{name} added NOT NULL without a server default")
    return problems


def test_the_policy_check_sees_what_breaks_old_code() -> None:
    before = {"lead": {"id": {"nullable": False}, "title": {"nullable": True}}, "gone": {}}
    after = {
        "lead": {
            "id": {"nullable": False},
            "title": {"nullable": False},
            "score": {"nullable": False, "default": None},
            "note": {"nullable": True, "default": None},
            "rank": {"nullable": False, "default": "0"},
        }
    }
    assert sorted(expand_only(before, after)) == [
        "column lead.score added NOT NULL without a server default",
        "column lead.title became NOT NULL",
        "table gone dropped or renamed",
    ]
    assert expand_only(after, {**after, "new_table": {"id": {"nullable": False}}}) == []


def test_migrations_since_the_release_only_expand(database_url: str) -> None:
    """Every migration after the release adds tables, nullable columns or columns with a
    server default; nothing the release's code reads or writes goes away or tightens."""
    config = alembic_config(database_url)
    command.downgrade(config, release()["revision"])
    before = _schema(database_url)
    upgrade(database_url)
    after = _schema(database_url)
    assert expand_only(before, after) == []


def _release_tree(commit: str, into: Path) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the release's code cannot be read")
    known = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    assert known.returncode == 0, (
        f"commit {commit} of migrations/RELEASE is not in this clone: fetch the history (git fetch --unshallow)"
    )
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "crm", "workers", "tests", "wsgi.py"],
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    shutil.copy(Path(__file__).with_name("release_lead_crud.py"), into / "release_lead_crud.py")
    return into


@pytest.mark.slow
def test_the_release_code_runs_its_lead_crud_on_the_new_schema(database_url: str, tmp_path: Path) -> None:
    tree = _release_tree(release()["commit"], tmp_path / "release")
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES and not k.startswith("PYTHON")}
    env.update(
        DATABASE_URL=database_url,
        JISR_INSTANCE_PATH=str(tmp_path / "instance"),
        PYTHONPATH=str(tree),
        PYTHONDONTWRITEBYTECODE="1",
    )
    probe = [sys.executable, "-c", "import crm, sys; print(crm.__file__)"]
    assert subprocess.run(probe, cwd=tree, env=env, capture_output=True, text=True).stdout.startswith(str(tree))
    run = subprocess.run(
        [sys.executable, "release_lead_crud.py"], cwd=tree, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-4000:]
    done = json.loads(run.stdout.strip().splitlines()[-1])
    assert done["consumed"] > 0
    for kind in ("lead.created", "lead.updated", "lead.stage_changed", "followup.scheduled", "lead.deleted"):
        assert kind in done["events"], (kind, done["events"])

    # Today's code reads what the release's code wrote (its events have no request id).
    from crm.core.events import Event
    from tests.conftest import make_test_app

    app = make_test_app(database_url)
    with app.app_context():
        from crm.core.db import db

        events = db.session.exec(select(Event).order_by(col(Event.id))).all()
        assert [e.type for e in events] == done["events"]
        assert {e.request_id for e in events} == {None}
    app.extensions["jisr.db"][0].dispose()
