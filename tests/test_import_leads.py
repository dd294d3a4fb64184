"""Importing leads: a 10,000-row file in mixed Arabic, French and English through the pages
(upload, mapping, preview, confirm, revert), one transaction, and set-based matching."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from crm.core.errors import ValidationError
from crm.core.events import Event
from crm.core.i18n import lazy_gettext as _l
from crm.exchange.models import DataImport, ImportRow, ImportStatus, RowAction
from crm.leads.models import Lead, PartnershipType, Stage
from tests.exchange_helpers import MOROCCAN, TITLES, US_FIRMS, csv_bytes, mixed_leads_file, seed_mission_organisations
from tests.factories import make_lead, make_user
from tests.test_web import count_queries
from tests.web_helpers import login


def count(session: Session, model: Any, *conditions: Any) -> int:
    session.rollback()
    return int(session.exec(select(func.count()).select_from(model).where(*conditions)).one())


def events_of(session: Session, type_: str) -> int:
    return count(session, Event, Event.type == type_)


def upload(client: Any, content: bytes, kind: str = "leads", filename: str = "leads.csv") -> Any:
    return client.post(
        "/imports", data={"kind": kind, "file": (io.BytesIO(content), filename)}, content_type="multipart/form-data"
    )


def suggested_mapping(page: str) -> list[str]:
    """The field chosen in each column's select of the mapping page ("" when none)."""
    selects = re.findall(r'<select[^>]*name="mapping"[^>]*>(.*?)</select>', page, re.S)
    found = []
    for options in selects:
        chosen = re.search(r'<option value="([a-z_]*)" selected', options)
        found.append(chosen.group(1) if chosen else "")
    return found


def upload_and_map(client: Any, content: bytes, kind: str = "leads", filename: str = "leads.csv") -> int:
    response = upload(client, content, kind, filename)
    assert response.status_code == 302, response.get_data(as_text=True)
    mapping_url = response.headers["Location"]
    import_id = int(mapping_url.split("/")[2])
    mapping = suggested_mapping(client.get(mapping_url).get_data(as_text=True))
    assert client.post(mapping_url, data={"mapping": mapping}).status_code == 302
    return import_id


