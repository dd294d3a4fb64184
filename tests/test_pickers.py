"""The pickers' server side: search across scripts, sides, rights, a constant number of
queries, bad input refused with a 400, creating from a picker with the duplicate warning,
and forms that refuse ids the picker could not offer."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.core.events import Event
from crm.demo import DEMO_PASSWORD, load_demo
from crm.leads.models import Lead
from crm.organisations.models import Contact, Organisation
from crm.organisations.operations import create_contact
from crm.privacy.operations import erase_contact
from tests.factories import make_organisation, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

OFFICER = "officer@jisr.example"


def _demo(session: Session, client: Any, email: str = OFFICER) -> dict[str, Any]:
    load_demo(session)
    session.commit()
    login(client, email, DEMO_PASSWORD)
    return {o.acronym or o.name_en.upper(): o for o in session.exec(select(Organisation)).all()}


def _values(client: Any, source: str, q: str = "", **params: str) -> list[str]:
    response = client.get(f"/pickers/{source}", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["value"] for r in response.get_json()["results"]]


def test_an_organisation_is_found_by_acronym_and_by_its_names_in_every_script(session: Session, client: Any) -> None:
    add = str(_demo(session, client)["ADD"].id)
    for query in (
        "ADD",
        "add",
        "وكالة التنمية الرقمية",
        "Agence de Developpement du Digital",  # without the accent
        "AGENCE DE DÉVELOPPEMENT",
        "Digital Development Agency",
        "Agence du Digital",  # an alias
        "وكاله التنميه الرقميه",  # ة typed as ه
        "وكالة التنمىة",  # ي typed as ى
    ):
        found = _values(client, "organisations", query, side="MA")
        assert found and found[0] == add, query


def test_hamza_forms_of_alif_find_the_same_organisation(session: Session, client: Any) -> None:
    orgs = _demo(session, client)
    with_hamza = _values(client, "organisations", "أمن نظم المعلومات")
    without = _values(client, "organisations", "امن نظم المعلومات")
    assert with_hamza == without == [str(orgs["DGSSI"].id)]


def test_answers_are_labelled_in_the_readers_language_with_the_acronym(session: Session, client: Any) -> None:
    _demo(session, client)
    results = client.get("/pickers/organisations", query_string={"q": "ADD"}).get_json()["results"]
    assert results[0]["text"] == "ADD — Agence de Développement du Digital"  # the demo officer reads French
    client.post("/language", data={"language": "ar"})
    results = client.get("/pickers/organisations", query_string={"q": "ADD"}).get_json()["results"]
    assert results[0]["text"] == "ADD — وكالة التنمية الرقمية"


def test_each_side_offers_only_its_organisations(session: Session, client: Any) -> None:
    orgs = _demo(session, client)
    moroccan = _values(client, "organisations", side="MA")
    american = _values(client, "organisations", side="US")
    assert str(orgs["ADD"].id) in moroccan and str(orgs["ADD"].id) not in american
    assert str(orgs["ORACLE"].id) in american and str(orgs["ORACLE"].id) not in moroccan
    assert _values(client, "organisations", "oracle", side="MA") == []
    assert len(moroccan) <= 20


def test_contacts_of_one_organisation_and_never_an_erased_one(session: Session, client: Any) -> None:
    orgs = _demo(session, client)
    add = orgs["ADD"]
    mehdi = session.exec(select(Contact).where(Contact.name == "Mehdi Alaoui")).one()
    assert _values(client, "contacts", "mehdi", organisation=str(add.id)) == [str(mehdi.id)]
    assert _values(client, "contacts", "mehdi", organisation=str(orgs["DGSSI"].id)) == []
    admin = session.exec(select(User).where(User.email == "admin@jisr.example")).one()
    erase_contact(session, mehdi, actor=admin)
    session.commit()
    assert _values(client, "contacts", "mehdi") == []


def test_owners_are_active_officers_and_watchers_any_active_user(session: Session, client: Any) -> None:
    _demo(session, client)
    viewer = make_user(session, Role.VIEWER, name="Viewer Véronique")
    gone = make_user(session, name="Véronique Partie")
    gone.is_active = False
    session.commit()
    assert str(viewer.id) not in _values(client, "users", "veronique", role="officers")
    assert _values(client, "users", "veronique") == [str(viewer.id)]  # the inactive one is never offered


def test_sectors_meetings_missions_and_time_zones_are_searched(session: Session, client: Any) -> None:
    _demo(session, client)
    assert _values(client, "sectors", "cyber")  # "Cybersécurité"/"Cybersecurity"
    assert _values(client, "missions", "")
    assert _values(client, "meetings", "")
    zones = client.get("/pickers/timezones", query_string={"q": "casablanca"}).get_json()["results"]
    assert zones[0]["value"] == "Africa/Casablanca"
    assert re.fullmatch(r"Africa/Casablanca \(UTC[+-]0[01]:00\)", zones[0]["text"])
    new_york = client.get("/pickers/timezones", query_string={"q": "new york"}).get_json()["results"]
    assert re.fullmatch(r"America/New_York \(UTC-0[45]:00\)", new_york[0]["text"])


def test_only_logged_in_users_search(session: Session, client: Any) -> None:
    load_demo(session)
    session.commit()
    response = client.get("/pickers/organisations", query_string={"q": "ADD"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert b'"results"' not in response.data


def test_bad_input_is_a_400_never_a_500(session: Session, client: Any) -> None:
    _demo(session, client)
    for path, params in (
        ("/pickers/organisations", {"side": "FR"}),
        ("/pickers/organisations", {"organisation": "1"}),
        ("/pickers/contacts", {"organisation": "x"}),
        ("/pickers/contacts", {"organisation": "99999999999999999999"}),
        ("/pickers/users", {"role": "everyone"}),
        ("/pickers/organisations", {"q": "x" * 201}),
    ):
        response = client.get(path, query_string=params)
        assert response.status_code == 400, (path, params)
        assert response.get_json()["detail"]
    assert client.get("/pickers/secrets").status_code == 404
    for weird in ("%", "_", "' OR 1=1 --", "\x00", "|", "ـــ"):
        assert client.get("/pickers/organisations", query_string={"q": weird}).status_code == 200


def test_a_search_costs_the_same_number_of_queries_however_many_rows(session: Session, client: Any, app: Any) -> None:
    _demo(session, client)

    def cost(source: str, q: str, **params: str) -> int:
        with count_queries(app) as statements:
            assert client.get(f"/pickers/{source}", query_string={"q": q, **params}).status_code == 200
        return len(statements)

    before = {s: cost(s, "a") for s in ("organisations", "contacts", "users", "sectors", "meetings")}
    for n in range(15):
        org = make_organisation(session, "MA", name_fr=f"Agence numéro {n}")
        create_contact(session, organisation_id=org.id, name=f"Amina {n}")
        make_user(session, name=f"Adam {n}")
    session.commit()
    after = {s: cost(s, "a") for s in before}
    assert after == before


def test_an_organisation_is_created_from_the_picker_after_the_duplicate_warning(session: Session, client: Any) -> None:
    orgs = _demo(session, client)
    before = session.exec(select(func.count()).select_from(Organisation)).one()
    # The name of an existing organisation (an alias of ADD): nothing is created, ADD is offered.
    answer = client.post("/pickers/organisations/new", data={"name": "Agence du Digital", "side": "MA"})
    assert answer.status_code == 200
    assert [d["value"] for d in answer.get_json()["duplicates"]] == [str(orgs["ADD"].id)]
    assert session.exec(select(func.count()).select_from(Organisation)).one() == before
    # "Create anyway": created, on the asked side, named in the reader's language, with its event.
    answer = client.post(
        "/pickers/organisations/new", data={"name": "Agence du Digital", "side": "MA", "create_anyway": "1"}
    )
    assert answer.status_code == 201
    created = session.get(Organisation, int(answer.get_json()["value"]))
    assert created is not None and created.country.value == "MA" and created.name_fr == "Agence du Digital"
    assert answer.get_json()["text"] == "Agence du Digital"
    assert (
        session.exec(
            select(func.count())
            .select_from(Event)
            .where(Event.type == "organisation.created", Event.entity_id == created.id)
        ).one()
        == 1
    )


def test_a_contact_is_created_from_the_picker_after_the_duplicate_warning(session: Session, client: Any) -> None:
    add = _demo(session, client)["ADD"]
    answer = client.post("/pickers/contacts/new", data={"name": "mehdi alaoui", "organisation": str(add.id)})
    assert answer.status_code == 200 and answer.get_json()["duplicates"]
    answer = client.post("/pickers/contacts/new", data={"name": "Samira Idrissi", "organisation": str(add.id)})
    assert answer.status_code == 201
    assert session.get(Contact, int(answer.get_json()["value"])).organisation_id == add.id


def test_creating_from_a_picker_is_refused_to_readers_and_bad_input(session: Session, client: Any) -> None:
    _demo(session, client, email="viewer@jisr.example")
    before = session.exec(select(func.count()).select_from(Organisation)).one()
    answer = client.post("/pickers/organisations/new", data={"name": "Nouvelle", "side": "MA"})
    assert answer.status_code == 403
    client.post("/logout")
    login(client, OFFICER, DEMO_PASSWORD)
    for data in (
        {"name": "", "side": "MA"},
        {"name": "X", "side": "FR"},
        {"name": "X" * 400, "side": "US", "create_anyway": "1"},
    ):
        answer = client.post("/pickers/organisations/new", data=data)
        assert answer.status_code == 400, data
        assert answer.get_json()["detail"]
    assert client.post("/pickers/contacts/new", data={"name": "X", "organisation": "abc"}).status_code == 400
    assert session.exec(select(func.count()).select_from(Organisation)).one() == before


def test_the_lead_form_carries_only_the_chosen_and_first_options(session: Session, client: Any) -> None:
    _demo(session, client)
    for n in range(110):
        make_organisation(session, "MA", name_fr=f"Coopérative {n:03d}")
    session.commit()
    form = client.get("/leads/new").get_data(as_text=True)
    ma_select = re.search(r'<select[^>]*id="ma_organisation_id".*?</select>', form, re.S).group(0)
    assert 'data-picker="organisations"' in ma_select and "side=MA" in ma_select
    assert ma_select.count("<option") <= 101  # "—" and the first 100: the rest is found by typing
    assert "multiple" in re.search(r'<select[^>]*id="watcher_ids"[^>]*>', form).group(0)
    assert 'size="' not in re.search(r'<select[^>]*id="watcher_ids"[^>]*>', form).group(0)


def test_the_lead_form_refuses_ids_no_picker_offers(session: Session, client: Any) -> None:
    orgs = _demo(session, client)
    officer = session.exec(select(User).where(User.email == OFFICER)).one()
    viewer = session.exec(select(User).where(User.email == "viewer@jisr.example")).one()
    leads = session.exec(select(func.count()).select_from(Lead)).one()
    base = {
        "title": "Picked",
        "ma_organisation_id": str(orgs["ADD"].id),
        "us_organisation_id": str(orgs["ORACLE"].id),
        "partnership_type": "capacity_building",
        "stage": "identified",
        "owner_id": str(officer.id),
        "priority": "normal",
        "currency": "",
        "description": "",
    }
    response = client.post("/leads/new", data={**base, "ma_organisation_id": str(orgs["ORACLE"].id)})
    assert response.status_code == 400  # the wrong side
    assert "Choisissez une organisation marocaine." in response.get_data(as_text=True)
    for name, value in (
        ("us_organisation_id", "987654"),
        ("sector_id", "987654"),
        ("owner_id", str(viewer.id)),  # a viewer cannot own a lead
        ("watcher_ids", "987654"),
        ("meeting_id", "987654"),
        ("mission_id", "987654"),
    ):
        response = client.post("/leads/new", data={**base, name: value})
        assert response.status_code == 400, name
        page = response.get_data(as_text=True)
        assert "Choisissez un élément de la liste." in page or "organisation américaine" in page, name
    for name, value in (("sector_id", "0"), ("owner_id", "abc"), ("watcher_ids", "99999999999999999999")):
        assert client.post("/leads/new", data={**base, name: value}).status_code == 400, name
    assert session.exec(select(func.count()).select_from(Lead)).one() == leads
    response = client.post("/leads/new", data={**base, "watcher_ids": [str(viewer.id)]})
    assert response.status_code == 302
    lead = session.exec(select(Lead).where(Lead.title == "Picked")).one()
    assert lead.ma_organisation_id == orgs["ADD"].id
    assert session.exec(select(col(Lead.id)).where(Lead.title == "Picked")).all() == [lead.id]
