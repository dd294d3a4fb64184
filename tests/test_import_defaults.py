"""Values for all rows: a leads file without a partnership type column is given one on the
mapping page (asked for there, not rejected row by row at the preview); a bad value is
refused with nothing written; the preview warns before most rows are left out and the
import then needs an explicit confirmation; the same in a worker-planned preview."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from crm.core.events import Event
from crm.exchange import jobs
from crm.exchange.models import DataImport, ImportStatus
from crm.leads.models import Lead, PartnershipType
from tests.exchange_helpers import csv_bytes, seed_mission_organisations
from tests.factories import make_user
from tests.test_import_leads import suggested_mapping, upload
from tests.web_helpers import login

HEADERS = ["Titre", "Organisme marocain", "Entreprise américaine"]
ROWS = [
    ["Cloud souverain", "ADD", "Oracle"],
    ["Formation cybersécurité", "DGSSI", "Cisco"],
    ["Pilote IA", "MTNRA", "Microsoft"],
]
SAID = {
    "fr": {
        "field": "Type de partenariat",
        "asked": "Aucune colonne ne contient « Type de partenariat » : choisissez sa valeur pour toutes les lignes.",
        "bad": "Choix non valide pour « Type de partenariat ».",
        "note": "valeur pour toutes les lignes (par défaut)",
    },
    "ar": {
        "field": "نوع الشراكة",
        "asked": "لا يوجد عمود يحتوي على «نوع الشراكة»: اختر قيمته لكل الصفوف.",
        "bad": "اختيار غير صالح لـ«نوع الشراكة».",
        "note": "قيمة لكل الصفوف (افتراضية)",
    },
}


def text_of(page: str) -> str:
    """The page's text as read: entities decoded, direction marks and isolates left out."""
    return re.sub("[\u200e\u200f\u2066-\u2069]", "", html.unescape(page))


def start(session: Session, client: Any, rows: list[list[str]], language: str = "fr") -> tuple[int, list[str]]:
    """An officer uploads ``rows``: the import's id and the suggested mapping."""
    make_user(session, email="officer@jisr.example", language=language)
    seed_mission_organisations(session)
    session.commit()
    login(client, "officer@jisr.example")
    response = upload(client, csv_bytes([HEADERS, *rows]), filename="pistes.csv")
    assert response.status_code == 302
    import_id = int(response.headers["Location"].split("/")[2])
    mapping = suggested_mapping(client.get(f"/imports/{import_id}/mapping").get_data(as_text=True))
    assert mapping == ["title", "ma_organisation", "us_organisation"]
    return import_id, mapping


def events(session: Session, import_id: int, kind: str) -> list[Event]:
    session.expire_all()
    return list(
        session.exec(
            select(Event).where(Event.type == kind, Event.entity_id == import_id).order_by(col(Event.id))
        ).all()
    )