def test_ten_thousand_mixed_rows_preview_then_one_transaction_then_revert(
    app: Any, session: Session, client: Any
) -> None:
    app.config["IMPORT_INLINE_ROWS"] = 20_000  # run it in the request: the worker has its own test
    officer = make_user(session, email="officer@jisr.example", language="en")
    other = make_user(session)
    moroccan, american = seed_mission_organisations(session)
    # Twenty leads already in Jisr that the file updates (same title between the same two
    # organisations), and another officer's confidential lead that it must not touch.
    updated = {}
    for n in range(1, 41, 2):
        updated[n] = make_lead(
            session,
            owner=officer,
            title=TITLES[n % len(TITLES)].format(n=n),
            ma_organisation_id=moroccan[n % len(MOROCCAN)].id,
            us_organisation_id=american[n % len(US_FIRMS)].id,
            partnership_type=PartnershipType.CAPACITY_BUILDING,
        ).id
    secret = make_lead(
        session,
        owner=other,
        confidential=True,
        title=TITLES[42 % len(TITLES)].format(n=42),
        ma_organisation_id=moroccan[42 % len(MOROCCAN)].id,
        us_organisation_id=american[42 % len(US_FIRMS)].id,
        partnership_type=PartnershipType.CAPACITY_BUILDING,
    )
    session.commit()
    before = {"leads": count(session, Lead), "events": count(session, Event, col(Event.type).startswith("lead."))}
    leads_file = mixed_leads_file(10_000, bad_count=50)
    assert len(leads_file.bad) == 50
    login(client, "officer@jisr.example")

    import_id = upload_and_map(client, leads_file.content)
    preview = client.get(f"/imports/{import_id}/preview?show=problems").get_data(as_text=True)
    assert 'data-count="create">9,930<' in preview
    assert 'data-count="update">20<' in preview
    assert 'data-count="error">50<' in preview
    shown = dict(re.findall(r'data-row="(\d+)" data-action="error">(.*?)</tr>', preview, re.S))
    assert {int(n) for n in shown} == set(leads_file.bad)
    for number, words in leads_file.bad.items():
        assert words in shown[str(number)], (number, shown[str(number)])
    # Nothing is written before the import is confirmed.
    assert count(session, Lead) == before["leads"]
    assert count(session, Event, col(Event.type).startswith("lead.")) == before["events"]

    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    data_import = session.get(DataImport, import_id)
    assert data_import.status == ImportStatus.COMPLETED
    assert (data_import.created_count, data_import.updated_count, data_import.error_count) == (9930, 20, 50)
    assert count(session, Lead) == before["leads"] + 9930
    assert events_of(session, "lead.created") == len(updated) + 1 + 9930
    assert events_of(session, "import.completed") == 1
    lead = session.get(Lead, updated[1])
    assert (lead.partnership_type, lead.stage) == (PartnershipType.TECHNOLOGY_PARTNERSHIP, Stage.CONTACTED)
    session.refresh(secret)
    assert secret.partnership_type == PartnershipType.CAPACITY_BUILDING  # a new lead was made for row 44
    arabic = session.exec(select(Lead).where(Lead.title == TITLES[1].format(n=7))).one()
    assert arabic.ma_organisation_id == moroccan[7 % 5].id and arabic.estimated_value is not None
    results = client.get(f"/imports/{import_id}?show=problems").get_data(as_text=True)
    assert results.count('data-action="error"') == 50

    revert_page = client.get(f"/imports/{import_id}/revert").get_data(as_text=True)
    assert "9930 records it created will be deleted" in revert_page
    assert "20 records it updated will get their previous values back" in revert_page
    assert client.post(f"/imports/{import_id}/revert").status_code == 302
    assert count(session, Lead) == before["leads"]
    assert events_of(session, "lead.deleted") == 9930
    for lead_id in updated.values():
        lead = session.get(Lead, lead_id)
        assert (lead.partnership_type, lead.stage) == (PartnershipType.CAPACITY_BUILDING, Stage.IDENTIFIED)
    assert session.get(DataImport, import_id).status == ImportStatus.REVERTED
    assert events_of(session, "import.reverted") == 1


