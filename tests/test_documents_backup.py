"""Documents kept outside the instance folder (``DOCUMENTS_PATH``, a volume in
docker-compose) go into ``crm backup`` and come back with ``crm restore``, into the new
installation's documents folder, and are served from there."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from crm.core.db import db
from crm.documents.models import Document
from crm.documents.operations import add_document
from tests import document_files as files
from tests.conftest import make_test_app
from tests.factories import make_lead, make_user
from tests.test_backup import empty_target  # noqa: F401 - the fixture
from tests.web_helpers import login

pytestmark = pytest.mark.slow


def _app(url: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(root / "instance"))
    return make_test_app(url, DOCUMENTS_PATH=str(root / "documents"))


def test_documents_outside_the_instance_folder_are_backed_up_and_restored(
    database_url: str,
    empty_target: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = _app(database_url, tmp_path / "source", monkeypatch)
    with source.app_context():
        owner = make_user(db.session, email="leila@jisr.example")
        lead = make_lead(db.session, owner=owner)
        document = add_document(
            db.session, lead, file_name="Signed MoU.pdf", content=io.BytesIO(files.PDF), actor=owner
        )
        db.session.commit()
        key, document_id = document.storage_key, document.id
    archive = tmp_path / "backup.tar.gz"
    done = source.test_cli_runner().invoke(args=["crm", "backup", "--output", str(archive)])
    assert done.exit_code == 0, done.output
    with tarfile.open(archive) as tar:
        assert f"documents/{key}" in tar.getnames()

    target = _app(empty_target, tmp_path / "target", monkeypatch)
    done = target.test_cli_runner().invoke(args=["crm", "restore", "--input", str(archive)])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "target" / "documents" / key).read_bytes() == files.PDF

    served = _app(empty_target, tmp_path / "target", monkeypatch)
    client = served.test_client()
    login(client, "leila@jisr.example")
    answer = client.get(f"/documents/{document_id}")
    assert answer.status_code == 200 and answer.data == files.PDF
    with served.app_context():
        assert db.session.get(Document, document_id) is not None
    for app in (served, target, source):
        app.extensions["jisr.db"][0].dispose()