def counts_of(preview: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', preview)}


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_a_missing_column_is_asked_for_and_its_default_fills_every_row(
    session: Session, client: Any, language: str
) -> None:
    import_id, mapping = start(session, client, ROWS, language)
    page = text_of(client.get(f"/imports/{import_id}/mapping").get_data(as_text=True))
    # The mapping page asks before any preview: the field in the reader's language, its values offered.
    assert 'name="default-partnership_type"' in page and SAID[language]["field"] in page
    assert SAID[language]["asked"] in page
    assert 'value="training_and_skills"' in page
    response = client.post(
        f"/imports/{import_id}/mapping", data={"mapping": mapping, "default-partnership_type": "training_and_skills"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/imports/{import_id}/preview")
    preview = text_of(client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True))
    assert counts_of(preview) == {"create": 3, "update": 0, "unchanged": 0, "error": 0}
    assert preview.count(SAID[language]["note"]) == 3  # each row says its value is the default
    assert 'data-testid="preview-defaults"' in preview and 'data-testid="rejection-warning"' not in preview
    [mapped] = events(session, import_id, "import.mapped")
    assert mapped.payload["defaults"] == {"partnership_type": "training_and_skills"}
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    leads = session.exec(select(Lead).order_by(col(Lead.id))).all()
    assert [lead.title for lead in leads] == [row[0] for row in ROWS]
    assert {lead.partnership_type for lead in leads} == {PartnershipType.TRAINING_AND_SKILLS}


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_without_a_default_the_mapping_page_asks_again_and_nothing_is_written(
    session: Session, client: Any, language: str
) -> None:
    import_id, mapping = start(session, client, ROWS, language)
    before = session.exec(select(func.count()).select_from(Event)).one()
    response = client.post(f"/imports/{import_id}/mapping", data={"mapping": mapping})
    assert response.status_code == 400  # the columns page again, not a preview of rejections
    page = text_of(response.get_data(as_text=True))
    assert 'data-testid="mapping-form"' in page and 'data-testid="preview-counts"' not in page
    assert SAID[language]["asked"] in page and 'id="default-partnership_type-help"' in page
    session.expire_all()
    data_import = session.get(DataImport, import_id)
    assert data_import is not None and data_import.status == ImportStatus.UPLOADED and data_import.defaults == {}
    assert session.exec(select(func.count()).select_from(Event)).one() == before


@pytest.mark.parametrize("language", ["fr", "ar"])
@pytest.mark.parametrize("value", ["joint_venture", "<script>", "training and skills"])
def test_a_value_the_field_does_not_allow_is_refused(session: Session, client: Any, language: str, value: str) -> None:
    import_id, mapping = start(session, client, ROWS, language)
    before = session.exec(select(func.count()).select_from(Event)).one()
    data = {"mapping": mapping, "default-partnership_type": value}
    response = client.post(f"/imports/{import_id}/mapping", data=data)
    assert response.status_code == 400
    page = text_of(response.get_data(as_text=True))
    assert SAID[language]["bad"] in page and "<script>" not in response.get_data(as_text=True).split("<main")[1]
    session.expire_all()
    data_import = session.get(DataImport, import_id)
    assert data_import is not None and data_import.status == ImportStatus.UPLOADED and data_import.defaults == {}
    assert session.exec(select(func.count()).select_from(Event)).one() == before
    # An owner that is not a user who may own leads is refused the same way.
    response = client.post(
        f"/imports/{import_id}/mapping",
        data={"mapping": mapping, "default-partnership_type": "pilot", "default-owner": "nobody@jisr.example"},
    )
    assert response.status_code == 400


def test_an_empty_cell_of_a_new_lead_takes_the_default_and_a_column_value_wins(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example", language="en")
    colleague = make_user(session, email="colleague@jisr.example")
    seed_mission_organisations(session)
    session.commit()
    login(client, "officer@jisr.example")
    rows = [
        [*HEADERS, "Type de partenariat", "Étape"],
        ["Cloud souverain", "ADD", "Oracle", "Investissement", ""],
        ["Pilote IA", "MTNRA", "Microsoft", "", "Proposition"],
    ]
    response = upload(client, csv_bytes(rows), filename="pistes.csv")
    import_id = int(response.headers["Location"].split("/")[2])
    mapping = suggested_mapping(client.get(f"/imports/{import_id}/mapping").get_data(as_text=True))
    assert mapping[3:] == ["partnership_type", "stage"]
    data = {
        "mapping": mapping,
        "default-partnership_type": "pilot",
        "default-stage": "contacted",
        "default-owner": "colleague@jisr.example",
    }
    assert client.post(f"/imports/{import_id}/mapping", data=data).status_code == 302
    preview = client.get(f"/imports/{import_id}/preview").get_data(as_text=True)
    assert counts_of(preview)["create"] == 2
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    leads = {lead.title: lead for lead in session.exec(select(Lead)).all()}
    first, second = leads["Cloud souverain"], leads["Pilote IA"]
    assert (first.partnership_type.value, first.stage.value) == ("investment", "contacted")
    assert (second.partnership_type.value, second.stage.value) == ("pilot", "proposal")
    assert first.owner_id == second.owner_id == colleague.id
    [mapped] = events(session, import_id, "import.mapped")
    assert mapped.payload["defaults"] == {
        "partnership_type": "pilot",
        "stage": "contacted",
        "owner": "colleague@jisr.example",
    }


BAD_ROWS = [
    ["Cloud souverain", "ADD", "Oracle"],
    ["Formation", "Agence inconnue", "Cisco"],
    ["Pilote", "Agence inconnue", "Microsoft"],
    ["Données", "ADD", "Entreprise inconnue"],
]


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_preview_warns_before_most_rows_are_left_out_and_confirming_needs_a_tick(
    session: Session, client: Any, language: str
) -> None:
    import_id, mapping = start(session, client, BAD_ROWS, language)
    data = {"mapping": mapping, "default-partnership_type": "pilot"}
    assert client.post(f"/imports/{import_id}/mapping", data=data).status_code == 302
    preview = text_of(client.get(f"/imports/{import_id}/preview").get_data(as_text=True))
    warning = preview[preview.index('data-testid="rejection-warning"') :].split("</div>")[0]
    said = {
        "fr": ("3 lignes sur 4 seraient rejetées.", "Aucune organisation ne s'appelle", "(2 lignes)", "Vérifier"),
        "ar": ("سيُرفض 3 صفوف من أصل 4.", "لا توجد مؤسسة باسم", "(صفان)", "تحقّق"),
    }[language]
    for words in said:
        assert words in warning, (words, warning)
    assert 'name="accept_rejections"' in preview and " required" in preview
    # Confirming without the tick: the preview again, with its error, and nothing imported.
    response = client.post(f"/imports/{import_id}/confirm")
    assert response.status_code == 400 and 'id="accept-rejections-error"' in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(DataImport, import_id).status == ImportStatus.MAPPED  # type: ignore[union-attr]
    assert session.exec(select(func.count()).select_from(Lead)).one() == 0
    assert client.post(f"/imports/{import_id}/confirm", data={"accept_rejections": "1"}).status_code == 302
    session.expire_all()
    assert session.get(DataImport, import_id).status == ImportStatus.COMPLETED  # type: ignore[union-attr]
    assert session.exec(select(func.count()).select_from(Lead)).one() == 1


def test_half_the_rows_left_out_is_not_most_of_them(session: Session, client: Any) -> None:
    import_id, mapping = start(session, client, BAD_ROWS[:2], "en")
    data = {"mapping": mapping, "default-partnership_type": "pilot"}
    assert client.post(f"/imports/{import_id}/mapping", data=data).status_code == 302
    preview = client.get(f"/imports/{import_id}/preview").get_data(as_text=True)
    assert counts_of(preview)["error"] == 1 and 'data-testid="rejection-warning"' not in preview
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302


def test_a_preview_planned_by_a_worker_uses_the_defaults_and_warns_the_same(
    app: Any, session: Session, client: Any
) -> None:
    app.config["IMPORT_INLINE_ROWS"] = 2
    import_id, mapping = start(session, client, ROWS + BAD_ROWS[1:3] + [["Données", "Agence inconnue", "Oracle"]])
    data = {"mapping": mapping, "default-partnership_type": "investment"}
    assert client.post(f"/imports/{import_id}/mapping", data=data).status_code == 302
    session.expire_all()
    data_import = session.get(DataImport, import_id)
    assert data_import is not None and data_import.status == ImportStatus.PLANNING
    assert data_import.defaults == {"partnership_type": "investment"}
    assert jobs.execute_planning(session, import_id, data_import.task_id or "") == ImportStatus.MAPPED
    preview = text_of(client.get(f"/imports/{import_id}/preview?show=all").get_data(as_text=True))
    assert counts_of(preview) == {"create": 3, "update": 0, "unchanged": 0, "error": 3}
    assert preview.count(SAID["fr"]["note"]) == 6  # the rows left out say it too
    assert 'data-testid="rejection-warning"' not in preview  # three of six: not more than half
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    assert jobs.execute_import(session, import_id) == ImportStatus.COMPLETED
    session.expire_all()
    leads = session.exec(select(Lead)).all()
    assert len(leads) == 3 and {lead.partnership_type for lead in leads} == {PartnershipType.INVESTMENT}


def test_a_worker_planned_preview_of_mostly_rejected_rows_warns_from_the_stored_plan(
    app: Any, session: Session, client: Any
) -> None:
    app.config["IMPORT_INLINE_ROWS"] = 2
    import_id, mapping = start(session, client, BAD_ROWS)
    data = {"mapping": mapping, "default-partnership_type": "pilot"}
    assert client.post(f"/imports/{import_id}/mapping", data=data).status_code == 302
    session.expire_all()
    task_id = session.get(DataImport, import_id).task_id  # type: ignore[union-attr]
    assert jobs.execute_planning(session, import_id, task_id or "") == ImportStatus.MAPPED
    preview = text_of(client.get(f"/imports/{import_id}/preview").get_data(as_text=True))
    assert "3 lignes sur 4 seraient rejetées." in preview and "(2 lignes)" in preview
    assert client.post(f"/imports/{import_id}/confirm").status_code == 400
    assert client.post(f"/imports/{import_id}/confirm", data={"accept_rejections": "1"}).status_code == 302
    session.expire_all()
    assert session.get(DataImport, import_id).status == ImportStatus.QUEUED  # type: ignore[union-attr]


def test_the_owner_for_all_rows_is_typed_for_and_any_officer_may_be_chosen(
    session: Session, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner is a type-ahead picker (officers by name or address): the page holds only
    the first officers, yet one beyond them is accepted, shown when chosen, and owns the rows."""
    from crm.exchange import defaults

    monkeypatch.setattr(defaults, "OWNER_CHOICES", 1)
    import_id, mapping = start(session, client, ROWS)
    far = make_user(session, email="zineb.officer@jisr.example", name="Zineb Tazi")
    make_user(session, role="viewer", email="viewer@jisr.example", name="Zakaria Viewer")
    session.commit()
    page = client.get(f"/imports/{import_id}/mapping").get_data(as_text=True)
    owner = re.search(r'<select[^>]*name="default-owner"[^>]*>(.*?)</select>', page, re.S)
    assert owner and 'data-picker="officer_emails"' in owner.group(0)
    assert "zineb.officer@jisr.example" not in owner.group(1)  # beyond the first: found by typing
    found = client.get("/pickers/officer_emails?q=zineb").get_json()
    assert [o["value"] for o in found["results"]] == ["zineb.officer@jisr.example"]
    assert client.get("/pickers/officer_emails?q=zakaria").get_json()["results"] == []  # not an officer

    refused = client.post(
        f"/imports/{import_id}/mapping",
        data={"mapping": mapping, "default-partnership_type": "pilot", "default-owner": "viewer@jisr.example"},
    )
    assert refused.status_code == 400 and not events(session, import_id, "import.mapped")
    response = client.post(
        f"/imports/{import_id}/mapping",
        data={"mapping": mapping, "default-partnership_type": "pilot", "default-owner": far.email},
    )
    assert response.status_code == 302
    again = client.get(f"/imports/{import_id}/mapping").get_data(as_text=True)
    assert re.search(r'<option value="zineb.officer@jisr.example" selected>', again)
    assert client.post(f"/imports/{import_id}/confirm").status_code == 302
    assert {lead.owner_id for lead in session.exec(select(Lead)).all()} == {far.id}