def test_an_operation_refusing_a_row_rolls_the_whole_import_back(
    app: Any, session: Session, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the data changed between the plan and the write and an operation refuses row 602 (in
    the second batch), the 600 rows before it are not kept: the import fails, names the row,
    and can be retried."""
    import crm.exchange.plan_leads as plan_leads

    app.config["IMPORT_INLINE_ROWS"] = 20_000
    make_user(session, email="officer@jisr.example", language="en")
    seed_mission_organisations(session)
    session.commit()
    leads_file = mixed_leads_file(700)
    refused = TITLES[600 % len(TITLES)].format(n=600)

    def refuse(title: str) -> None:
        if title == refused:
            raise ValidationError.single("title", _l("This field is required."))

    real_one, real_many = plan_leads.create_lead, plan_leads.create_leads
    monkeypatch.setattr(plan_leads, "create_lead", lambda s, **kw: (refuse(kw["title"]), real_one(s, **kw))[1])
    monkeypatch.setattr(
        plan_leads,
        "create_leads",
        lambda s, items, actor: ([refuse(i["title"]) for i in items], real_many(s, items, actor=actor))[1],
    )
    login(client, "officer@jisr.example")
    import_id = upload_and_map(client, leads_file.content)
    client.post(f"/imports/{import_id}/confirm")
    data_import = session.get(DataImport, import_id)
    assert data_import.status == ImportStatus.FAILED
    assert count(session, Lead) == 0
    assert events_of(session, "lead.created") == 0
    assert count(session, ImportRow) == 0
    page = client.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "Row 602: \u2068Titre\u2069: This field is required." in page  # the file's header, isolated
    monkeypatch.undo()
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    assert session.get(DataImport, import_id).status == ImportStatus.COMPLETED
    assert count(session, Lead) == 700


def test_preview_reads_with_a_fixed_number_of_queries_whatever_the_rows(
    app: Any, session: Session, client: Any
) -> None:
    make_user(session, email="officer@jisr.example", language="en")
    seed_mission_organisations(session)
    session.commit()
    login(client, "officer@jisr.example")
    small = upload_and_map(client, mixed_leads_file(40, bad_count=5).content)
    large = upload_and_map(client, mixed_leads_file(400, bad_count=5).content)
    with count_queries(app) as few:
        assert client.get(f"/imports/{small}/preview").status_code == 200
    with count_queries(app) as many:
        assert client.get(f"/imports/{large}/preview").status_code == 200
    assert len(many) == len(few)


def test_one_moroccan_organisation_under_its_acronym_french_and_arabic_names(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    make_user(session, name="Sara Amrani")
    make_user(session, name="Sara Amrani")
    moroccan, _ = seed_mission_organisations(session)
    session.commit()
    rows = [
        ["العنوان", "المؤسسة المغربية", "الشركة الأمريكية", "نوع الشراكة", "المسؤول"],
        ["Cloud souverain", "ADD", "Oracle", "Investissement", officer.email.upper()],
        ["Academy", "Agence de Developpement du Digital", "Microsoft", "Training and skills", ""],
        ["مركز البيانات", "وكاله التنميه الرقميه", "Cisco", "استثمار", "Sara Amrani"],
    ]
    login(client, "officer@jisr.example")
    import_id = upload_and_map(client, csv_bytes(rows))
    preview = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
    assert 'data-count="create">2<' in preview and 'data-count="error">1<' in preview
    assert "Sara Amrani" in re.search(r'data-row="4".*?</tr>', preview, re.S).group(0)
    client.post(f"/imports/{import_id}/confirm")
    leads = session.exec(select(Lead).order_by(col(Lead.id))).all()
    assert [lead.ma_organisation_id for lead in leads] == [moroccan[1].id, moroccan[1].id]
    assert all(lead.owner_id == officer.id for lead in leads)


def test_an_exported_lead_list_imports_back_unchanged(session: Session, client: Any) -> None:
    """Export headers and values (labels, names, the formula guard) are what an import reads."""
    officer = make_user(session, email="officer@jisr.example", language="ar")
    moroccan, american = seed_mission_organisations(session)
    for n, title in enumerate(("=SUM(A1:A3)", "نقل السحابة", "Cybersécurité")):
        make_lead(
            session,
            owner=officer,
            title=title,
            ma_organisation_id=moroccan[n].id,
            us_organisation_id=american[n].id,
            estimated_value="250000.50",
            currency="MAD",
            confidential=n == 1,
        )
    session.commit()
    login(client, "officer@jisr.example")
    exported = client.get("/leads/export?format=csv").data
    import_id = upload_and_map(client, exported)
    preview = client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True)
    assert 'data-count="unchanged">3<' in preview, preview


def test_a_lead_cannot_be_moved_to_another_mission_than_its_meetings(session: Session) -> None:
    from datetime import date, datetime

    from crm.exchange.operations import map_import_columns, upload_import
    from crm.exchange.queries import plan_import
    from crm.missions.operations import create_mission, log_meeting

    officer = make_user(session, language="en")
    houston = create_mission(session, name="Houston 2024", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 15))
    create_mission(session, name="Silicon Valley 2024", starts_on=date(2024, 2, 16), ends_on=date(2024, 2, 21))
    session.flush()
    meeting = log_meeting(
        session,
        title="Oracle",
        starts_local=datetime(2024, 2, 12, 10),
        timezone="America/Chicago",
        mission_id=houston.id,
    )
    session.flush()
    lead = make_lead(session, owner=officer, meeting_id=meeting.id)
    session.commit()
    content = csv_bytes([["ID", "Mission"], [str(lead.id), "Silicon Valley 2024"], [str(lead.id + 1), "Houston 2024"]])
    data_import = upload_import(session, kind="leads", filename="missions.csv", content=content, actor=officer)
    map_import_columns(session, data_import, mapping=data_import.mapping, actor=officer)
    plans = plan_import(session, data_import, officer)
    assert [p.action for p in plans] == [RowAction.ERROR, RowAction.ERROR]
    assert plans[0].problems[0].msgid == "This meeting belongs to another mission."
    assert plans[1].problems[0].msgid.startswith("There is no lead with the ID")
