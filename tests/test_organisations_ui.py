"""Organisation and contact pages: filters, details, duplicate warning, bad input, roles."""

from __future__ import annotations

import html
import re
import warnings
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import SAWarning
from sqlmodel import Session, func, select

from crm.accounts.models import Role
from crm.core.events import Event
from crm.missions.operations import create_mission, log_meeting
from crm.organisations.models import Contact, Organisation
from crm.organisations.operations import create_contact
from crm.reference.operations import create_sector
from tests.factories import make_lead, make_organisation, make_user
from tests.web_helpers import login

ADD = {
    "country": "MA",
    "kind": "agency",
    "name_ar": "وكالة التنمية الرقمية",
    "name_fr": "Agence de Développement du Digital",
    "name_en": "Digital Development Agency",
    "acronym": "ADD",
    "aliases": "Agence du Digital",
    "website": "www.add.gov.ma",
}


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def _officer(session: Session, client: Any, language: str = "en") -> Any:
    user = make_user(session, email="officer@jisr.example", language=language)
    session.commit()
    login(client, "officer@jisr.example")
    return user


def test_officer_creates_an_organisation_with_sectors(session: Session, client: Any) -> None:
    _officer(session, client)
    cloud = create_sector(session, code="cloud", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")
    session.commit()
    response = client.post("/organisations/new", data={**ADD, "sectors": [str(cloud.id)]})
    assert response.status_code == 302
    org = session.exec(select(Organisation).where(Organisation.acronym == "ADD")).one()
    assert response.headers["Location"].endswith(f"/organisations/{org.id}")
    assert org.website == "https://www.add.gov.ma" and org.aliases == ["Agence du Digital"]
    page = client.get(f"/organisations/{org.id}").get_data(as_text=True)
    for text in ("وكالة التنمية الرقمية", "Agence de Développement du Digital", "Agence du Digital", "Cloud"):
        assert text in page
    assert session.exec(select(Event).where(Event.type == "organisation.created")).one().actor_id is not None


def test_duplicate_warning_needs_an_explicit_create_anyway(session: Session, client: Any) -> None:
    _officer(session, client, "fr")
    existing = make_organisation(
        session, "MA", **{k: v for k, v in ADD.items() if k.startswith("name") or k == "acronym"}
    )
    session.commit()
    before = _count(session, Organisation)
    for probe in (
        {"name_fr": "agence de developpement du digital"},
        {"name_en": "Other name", "acronym": "add"},
        {"name_ar": "وكاله التنميه الرقميه"},
    ):
        response = client.post("/organisations/new", data={"country": "MA", "kind": "agency", **probe})
        assert response.status_code == 409, probe
        page = html.unescape(response.get_data(as_text=True))
        assert f'data-testid="org-duplicate" data-id="{existing.id}"' in page
        assert "Des organisations semblables existent déjà" in page
        assert 'data-testid="org-create-anyway"' in page
        assert _count(session, Organisation) == before
    # What was typed is kept, and ticking the box creates the organisation.
    response = client.post(
        "/organisations/new", data={"country": "MA", "kind": "agency", "name_en": "Other name", "acronym": "add"}
    )
    assert 'value="Other name"' in response.get_data(as_text=True)
    response = client.post(
        "/organisations/new",
        data={"country": "MA", "kind": "agency", "name_en": "Other name", "acronym": "add", "create_anyway": "y"},
    )
    assert response.status_code == 302
    assert _count(session, Organisation) == before + 1


def test_bad_organisation_input_is_a_translated_400_and_writes_nothing(session: Session, client: Any) -> None:
    _officer(session, client, "fr")
    before_orgs, before_events = _count(session, Organisation), _count(session, Event)
    response = client.post("/organisations/new", data={"country": "MA", "kind": "agency", "acronym": "X" * 41})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "40" in page and 'value="' + "X" * 41 + '"' in page
    response = client.post("/organisations/new", data={"country": "MA", "kind": "agency", "acronym": "ZZQ"})
    assert response.status_code == 400
    assert "Indiquez le nom dans au moins une langue." in response.get_data(as_text=True)
    response = client.post("/organisations/new", data={"country": "XX", "kind": "agency", "name_en": "Acme"})
    assert response.status_code == 400
    assert (_count(session, Organisation), _count(session, Event)) == (before_orgs, before_events)


def test_edit_keeps_what_was_typed_on_error(session: Session, client: Any) -> None:
    _officer(session, client, "ar")
    org = make_organisation(session, "US", name_en="Palo Alto Networks")
    session.commit()
    response = client.post(f"/organisations/{org.id}/edit", data={"country": "US", "kind": "company", "name_en": ""})
    assert response.status_code == 400
    assert "أدخل الاسم بلغة واحدة على الأقل." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Organisation, org.id).name_en == "Palo Alto Networks"
    response = client.post(
        f"/organisations/{org.id}/edit",
        data={"country": "US", "kind": "company", "name_en": "Palo Alto Networks", "acronym": "PANW"},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Organisation, org.id).acronym == "PANW"


