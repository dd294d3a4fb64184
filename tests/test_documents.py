"""Documents on leads, meetings and missions: uploaded by those who may change what they
are on, downloaded as attachments by those who see it (a confidential lead's documents
are 404 to the others), refused with a message in the user's language when too large or
not what their name says (nothing written), listed on the pages and the lead's timeline,
and their files removed once their rows are gone."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask_babel import force_locale
from sqlmodel import Session, func, select

from crm.accounts.models import Role
from crm.core.db import db
from crm.core.events import Event
from crm.core.i18n import gettext
from crm.documents.cleanup import sweep_orphans
from crm.documents.models import Document
from crm.documents.operations import add_document
from crm.documents.storage import FileSystemStorage, storage
from crm.leads.operations import delete_lead, update_lead
from crm.missions.operations import create_mission, log_meeting
from tests import document_files as files
from tests.api_helpers import bearer, make_token
from tests.conftest import make_test_app
from tests.factories import PASSWORD, make_lead, make_user
from tests.test_spine import relay_and_consume
from tests.web_helpers import login

LIMIT = 64 * 1024


@pytest.fixture
def docs_app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    application = make_test_app(database_url, DOCUMENTS_PATH=str(tmp_path / "store"), DOCUMENT_MAX_BYTES=LIMIT)
    yield application
    application.extensions["jisr.db"][0].dispose()


@pytest.fixture
def s(docs_app: Any) -> Iterator[Session]:
    with docs_app.app_context():
        yield db.session


@pytest.fixture
def web(docs_app: Any) -> Any:
    return docs_app.test_client()


def _stored(app: Any) -> list[Path]:
    root = Path(app.config["DOCUMENTS_PATH"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def _upload(client: Any, url: str, name: str, content: bytes) -> Any:
    return client.post(url, data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_an_officer_uploads_a_pdf_on_a_lead_and_reads_it_back_as_an_attachment(
    docs_app: Any, s: Session, web: Any
) -> None:
    owner = make_user(s, email="leila@jisr.example", name="Leïla", language="en")
    lead = make_lead(s, owner=owner, title="Cloud pilot for ADD")
    s.commit()
    login(web, "leila@jisr.example")

    answer = _upload(web, f"/leads/{lead.id}/documents", "MoU draft (v2).pdf", files.PDF)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/leads/{lead.id}#documents")
    document = s.exec(select(Document)).one()
    assert (document.lead_id, document.file_name, document.content_type) == (
        lead.id,
        "MoU draft (v2).pdf",
        "application/pdf",
    )
    assert document.size == len(files.PDF) and document.uploaded_by_id == owner.id
    (stored,) = _stored(docs_app)
    assert stored.read_bytes() == files.PDF and str(stored).startswith(docs_app.config["DOCUMENTS_PATH"])
    event = s.exec(select(Event).where(Event.type == "document.added")).one()
    assert event.lead_id == lead.id and event.payload["file_name"] == "MoU draft (v2).pdf"

    page = web.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'data-testid="documents"' in page and "MoU draft (v2).pdf" in page
    assert f'href="/documents/{document.id}"' in page
    timeline = page.split('data-testid="lead-timeline"', 1)[1]
    assert "added the document" in timeline and "MoU draft (v2).pdf" in timeline

    download = web.get(f"/documents/{document.id}")
    assert download.status_code == 200 and download.data == files.PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "MoU" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("agreement.docx", files.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("minutes.odt", files.odt(), "application/vnd.oasis.opendocument.text"),
        ("photo.PNG", files.PNG, "image/png"),
        ("agenda.txt", files.TEXT, "text/plain"),
    ],
)
def test_each_accepted_kind_is_recognised_from_its_content(s: Session, name: str, content: bytes, kind: str) -> None:
    lead = make_lead(s)
    document = add_document(s, lead, file_name=name, content=io.BytesIO(content), actor=None)
    s.commit()
    assert document.content_type == kind


def test_a_confidential_leads_documents_are_404_to_an_officer_who_cannot_see_the_lead(
    docs_app: Any, s: Session, web: Any
) -> None:
    owner = make_user(s, email="owner@jisr.example")
    make_user(s, email="other@jisr.example")
    make_user(s, Role.ADMIN, email="admin@jisr.example")
    make_user(s, Role.VIEWER, email="viewer@jisr.example")
    lead = make_lead(s, owner=owner)
    document = add_document(s, lead, file_name="signed.pdf", content=io.BytesIO(files.PDF), actor=owner)
    update_lead(s, lead, confidential=True, actor=owner)
    s.commit()
    doc_id, lead_id = document.id, lead.id

    login(web, "other@jisr.example")
    assert web.get(f"/documents/{doc_id}").status_code == 404
    assert web.post(f"/documents/{doc_id}/delete").status_code == 404
    assert _upload(web, f"/leads/{lead_id}/documents", "x.pdf", files.PDF).status_code == 404
    web.post("/logout")
    login(web, "admin@jisr.example")
    assert web.get(f"/documents/{doc_id}").data == files.PDF
    web.post("/logout")

    update_lead(s, s.get(type(lead), lead_id), confidential=False, actor=owner)
    s.commit()
    login(web, "viewer@jisr.example")
    assert web.get(f"/documents/{doc_id}").status_code == 200  # viewers read
    assert _upload(web, f"/leads/{lead_id}/documents", "x.pdf", files.PDF).status_code == 403
    assert web.post(f"/documents/{doc_id}/delete").status_code == 403
    assert _count(s, Document) == 1 and len(_stored(docs_app)) == 1


DISGUISED = [
    ("invoice.pdf", files.EXE, "PDF"),  # a program renamed .pdf
    ("photo.png", files.HTML, "PNG"),  # a web page named .png
    ("notes.txt", files.HTML, "TXT"),
    ("report.docx", files.plain_zip(), "Word"),  # a zip, but no Word document inside
    ("report.docx", files.PDF, "Word"),
]


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_a_disguised_file_is_refused_in_the_users_language_and_nothing_is_written(
    docs_app: Any, s: Session, web: Any, language: str
) -> None:
    owner = make_user(s, email="leila@jisr.example", language=language)
    lead = make_lead(s, owner=owner)
    s.commit()
    login(web, "leila@jisr.example")
    events = _count(s, Event)
    for name, content, kind in DISGUISED:
        answer = _upload(web, f"/leads/{lead.id}/documents", name, content)
        assert answer.status_code == 400, name
        with docs_app.test_request_context(), force_locale(language):
            expected = gettext(
                "The content of this file does not match its name: it is not a real %(kind)s file.", kind=kind
            )
        assert expected in answer.get_data(as_text=True), name
    refused = {
        "program.exe": "This type of file is not accepted.",
        "report.docm": "This type of file is not accepted.",
    }
    for name, english in refused.items():
        page = _upload(web, f"/leads/{lead.id}/documents", name, files.EXE).get_data(as_text=True)
        assert english not in page and f'lang="{language}"' in page
    macros = _upload(web, f"/leads/{lead.id}/documents", "macro.docx", files.docx(macros=True))
    assert macros.status_code == 400
    with docs_app.test_request_context(), force_locale(language):
        assert gettext("Office documents with macros are not accepted.") in macros.get_data(as_text=True)
    s.expire_all()
    assert _count(s, Document) == 0 and _count(s, Event) == events and _stored(docs_app) == []


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_an_oversized_file_is_refused_with_413_in_the_users_language(
    docs_app: Any, s: Session, web: Any, language: str
) -> None:
    owner = make_user(s, email="leila@jisr.example", language=language)
    mission = create_mission(s, name="Houston 2026", starts_on=date(2026, 12, 10), ends_on=date(2026, 12, 20))
    s.commit()
    login(web, "leila@jisr.example")
    just_over = files.PDF + b"0" * LIMIT
    answer = _upload(web, f"/missions/{mission.id}/documents", "big.pdf", just_over)
    assert answer.status_code == 413
    with docs_app.test_request_context(), force_locale(language):
        expected = gettext("The file is larger than %(size)s.", size="64 KB")
    page = answer.get_data(as_text=True)
    assert f'lang="{language}"' in page and expected.split("64")[0].strip() in page
    far_over = files.PDF + b"0" * (LIMIT * 8)  # cut off before the view: the 413 page
    answer = _upload(web, f"/missions/{mission.id}/documents", "huge.pdf", far_over)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 413 and f'lang="{language}"' in page and 'data-testid="document-refused"' not in page
    with docs_app.test_request_context(), force_locale(language):
        assert gettext("The file is too large.") in page
    assert _count(s, Document) == 0 and _stored(docs_app) == []
    assert owner.id


def test_documents_on_a_mission_and_a_meeting_are_listed_on_their_pages(docs_app: Any, s: Session, web: Any) -> None:
    make_user(s, email="leila@jisr.example", language="en")
    mission = create_mission(s, name="Silicon Valley 2026", starts_on=date(2026, 12, 10), ends_on=date(2026, 12, 20))
    meeting = log_meeting(
        s, title="Nimbus", starts_local=datetime(2026, 12, 11, 10), timezone="America/Chicago", mission_id=mission.id
    )
    s.commit()
    login(web, "leila@jisr.example")
    assert _upload(web, f"/missions/{mission.id}/documents", "programme.pdf", files.PDF).status_code == 302
    assert _upload(web, f"/meetings/{meeting.id}/documents", "slides.pptx", files.PDF).status_code == 400
    assert _upload(web, f"/meetings/{meeting.id}/documents", "agenda.txt", files.TEXT).status_code == 302
    assert "programme.pdf" in web.get(f"/missions/{mission.id}").get_data(as_text=True)
    assert "agenda.txt" in web.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    listed = web.get(f"/missions/{mission.id}").get_data(as_text=True)
    meetings_part = listed.split('data-testid="meeting-documents"', 1)[1]
    assert "agenda.txt" in meetings_part and "Nimbus" in meetings_part and "programme.pdf" not in meetings_part
    assert web.post("/missions/999999/documents").status_code == 404
    events = s.exec(select(Event).where(Event.type == "document.added")).all()
    assert {(e.payload["owner_type"], e.lead_id) for e in events} == {("mission", None), ("meeting", None)}


def test_a_removed_documents_file_goes_once_the_removal_is_committed(docs_app: Any, s: Session, web: Any) -> None:
    owner = make_user(s, email="leila@jisr.example", language="en")
    lead = make_lead(s, owner=owner)
    kept = add_document(s, lead, file_name="kept.pdf", content=io.BytesIO(files.PDF), actor=owner)
    gone = add_document(s, lead, file_name="gone.pdf", content=io.BytesIO(files.PDF), actor=owner)
    s.commit()
    relay_and_consume(s)
    login(web, "leila@jisr.example")
    assert web.post(f"/documents/{gone.id}/delete").status_code == 302
    assert len(_stored(docs_app)) == 2  # the file waits for the consumer
    assert relay_and_consume(s) > 0
    assert [p.name for p in _stored(docs_app)] == [kept.storage_key.rsplit("/", 1)[1]]
    event = s.exec(select(Event).where(Event.type == "document.removed")).one()
    assert event.lead_id == lead.id and event.payload["file_name"] == "gone.pdf"
    assert "deleted the document" in web.get(f"/leads/{lead.id}").get_data(as_text=True)


def test_deleting_a_lead_deletes_its_documents_and_then_their_files(docs_app: Any, s: Session) -> None:
    owner = make_user(s, language="en")
    lead, other = make_lead(s, owner=owner), make_lead(s, owner=owner)
    for name in ("a.pdf", "b.txt"):
        add_document(
            s, lead, file_name=name, content=io.BytesIO(files.TEXT if name.endswith("txt") else files.PDF), actor=owner
        )
    add_document(s, other, file_name="c.pdf", content=io.BytesIO(files.PDF), actor=owner)
    s.commit()
    relay_and_consume(s)
    assert len(_stored(docs_app)) == 3
    client = docs_app.test_client()
    login(client, owner.email)
    confirm = client.get(f"/leads/{lead.id}/delete").get_data(as_text=True)
    assert "2 documents (their files are deleted)" in confirm
    delete_lead(s, lead, actor=owner)
    s.commit()
    assert _count(s, Document) == 1
    relay_and_consume(s)
    (left,) = _stored(docs_app)
    assert left.parent.name == str(other.id)
    assert not (Path(docs_app.config["DOCUMENTS_PATH"]) / "lead" / str(lead.id)).exists()


def test_a_rolled_back_upload_leaves_no_file_and_an_orphan_is_swept(docs_app: Any, s: Session) -> None:
    lead = make_lead(s)
    s.commit()
    add_document(s, lead, file_name="draft.pdf", content=io.BytesIO(files.PDF), actor=None)
    assert len(_stored(docs_app)) == 1
    s.rollback()
    assert _stored(docs_app) == []

    store = storage()
    assert isinstance(store, FileSystemStorage)
    store.save(f"lead/{lead.id}/{'a' * 32}", io.BytesIO(b"written, then the process died"))
    add_document(s, lead, file_name="kept.pdf", content=io.BytesIO(files.PDF), actor=None)
    s.commit()
    assert sweep_orphans(s, store) == []  # too recent: an upload may be on its way
    assert sweep_orphans(s, store, grace=timedelta(0)) == [f"lead/{lead.id}/{'a' * 32}"]
    assert len(_stored(docs_app)) == 1 and _count(s, Document) == 1


def test_the_nightly_task_sweeps_orphans_and_is_on_beats_table(docs_app: Any, s: Session) -> None:
    from workers.documents import sweep_orphan_documents
    from workers.schedule import BEAT_SCHEDULE

    lead = make_lead(s)
    s.commit()
    orphan = Path(docs_app.config["DOCUMENTS_PATH"]) / "lead" / str(lead.id) / ("b" * 32)
    storage().save(f"lead/{lead.id}/{'b' * 32}", io.BytesIO(b"no row"))
    old = (datetime.now() - timedelta(days=2)).timestamp()
    os.utime(orphan, (old, old))
    assert sweep_orphan_documents.run() == 1 and not orphan.exists()
    assert "crm.documents.sweep_orphans" in {job["task"] for job in BEAT_SCHEDULE.values()}


def test_the_api_lists_a_leads_documents_to_those_who_see_the_lead(docs_app: Any, s: Session, web: Any) -> None:
    owner, other = make_user(s), make_user(s)
    lead = make_lead(s, owner=owner, confidential=True)
    add_document(s, lead, file_name="Term sheet.pdf", content=io.BytesIO(files.PDF), actor=owner)
    s.commit()
    listed = web.get(f"/api/v1/leads/{lead.id}/documents", headers=bearer(make_token(s, owner, "read")))
    assert listed.status_code == 200
    (item,) = listed.get_json()["items"]
    assert (item["file_name"], item["content_type"], item["size"]) == (
        "Term sheet.pdf",
        "application/pdf",
        len(files.PDF),
    )
    hidden = web.get(f"/api/v1/leads/{lead.id}/documents", headers=bearer(make_token(s, other, "read")))
    assert hidden.status_code == 404


def test_uploads_may_be_larger_than_other_requests_even_with_the_csrf_check(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CSRF check reads the body before any view: the documents' limit applies first."""
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_test_app(
        database_url,
        WTF_CSRF_ENABLED=True,
        MAX_CONTENT_LENGTH=8 * 1024,
        DOCUMENTS_PATH=str(tmp_path / "store"),
        DOCUMENT_MAX_BYTES=LIMIT,
    )
    client = app.test_client()
    with app.app_context():
        owner = make_user(db.session, email="leila@jisr.example", language="en")
        lead_id = make_lead(db.session, owner=owner).id
        db.session.commit()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert token is not None
    login_form = {"email": "leila@jisr.example", "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=login_form).status_code == 302
    page = client.get(f"/leads/{lead_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    content = files.TEXT * 1000  # over the 8 KB of other requests, under the 64 KB of documents
    answer = client.post(
        f"/leads/{lead_id}/documents",
        data={"csrf_token": token.group(1), "file": (io.BytesIO(content), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    big_note = {"csrf_token": token.group(1), "activity-kind": "note", "activity-body": "x" * 10_000}
    assert client.post(f"/leads/{lead_id}/activities", data=big_note).status_code == 413
    with app.app_context():
        assert _count(db.session, Document) == 1
    app.extensions["jisr.db"][0].dispose()
