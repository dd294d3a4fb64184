"""Exports of the lead list (its filters and the viewer's visibility), the organisations and
the contacts: CSV that Excel reads in Arabic, XLSX, the reader's language and time zone,
formula injection neutralised, and a fixed number of queries."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
import time_machine
from sqlmodel import Session

from crm.accounts.models import Role
from crm.leads.models import Stage
from crm.leads.operations import add_watcher, move_lead_to_stage
from crm.organisations.operations import create_contact
from tests.factories import make_lead, make_organisation, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

INJECTION = '=HYPERLINK("http://x","y")'


def csv_rows(response: Any) -> list[list[str]]:
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 (and so Arabic) only with the mark
    return list(csv.reader(io.StringIO(text[1:])))


def workbook(response: Any) -> Any:
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def test_a_formula_in_a_title_is_text_in_csv_and_in_xlsx(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="en")
    make_lead(session, owner=officer, title=INJECTION, description="+1 dial\t@SUM(A1)")
    for start in ("+cmd", "-2+3", "@SUM(1+1)"):  # a leading tab or CR never reaches a title: it is stripped
        make_lead(session, owner=officer, title=f"{start} lead")
    session.commit()
    login(client, "officer@jisr.example")

    response = client.get("/leads/export?format=csv&sort=title&order=asc")
    raw = response.data.decode("utf-8")
    assert '\'=HYPERLINK(""http://x"",""y"")' in raw
    rows = csv_rows(response)
    titles = [row[1] for row in rows[1:]]
    assert f"'{INJECTION}" in titles
    assert all(t.startswith("'") for t in titles), titles
    description = rows[0].index("Description")
    assert next(r for r in rows if r[1] == f"'{INJECTION}")[description] == "'+1 dial\t@SUM(A1)"

    sheet = workbook(client.get("/leads/export?format=xlsx&sort=title&order=asc"))
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    for cell in cells:
        assert cell.data_type == "s"
        assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value
    assert f"'{INJECTION}" in [cell.value for cell in cells]


def test_cells_starting_with_a_tab_or_a_carriage_return_are_neutralised_too() -> None:
    from crm.exchange.writing import csv_chunks, xlsx_bytes

    values = ["\tcmd", "\r=1+1", "=1+1", "+212612345678", "-5", "@A1", "plain", "Agence - Maroc"]
    text = "".join(csv_chunks(["Value"], [[v] for v in values], language="en"))
    read = [row[0] for row in csv.reader(io.StringIO(text[1:], newline=""))][1:]
    assert read == ["'\tcmd", "'\r=1+1", "'=1+1", "'+212612345678", "'-5", "'@A1", "plain", "Agence - Maroc"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes("Values", ["Value"], [[v] for v in values]))).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells)
    assert [cell.value for cell in cells] == [v.replace("\r", "\n") for v in read]  # XML keeps no bare CR


def test_lead_export_is_in_the_readers_language_and_time_zone(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="ar", timezone="America/Los_Angeles")
    ma = make_organisation(session, "MA", name_ar="وكالة التنمية الرقمية", acronym="ADD")
    us = make_organisation(session, "US", name_en="Oracle")
    with time_machine.travel(datetime(2026, 12, 1, 3, 30, tzinfo=UTC), tick=False):
        lead = make_lead(
            session,
            owner=officer,
            title="نقل السحابة",
            ma_organisation_id=ma.id,
            us_organisation_id=us.id,
            estimated_value="1250000.5",
            currency="MAD",
            confidential=True,
        )
        move_lead_to_stage(session, lead, Stage.PROPOSAL)
        session.commit()
        login(client, "officer@jisr.example")
        response = client.get("/leads/export?format=csv")
        workbook = client.get("/leads/export?format=xlsx").data  # within the session's lifetime
    assert response.headers["Content-Disposition"] == 'attachment; filename="jisr-leads-2026-11-30.csv"'
    header, row = csv_rows(response)
    assert header[:6] == ["المعرف", "عنوان الفرصة", "المؤسسة المغربية", "المؤسسة الأمريكية", "نوع الشراكة", "المرحلة"]
    values = dict(zip(header, row, strict=True))
    assert values["عنوان الفرصة"] == "نقل السحابة"
    assert values["المؤسسة المغربية"] == "ADD"
    assert values["المرحلة"] == "مقترح"
    assert values["نوع الشراكة"] == "شراكة تكنولوجية"
    assert values["القيمة التقديرية"] == "1250000,50" and values["العملة"] == "MAD"
    assert values["سرية"] == "نعم"
    assert values["تاريخ الإنشاء"] == "2026-11-30 19:30"  # 03:30 UTC is the evening before in Los Angeles
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    assert sheet.sheet_view.rightToLeft
    created = [c.value for c in sheet[1]].index("تاريخ الإنشاء")
    assert sheet.cell(row=2, column=created + 1).value == datetime(2026, 11, 30, 19, 30)
    value = [c.value for c in sheet[1]].index("القيمة التقديرية")
    assert float(sheet.cell(row=2, column=value + 1).value) == 1250000.5


def test_lead_export_has_exactly_the_lists_filters_and_order(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    for title, stage in (("Bêta", Stage.PROPOSAL), ("alpha", Stage.PROPOSAL), ("Gamma", Stage.CONTACTED)):
        lead = make_lead(session, owner=officer, title=title)
        move_lead_to_stage(session, lead, stage)
    make_lead(session, title="Someone else's")
    session.commit()
    login(client, "officer@jisr.example")
    query = "stage=proposal&owner=me&sort=title&order=asc"
    listed = client.get(f"/leads?{query}").get_data(as_text=True)
    carried = query.replace("owner=me", f"owner={officer.id}").replace("&", "&amp;")
    assert f"/leads/export?format=csv&amp;{carried}" in listed
    rows = csv_rows(client.get(f"/leads/export?format=csv&{query}"))
    assert [row[1] for row in rows[1:]] == ["alpha", "Bêta"]
    assert rows[1][5] == "Proposition"


def test_a_confidential_lead_never_leaks_into_another_officers_export(session: Session, client: Any) -> None:
    owner = make_user(session, email="owner@jisr.example")
    make_user(session, email="other@jisr.example")
    watcher = make_user(session, email="watcher@jisr.example")
    make_user(session, Role.ADMIN, email="admin@jisr.example")
    secret = make_lead(session, owner=owner, title="Secret deal", confidential=True)
    add_watcher(session, secret, watcher.id)
    make_lead(session, owner=owner, title="Open deal")
    session.commit()

    def exported(email: str, query: str = "") -> str:
        client.post("/logout")
        login(client, email)
        csv_text = client.get(f"/leads/export?format=csv{query}").get_data(as_text=True)
        sheet = workbook(client.get(f"/leads/export?format=xlsx{query}"))
        xlsx_text = " ".join(str(c.value) for row in sheet.iter_rows() for c in row)
        assert ("Secret deal" in csv_text) == ("Secret deal" in xlsx_text)
        return csv_text

    for query in ("", f"&owner={owner.id}", "&stage=identified", "&sort=value"):
        text = exported("other@jisr.example", query)
        assert "Secret deal" not in text and "Open deal" in text
    assert "Secret deal" in exported("owner@jisr.example")
    assert "Secret deal" in exported("watcher@jisr.example")
    assert "Secret deal" in exported("admin@jisr.example")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_needs_a_fixed_number_of_queries_whatever_the_number_of_leads(
    app: Any, session: Session, client: Any, file_format: str
) -> None:
    officer = make_user(session, email="officer@jisr.example")
    make_lead(session, owner=officer)
    session.commit()
    login(client, "officer@jisr.example")
    url = f"/leads/export?format={file_format}&sort=next_due"
    with count_queries(app) as few:
        response = client.get(url)
        assert response.status_code == 200 and response.data
    owners = [make_user(session) for _ in range(3)]
    ma, us = make_organisation(session, "MA"), make_organisation(session, "US")
    for n in range(40):
        make_lead(
            session,
            owner=owners[n % 3],
            ma_organisation_id=ma.id,
            us_organisation_id=us.id,
            confidential=n % 4 == 0,
            estimated_value="10",
            currency="USD",
        )
    session.commit()
    with count_queries(app) as many:
        response = client.get(url)
        assert response.status_code == 200
        if file_format == "csv":
            assert len(csv_rows(response)) == 1 + 31
    assert len(many) == len(few)


def test_organisations_and_contacts_exports(session: Session, client: Any) -> None:
    make_user(session, Role.VIEWER, email="viewer@jisr.example", language="fr")
    add = make_organisation(
        session,
        "MA",
        name_ar="وكالة التنمية الرقمية",
        name_fr="Agence de Développement du Digital",
        acronym="ADD",
        aliases=["Agence du Digital"],
    )
    make_organisation(session, "US", name_en="Oracle")
    create_contact(session, organisation_id=add.id, name="سارة العمراني", email="sara@add.gov.ma", phone="0612345678")
    session.commit()
    login(client, "viewer@jisr.example")  # exports are reading: viewers may export
    rows = csv_rows(client.get("/organisations/export?format=csv&country=MA"))
    assert rows[0][:5] == ["ID", "Nom en arabe", "Nom en français", "Nom en anglais", "Sigle"]
    assert len(rows) == 2 and rows[1][4] == "ADD" and rows[1][5] == "Agence du Digital" and rows[1][6] == "Maroc"
    sheet = workbook(client.get("/organisations/export?format=xlsx"))
    assert sheet.max_row == 3 and sheet.cell(row=1, column=2).data_type == "s"
    contacts = csv_rows(client.get(f"/contacts/export?format=csv&organisation={add.id}"))
    assert contacts[1][1:5] == ["سارة العمراني", "", "ADD", "sara@add.gov.ma"]
    assert contacts[1][5] == "'+212612345678"  # a leading + is neutralised too
    assert client.get("/contacts/export?format=pdf").status_code == 400
    page = client.get("/organisations?country=MA").get_data(as_text=True)
    assert "/organisations/export?format=csv&amp;country=MA" in page