def test_saving_an_organisation_unchanged_keeps_its_sectors_and_records_nothing(session: Session, client: Any) -> None:
    _officer(session, client)
    cloud = create_sector(session, code="cloud", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")
    ai = create_sector(session, code="ai", name_ar="الذكاء الاصطناعي", name_fr="IA", name_en="AI")
    session.commit()
    client.post("/organisations/new", data={**ADD, "sectors": [str(cloud.id), str(ai.id)]})
    org = session.exec(select(Organisation).where(Organisation.acronym == "ADD")).one()
    events = _count(session, Event)
    unchanged = {**ADD, "website": "https://www.add.gov.ma", "sectors": [str(cloud.id), str(ai.id)]}
    assert client.post(f"/organisations/{org.id}/edit", data=unchanged).status_code == 302
    assert _count(session, Event) == events
    assert client.post(f"/organisations/{org.id}/edit", data={**unchanged, "sectors": [str(ai.id)]}).status_code == 302
    updated = session.exec(select(Event).where(Event.type == "organisation.updated")).one()
    assert updated.payload["changes"] == {"sectors": [["ai", "cloud"], ["ai"]]}
    assert "Cloud" not in client.get(f"/organisations/{org.id}").get_data(as_text=True)


def test_an_edit_that_leaves_out_the_other_names_keeps_them(session: Session, client: Any) -> None:
    _officer(session, client)
    org = make_organisation(session, "MA", name_fr="Agence de Développement du Digital", aliases=["ADD", "Digital"])
    session.commit()
    page = client.get(f"/organisations/{org.id}/edit").get_data(as_text=True)
    assert re.search(r"<textarea[^>]*>\s*ADD\nDigital</textarea>", page)
    fields = {"country": "MA", "kind": "agency", "name_fr": "Agence du Digital"}
    assert client.post(f"/organisations/{org.id}/edit", data=fields).status_code == 302
    session.expire_all()
    kept = session.get(Organisation, org.id)
    assert (kept.name_fr, kept.aliases) == ("Agence du Digital", ["ADD", "Digital"])


def test_list_filters_and_pagination(session: Session, client: Any) -> None:
    _officer(session, client)
    cyber = create_sector(
        session, code="cybersecurity", name_ar="الأمن السيبراني", name_fr="Cybersécurité", name_en="Cybersecurity"
    )
    session.commit()
    dgssi = make_organisation(
        session, "MA", kind="agency", name_en="DGSSI agency", acronym="DGSSI", sector_ids=[cyber.id]
    )
    for n in range(55):
        make_organisation(session, "US", kind="company", name_en=f"US firm {n:02d}")
    session.commit()
    page = client.get("/organisations?country=MA").get_data(as_text=True)
    assert re.findall(r'data-testid="org-row" data-id="(\d+)"', page) == [str(dgssi.id)]
    page = client.get(f"/organisations?sector={cyber.id}").get_data(as_text=True)
    assert re.findall(r'data-testid="org-row" data-id="(\d+)"', page) == [str(dgssi.id)]
    page = client.get("/organisations?kind=company").get_data(as_text=True)
    assert len(re.findall(r'data-testid="org-row"', page)) == 50
    following = html.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    assert "kind=company" in following and "cursor=" in following
    page2 = client.get(following).get_data(as_text=True)
    assert re.findall(r'data-testid="org-row"[^>]*>\s*<td[^>]*>.*?(US firm \d\d)', page2, re.S)[0] == "US firm 50"
    assert len(re.findall(r'data-testid="org-row"', page2)) == 5 and 'rel="next"' not in page2
    back = html.unescape(re.search(r'rel="prev" href="([^"]+)"', page2).group(1))
    assert len(re.findall(r'data-testid="org-row"', client.get(back).get_data(as_text=True))) == 50
    # An old page number (a bookmark) shows the first page; a cursor that was not made here too.
    assert (
        len(
            re.findall(
                r'data-testid="org-row"', client.get("/organisations?kind=company&page=9").get_data(as_text=True)
            )
        )
        == 50
    )
    assert client.get("/organisations?country=nowhere&kind=&page=abc&cursor=abc").status_code == 200


def test_detail_shows_visible_leads_contacts_and_meetings(session: Session, client: Any) -> None:
    officer = _officer(session, client)
    ma = make_organisation(
        session, "MA", name_fr="Direction Générale de la Sécurité des Systèmes d'Information", acronym="DGSSI"
    )
    us = make_organisation(session, "US", name_en="Palo Alto Networks")
    make_lead(session, owner=officer, title="Cyber workshop", ma_organisation_id=ma.id, us_organisation_id=us.id)
    make_lead(session, title="Hidden SOC deal", ma_organisation_id=ma.id, us_organisation_id=us.id, confidential=True)
    create_contact(session, organisation_id=ma.id, name="Nadia Berrada", title="Directrice")
    log_meeting(
        session,
        title="SOC visit",
        starts_local=datetime(2024, 2, 19, 14),
        timezone="America/Los_Angeles",
        organisation_ids=[ma.id, us.id],
    )
    session.commit()
    page = client.get(f"/organisations/{ma.id}").get_data(as_text=True)
    assert "Cyber workshop" in page and "Hidden SOC deal" not in page
    assert "Nadia Berrada" in page and "SOC visit" in page
    assert client.get("/organisations/999999").status_code == 404


def test_viewer_reads_but_cannot_write(session: Session, client: Any) -> None:
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    org = make_organisation(session, "MA", name_fr="Technopark")
    contact = create_contact(session, organisation_id=org.id, name="Karim")
    session.commit()
    login(client, "viewer@jisr.example")
    assert client.get("/organisations").status_code == 200
    assert client.get(f"/organisations/{org.id}").status_code == 200
    assert client.get("/contacts").status_code == 200
    assert client.get("/organisations/new").status_code == 403
    assert client.post("/organisations/new", data=ADD).status_code == 403
    assert client.post(f"/organisations/{org.id}/edit", data=ADD).status_code == 403
    assert client.post("/contacts/new", data={"organisation_id": org.id, "name": "X"}).status_code == 403
    assert client.post(f"/contacts/{contact.id}/edit", data={"name": "X"}).status_code == 403
    assert "org-new" not in client.get("/organisations").get_data(as_text=True)


def _contact_form(org_id: int, **overrides: str) -> dict[str, Any]:
    return {
        "organisation_id": str(org_id),
        "name": "سارة العمراني",
        "title": "Secrétaire générale",
        "email": "S.Amrani@Digital.gov.ma",
        "phone": "06 12 34 56 78",
        "language": "ar",
        "timezone": "Africa/Casablanca",
        **overrides,
    }


def test_contact_is_created_with_an_e164_phone(session: Session, client: Any) -> None:
    _officer(session, client)
    org = make_organisation(session, "MA", name_fr="Ministère")
    us = make_organisation(session, "US", name_en="Cisco")
    session.commit()
    response = client.post("/contacts/new", data=_contact_form(org.id))
    assert response.status_code == 302
    contact = session.exec(select(Contact).where(Contact.organisation_id == org.id)).one()
    assert contact.phone == "+212612345678" and contact.email == "s.amrani@digital.gov.ma"
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "+212612345678" in page and "سارة العمراني" in page
    response = client.post(
        f"/contacts/{contact.id}/edit",
        data=_contact_form(us.id, phone="(415) 555-0132", timezone="America/Los_Angeles", name="Sara Amrani"),
    )
    assert response.status_code == 302
    session.expire_all()
    edited = session.get(Contact, contact.id)
    assert (edited.phone, edited.organisation_id, edited.timezone) == ("+14155550132", us.id, "America/Los_Angeles")
    assert "/contacts/new?organisation=" in client.get(f"/organisations/{org.id}").get_data(as_text=True)


def test_bad_contact_input_is_a_translated_400_and_writes_nothing(session: Session, client: Any) -> None:
    _officer(session, client, "fr")
    org = make_organisation(session, "MA", name_fr="Ministère")
    session.commit()
    before = (_count(session, Contact), _count(session, Event))
    cases = [
        ({"email": "not-an-email"}, "Cette adresse e-mail n'est pas valide."),
        ({"phone": "12"}, "Ce numéro de téléphone n'est pas valide."),
        ({"timezone": "Mars/Olympus"}, "Fuseau horaire inconnu : Mars/Olympus"),
        ({"name": ""}, "Ce champ est obligatoire."),
    ]
    for override, message in cases:
        response = client.post("/contacts/new", data=_contact_form(org.id, **override))
        assert response.status_code == 400, override
        page = html.unescape(response.get_data(as_text=True))
        assert message in page, (override, message)
        assert "is-invalid" in page
    response = client.post("/contacts/new", data=_contact_form(999999))
    assert response.status_code == 400
    response = client.post("/contacts/new", data=_contact_form(org.id, organisation_id="abc"))
    assert response.status_code == 400
    without = {k: v for k, v in _contact_form(org.id).items() if k != "organisation_id"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)  # no lookup of a row without an id
        response = client.post("/contacts/new", data=without)
    assert response.status_code == 400 and "Organisation inconnue." in response.get_data(as_text=True)
    assert (_count(session, Contact), _count(session, Event)) == before


def test_a_contact_page_lists_the_meetings_attended_and_the_missions_travelled_with(
    session: Session, client: Any
) -> None:
    _officer(session, client)
    add = make_organisation(session, "MA", acronym="ADD")
    amina = create_contact(session, organisation_id=add.id, name="Amina El Idrissi", email="amina@add.example")
    other = create_contact(session, organisation_id=add.id, name="Karim Tazi", email="karim@add.example")
    places = [{"name": "Houston, Texas", "timezone": "America/Chicago"}]
    mission = create_mission(
        session,
        name="Digital mission",
        starts_on=date(2024, 2, 11),
        ends_on=date(2024, 2, 21),
        places=places,
        delegate_ids=[amina.id],
    )
    met = [
        log_meeting(
            session,
            title=title,
            starts_local=datetime(2024, 2, day, 10),
            timezone="America/Chicago",
            mission_id=mission.id,
            contact_ids=contacts,
        )
        for title, day, contacts in (("Oracle briefing", 12, [amina.id]), ("Cisco workshop", 14, [amina.id, other.id]))
    ]
    log_meeting(
        session,
        title="Without her",
        starts_local=datetime(2024, 2, 15, 10),
        timezone="America/Chicago",
        contact_ids=[other.id],
    )
    session.commit()
    page = client.get(f"/contacts/{amina.id}").get_data(as_text=True)
    meetings = page[page.index('data-testid="contact-meetings"') :]
    assert re.findall(r'data-id="(\d+)"', meetings[: meetings.index("</ul>")]) == [str(met[1].id), str(met[0].id)]
    assert "Without her" not in page
    assert f'href="/missions/{mission.id}"><bdi>Digital mission</bdi></a>' in page
    page = client.get(f"/contacts/{other.id}").get_data(as_text=True)
    assert "Without her" in page and 'data-testid="contact-missions"' not in page
