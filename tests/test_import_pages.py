"""The import pages: who may import and see an import, the limits, workbooks and their
sheets, the error report, the remembered mapping, organisations and contacts, and a
revert that keeps what changed since."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import openpyxl
from sqlmodel import Session, col, select

from crm.accounts.models import Role
from crm.exchange.models import DataImport, ImportFile, ImportStatus
from crm.leads.models import Lead, Stage
from crm.leads.operations import move_lead_to_stage
from crm.organisations.models import Contact, Country, Organisation
from crm.organisations.operations import create_contact
from tests.exchange_helpers import csv_bytes, seed_mission_organisations, xlsx_bytes
from tests.factories import make_lead, make_user
from tests.test_import_leads import count, suggested_mapping, upload, upload_and_map
from tests.web_helpers import login

LEAD_ROWS = [
    ["Title", "Moroccan organisation", "US organisation", "Partnership type", "Stage"],
    ["Cloud migration", "ADD", "Oracle", "pilot", "proposal"],
    ["Skills academy", "CGEM", "Microsoft", "Training and skills", ""],
    ["Broken", "Nobody", "Oracle", "pilot", ""],
]


def _setup(session: Session, language: str = "en") -> Any:
    officer = make_user(session, email="officer@jisr.example", language=language)
    seed_mission_organisations(session)
    session.commit()
    return officer


def test_viewers_cannot_import_and_see_no_import_link(session: Session, client: Any) -> None:
    make_user(session, Role.VIEWER, email="viewer@jisr.example")
    session.commit()
    login(client, "viewer@jisr.example")
    assert client.get("/imports").status_code == 403
    assert upload(client, csv_bytes(LEAD_ROWS)).status_code == 403
    assert count(session, DataImport) == 0
    assert 'data-testid="nav-imports"' not in client.get("/leads").get_data(as_text=True)


def test_an_import_is_seen_by_its_author_and_the_admins_only(session: Session, client: Any) -> None:
    _setup(session)
    make_user(session, email="other@jisr.example")
    make_user(session, Role.ADMIN, email="admin@jisr.example")
    session.commit()
    login(client, "officer@jisr.example")
    assert 'data-testid="nav-imports"' in client.get("/leads").get_data(as_text=True)
    import_id = upload_and_map(client, csv_bytes(LEAD_ROWS))
    client.post("/logout")
    login(client, "other@jisr.example")
    for url in ("", "/mapping", "/preview", "/status", "/errors", "/revert"):
        assert client.get(f"/imports/{import_id}{url}").status_code == 404, url
    assert client.post(f"/imports/{import_id}/confirm").status_code == 404
    assert f'data-import-id="{import_id}"' not in client.get("/imports").get_data(as_text=True)
    client.post("/logout")
    login(client, "admin@jisr.example")
    assert client.get(f"/imports/{import_id}/preview").status_code == 200
    assert f'data-import-id="{import_id}"' in client.get("/imports").get_data(as_text=True)


def test_a_file_over_the_size_limit_is_refused_with_413_and_a_message(app: Any, session: Session, client: Any) -> None:
    _setup(session, language="fr")
    app.config["IMPORT_MAX_BYTES"] = 2048
    login(client, "officer@jisr.example")
    response = upload(client, csv_bytes([["Titre"], *[[f"Piste numéro {n}"] for n in range(200)]]))
    assert response.status_code == 413
    assert "Le fichier dépasse 2 Ko" in response.get_data(as_text=True)
    assert count(session, DataImport) == 0


def test_too_many_rows_an_empty_file_and_no_file_are_refused_with_400(app: Any, session: Session, client: Any) -> None:
    _setup(session)
    app.config["IMPORT_MAX_ROWS"] = 5
    login(client, "officer@jisr.example")
    response = upload(client, csv_bytes([["Title"], *[[f"Lead {n}"] for n in range(6)]]))
    assert response.status_code == 400
    assert "The file has more than 5 rows: split it into smaller files." in response.get_data(as_text=True)
    assert upload(client, b"").status_code == 400
    assert upload(client, b"\n\n").status_code == 400
    response = client.post("/imports", data={"kind": "leads"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a file." in response.get_data(as_text=True)
    assert count(session, DataImport) == 0


def test_reading_a_file_with_an_unknown_encoding_says_which_choice_was_refused(session: Session, client: Any) -> None:
    _setup(session, language="fr")
    login(client, "officer@jisr.example")
    mapping_url = upload(client, csv_bytes(LEAD_ROWS)).headers["Location"]
    import_id = int(mapping_url.split("/")[2])
    response = client.post(f"/imports/{import_id}/reading", data={"encoding": "ebcdic", "delimiter": ";"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'name="encoding"[^>]*>.*?</select>\s*<div class="invalid-feedback">[^<]+</div>', page, re.S)
    assert 'name="delimiter"' in page and page.count("invalid-feedback") == 1


def test_a_workbook_sheet_is_chosen_then_imported_and_its_error_report_is_a_workbook(
    session: Session, client: Any
) -> None:
    _setup(session)
    content = xlsx_bytes(LEAD_ROWS, sheet="Leads", extra_sheets=("Read me",))
    login(client, "officer@jisr.example")
    response = upload(client, content, filename="../../etc/passwd.xlsx")
    mapping_url = response.headers["Location"]
    import_id = int(mapping_url.split("/")[2])
    assert session.get(DataImport, import_id).filename == "passwd.xlsx"
    page = client.get(mapping_url).get_data(as_text=True)
    assert '<option value="Leads">' in page
    client.post(f"/imports/{import_id}/reading", data={"sheet": "Leads"})
    mapping = suggested_mapping(client.get(mapping_url).get_data(as_text=True))
    assert mapping == ["title", "ma_organisation", "us_organisation", "partnership_type", "stage"]
    client.post(mapping_url, data={"mapping": mapping})
    report = client.get(f"/imports/{import_id}/errors")
    assert report.headers["Content-Disposition"] == f'attachment; filename="jisr-import-{import_id}-errors.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(report.data)).active
    assert [c.value for c in sheet[1]] == [*LEAD_ROWS[0], "Errors"]
    assert [c.value or "" for c in sheet[2]][:5] == LEAD_ROWS[3]
    assert "No organisation is called “\u2068Nobody\u2069”." in sheet[2][5].value
    assert sheet.max_row == 2
    client.post(f"/imports/{import_id}/confirm")
    titles = set(session.exec(select(Lead.title)).all())
    assert titles == {"Cloud migration", "Skills academy"}
    lead = session.exec(select(Lead).where(Lead.title == "Cloud migration")).one()
    assert lead.stage == Stage.PROPOSAL


def test_csv_error_report_keeps_the_separator_and_opens_in_excel(session: Session, client: Any) -> None:
    _setup(session, language="ar")
    login(client, "officer@jisr.example")
    import_id = upload_and_map(client, csv_bytes(LEAD_ROWS, delimiter=";", encoding="cp1256"))
    report = client.get(f"/imports/{import_id}/errors")
    text = report.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == [*LEAD_ROWS[0], "الأخطاء"]
    assert rows[1][:5] == LEAD_ROWS[3] and "Nobody" in rows[1][5]
    assert len(rows) == 2


def test_the_mapping_is_remembered_for_the_same_headers(session: Session, client: Any) -> None:
    _setup(session)
    login(client, "officer@jisr.example")
    rows = [["Projet", "Partenaire MA", "Partenaire US", "Nature"], ["Cloud", "ADD", "Oracle", "pilot"]]
    first = upload(client, csv_bytes(rows)).headers["Location"]
    assert suggested_mapping(client.get(first).get_data(as_text=True)) == ["", "", "", ""]
    chosen = ["title", "ma_organisation", "us_organisation", "partnership_type"]
    response = client.post(first, data={"mapping": chosen})
    assert response.status_code == 302
    again = upload(
        client, csv_bytes([["PROJET", "Partenaire ma", "Partenaire US", "Nature"], ["IA", "ADD", "Cisco", "pilot"]])
    )
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="mapping-remembered"' in page
    assert suggested_mapping(page) == chosen


def test_a_mapping_without_the_needed_columns_or_with_a_field_twice_is_refused(session: Session, client: Any) -> None:
    _setup(session)
    login(client, "officer@jisr.example")
    mapping_url = upload(client, csv_bytes(LEAD_ROWS)).headers["Location"]
    response = client.post(mapping_url, data={"mapping": ["", "ma_organisation", "", "", ""]})
    assert response.status_code == 400 and 'data-testid="mapping-errors"' in response.get_data(as_text=True)
    response = client.post(mapping_url, data={"mapping": ["title", "title", "", "", ""]})
    assert response.status_code == 400 and "Only one column can go to" in response.get_data(as_text=True)


def test_cancelling_an_import_deletes_its_file(session: Session, client: Any) -> None:
    _setup(session)
    login(client, "officer@jisr.example")
    import_id = upload_and_map(client, csv_bytes(LEAD_ROWS))
    assert client.post(f"/imports/{import_id}/cancel").status_code == 302
    assert session.get(DataImport, import_id).status == ImportStatus.CANCELLED
    assert session.get(ImportFile, import_id) is None
    assert client.get(f"/imports/{import_id}/errors").status_code == 302
    assert client.get(f"/imports/{import_id}").status_code == 200
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    assert session.get(DataImport, import_id).status == ImportStatus.CANCELLED and count(session, Lead) == 0


def test_revert_keeps_a_lead_changed_since_and_says_why(session: Session, client: Any) -> None:
    officer = _setup(session)
    login(client, "officer@jisr.example")
    import_id = upload_and_map(client, csv_bytes(LEAD_ROWS))
    client.post(f"/imports/{import_id}/confirm")
    moved = session.exec(select(Lead).where(Lead.title == "Skills academy")).one()
    move_lead_to_stage(session, moved, Stage.CONTACTED, actor=officer)
    session.commit()
    page = client.get(f"/imports/{import_id}/revert").get_data(as_text=True)
    assert 'data-testid="revert-refused"' in page
    assert "It was changed in Jisr after the import." in page
    client.post(f"/imports/{import_id}/revert")
    assert set(session.exec(select(Lead.title)).all()) == {"Skills academy"}
    data_import = session.get(DataImport, import_id)
    assert (data_import.status, data_import.reverted_count, data_import.kept_count) == (ImportStatus.REVERTED, 1, 1)
    results = client.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "Kept: It was changed in Jisr after the import." in results
    assert client.post(f"/imports/{import_id}/revert").status_code == 302  # a second revert changes nothing
    assert count(session, Lead) == 1


def test_organisations_are_matched_by_any_name_and_completed_not_overwritten(session: Session, client: Any) -> None:
    _setup(session)
    login(client, "officer@jisr.example")
    rows = [
        ["Sigle", "Nom", "Pays", "Type", "Site web", "Autres noms"],
        ["ADD", "Agence du Digital", "Maroc", "Agence", "www.add.gov.ma", ""],
        ["", "المديرية العامة لأمن نظم المعلومات", "", "", "", "Direction de la cybersécurité"],
        ["USTDA", "US Trade and Development Agency", "États-Unis", "US government agency", "", ""],
        ["", "وكالة التنمية الرقمية", "", "", "", ""],
        ["X", "Oracle", "Maroc", "", "", ""],
    ]
    import_id = upload_and_map(client, csv_bytes(rows), kind="organisations")
    preview = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
    assert 'data-count="create">1<' in preview and 'data-count="update">2<' in preview
    assert "The same organisation as row 2." in preview
    assert "In Jisr this organisation is in \u2068United States\u2069." in preview
    client.post(f"/imports/{import_id}/confirm")
    add = session.exec(select(Organisation).where(Organisation.acronym == "ADD")).one()
    assert add.name_fr == "Agence de Développement du Digital"  # kept
    assert "Agence du Digital" in add.aliases and add.website == "https://www.add.gov.ma"
    dgssi = session.exec(select(Organisation).where(Organisation.acronym == "DGSSI")).one()
    assert "Direction de la cybersécurité" in dgssi.aliases
    ustda = session.exec(select(Organisation).where(Organisation.acronym == "USTDA")).one()
    assert ustda.country == Country.US and ustda.name_en == "US Trade and Development Agency"
    # The new organisation gets a lead: the revert keeps it and restores the two others.
    make_lead(session, ma_organisation_id=add.id, us_organisation_id=ustda.id)
    session.commit()
    client.post(f"/imports/{import_id}/revert")
    session.refresh(add)
    session.refresh(dgssi)
    assert add.website is None and "Agence du Digital" not in add.aliases
    assert "Direction de la cybersécurité" not in dgssi.aliases
    assert session.get(Organisation, ustda.id) is not None
    assert "Other records now refer to it." in client.get(f"/imports/{import_id}").get_data(as_text=True)


def test_contacts_are_matched_by_email_and_updated(session: Session, client: Any) -> None:
    _setup(session)
    add = session.exec(select(Organisation).where(Organisation.acronym == "ADD")).one()
    create_contact(session, organisation_id=add.id, name="Sara Amrani", email="sara.amrani@add.gov.ma", title="SG")
    session.commit()
    rows = [
        ["Nom", "Fonction", "Organisme", "Courriel", "Téléphone", "Langue"],
        ["Sara Amrani", "Secrétaire générale", "", "Sara.Amrani@ADD.gov.ma", "06 12 34 56 78", "Arabe"],
        ["John Smith", "Regional manager", "Oracle", "john.smith@oracle.example", "+1 713 652 0300", ""],
        ["Nadia", "Cheffe de projet", "Inconnue", "nadia@example.ma", "", ""],
        ["Bad phone", "", "CGEM", "", "12", ""],
    ]
    login(client, "officer@jisr.example")
    import_id = upload_and_map(client, csv_bytes(rows), kind="contacts")
    preview = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
    assert 'data-count="create">1<' in preview and 'data-count="update">1<' in preview
    assert 'data-count="error">2<' in preview
    client.post(f"/imports/{import_id}/confirm")
    sara = session.exec(select(Contact).where(Contact.email == "sara.amrani@add.gov.ma")).one()
    assert (sara.title, sara.phone, sara.language.value) == ("Secrétaire générale", "+212612345678", "ar")
    john = session.exec(select(Contact).where(col(Contact.email) == "john.smith@oracle.example")).one()
    assert john.timezone == "America/New_York" and john.language.value == "en"
    assert re.search(r"Nadia.*No organisation is called", preview, re.S)
    client.post(f"/imports/{import_id}/revert")
    session.refresh(sara)
    assert (sara.title, sara.phone, sara.language.value) == ("SG", None, "fr")
    assert session.get(Contact, john.id) is None


def test_the_preview_pages_through_a_long_file(session: Session, client: Any) -> None:
    from tests.exchange_helpers import mixed_leads_file

    _setup(session)
    login(client, "officer@jisr.example")
    import_id = upload_and_map(client, mixed_leads_file(130).content)
    page = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
    assert len(re.findall(r'<tr data-row="', page)) == 100
    assert 'class="pagination flex-wrap pagination-sm"' in page and "Page 1 of 2" in page
    last = client.get(f"/imports/{import_id}/preview?show=all&page=2").get_data(as_text=True)
    assert re.findall(r'<tr data-row="(\d+)"', last)[0] == "102"  # row 1 is the header
    assert len(re.findall(r'<tr data-row="', last)) == 30
    beyond = client.get(f"/imports/{import_id}/preview?show=all&page=9").get_data(as_text=True)
    assert len(re.findall(r'<tr data-row="', beyond)) == 30 and "Page 2 of 2" in beyond
