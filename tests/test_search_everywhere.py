"""Search finds what an officer types: leads through their organisations (names, acronyms,
aliases in every language), the organisations' people, their sector and their meeting's
people; Arabic with or without the article and in any spelling variant; Latin names
joined or apart; each result once, named in the reader's language; confidential leads
only for those who may see them.  On SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from crm.accounts.models import Role
from crm.leads.models import Lead
from crm.leads.operations import add_watcher
from crm.missions.operations import log_meeting, update_meeting
from crm.organisations.models import Contact, Organisation
from crm.organisations.operations import create_contact, update_contact, update_organisation
from crm.reference.operations import create_sector, update_sector
from crm.search.labels import organisation_label
from crm.search.matching import query_words, text_match
from crm.search.queries import SearchResults, search
from crm.search.rebuild import rebuild_search_texts
from tests.factories import make_lead, make_organisation, make_user
from tests.web_helpers import login


def _leads(results: SearchResults) -> set[int]:
    return {lead.id for lead, _ma, _us in results.leads if lead.id is not None}


def _orgs(results: SearchResults) -> list[int]:
    return [org.id for org in results.organisations if org.id is not None]


def _items(page: str, kind: str) -> dict[int, str]:
    """The text of each result of ``kind`` on the page, by id."""
    found = re.findall(rf'data-kind="{kind}" data-id="(\d+)">(.*?)</li>', page, flags=re.S)
    return {int(i): " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split()) for i, body in found}


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    officer = make_user(session, email="officer@jisr.example")
    add = make_organisation(
        session,
        "MA",
        acronym="ADD",
        name_ar="وكالة التنمية الرقمية",
        name_fr="Agence de Développement du Digital",
        name_en="Digital Development Agency",
    )
    usaid = make_organisation(
        session,
        "US",
        acronym="USTDA",
        name_ar="الوكالة الأمريكية للتجارة والتنمية",
        name_fr="Agence américaine pour le commerce et le développement",
        name_en="U.S. Trade and Development Agency",
    )
    palo = make_organisation(session, "US", name_ar="بالو ألتو نتوركس", name_en="Palo Alto Networks")
    oracle = make_organisation(session, "US", name_fr="Oracle", name_en="Oracle", acronym="ORACLE")
    other_ma = make_organisation(session, "MA", name_fr="Ministère de l'Économie")
    leads = {
        "add_palo": make_lead(
            session, owner=officer, title="Zero trust pilot", ma_organisation_id=add.id, us_organisation_id=palo.id
        ),
        "add_oracle": make_lead(
            session, owner=officer, title="Sovereign region", ma_organisation_id=add.id, us_organisation_id=oracle.id
        ),
        "usaid": make_lead(
            session,
            owner=officer,
            title="Feasibility study",
            ma_organisation_id=other_ma.id,
            us_organisation_id=usaid.id,
        ),
        "plain": make_lead(
            session, owner=officer, title="Unrelated", ma_organisation_id=other_ma.id, us_organisation_id=oracle.id
        ),
    }
    session.commit()
    return {"officer": officer, "add": add, "usaid": usaid, "palo": palo, "oracle": oracle, "other_ma": other_ma} | {
        f"lead_{k}": v for k, v in leads.items()
    }


def test_an_acronym_finds_the_organisation_first_and_its_leads(session: Session, world: dict[str, Any]) -> None:
    officer = world["officer"]
    for query in ("ADD", "add", "Agence de Développement du Digital", "digital development", "وكالة التنمية الرقمية"):
        found = search(session, officer, query)
        assert _orgs(found)[0] == world["add"].id, query
        assert _leads(found) == {world["lead_add_palo"].id, world["lead_add_oracle"].id}, query
        assert found.leads.count == 2
    # A word of the title and a word of an organisation narrow each other.
    assert _leads(search(session, officer, "ADD zero trust")) == {world["lead_add_palo"].id}


def test_arabic_with_or_without_the_article(session: Session, world: dict[str, Any]) -> None:
    officer = world["officer"]
    add, usaid = world["add"].id, world["usaid"].id
    # "الوكالة" finds "وكالة التنمية الرقمية" (no article) and "الوكالة الأمريكية…".
    assert set(_orgs(search(session, officer, "الوكالة"))) == {add, usaid}
    assert _orgs(search(session, officer, "الوكالة الرقمية")) == [add]
    # "وكالة" finds "الوكالة …".
    assert set(_orgs(search(session, officer, "وكالة"))) == {add, usaid}
    assert _orgs(search(session, officer, "وكالة امريكية")) == [usaid]
    # Articles glued to a preposition or a conjunction: "للتجارة" (for the trade), "والتنمية".
    for query in ("تجارة", "التجارة", "للتجارة", "والتجارة"):
        assert _orgs(search(session, officer, query)) == [usaid], query
    assert _leads(search(session, officer, "الوكالة الأمريكية")) == {world["lead_usaid"].id}
    assert query_words("الوكالة للتنمية الله") == ["وكاله", "تنميه", "الله"]  # "الله": too short to cut


def test_arabic_letter_variants_tatweel_and_diacritics(session: Session, world: dict[str, Any]) -> None:
    officer = world["officer"]
    hospital = make_organisation(session, "MA", name_ar="مستشفى إبن سينا الجامعي", name_fr="CHU Ibn Sina")
    session.commit()
    for query in ("مستشفي", "ابن سينا", "أبن سينا", "آبن", "الجامعى", "مُسْتَشْفَى", "مستـــشفى"):
        assert _orgs(search(session, officer, query)) == [hospital.id], query
    for query in ("وكاله التنميه", "وَكَالَةُ التَّنْمِيَةِ", "وكـــالة"):
        assert world["add"].id in _orgs(search(session, officer, query)), query
    assert _orgs(search(session, officer, "الأمريكيه")) == [world["usaid"].id]


def test_latin_names_joined_or_apart_accents_and_case(session: Session, world: dict[str, Any]) -> None:
    officer = world["officer"]
    palo = world["palo"].id
    for query in ("paloalto", "PaloAlto", "Palo Alto", "palo-alto", "PALO ALTO NETWORKS", "paloaltonetworks"):
        found = search(session, officer, query)
        assert _orgs(found) == [palo], query
        assert _leads(found) == {world["lead_add_palo"].id}, query
    joined = make_organisation(session, "US", name_en="DataBricks")
    session.commit()
    assert joined.id in _orgs(search(session, officer, "databricks"))
    assert _orgs(search(session, officer, "ministere de l economie")) == [world["other_ma"].id]
    assert _orgs(search(session, officer, "MINISTÈRE ÉCONOMIE")) == [world["other_ma"].id]
    assert _orgs(search(session, officer, "Développement du digital")) == [world["add"].id]


def test_aliases_find_the_organisation_and_its_leads(session: Session, world: dict[str, Any]) -> None:
    update_organisation(session, world["oracle"], aliases=["Oracle Corporation", "أوراكل المغرب"])
    session.commit()
    found = search(session, world["officer"], "أوراكل")
    assert _orgs(found) == [world["oracle"].id]
    assert _leads(found) == {world["lead_add_oracle"].id, world["lead_plain"].id}
    assert _orgs(search(session, world["officer"], "oraclecorporation")) == [world["oracle"].id]


def test_contacts_find_the_leads_of_their_organisation(session: Session, world: dict[str, Any]) -> None:
    officer = world["officer"]
    hélène = create_contact(session, organisation_id=world["usaid"].id, name="Hélène Lefèvre", title="Directrice")
    sara = create_contact(session, organisation_id=world["other_ma"].id, name="سارة العمراني")
    meeting = log_meeting(
        session,
        title="Réunion cybersécurité",
        starts_local=datetime(2030, 2, 20, 10, 0),
        timezone="America/Chicago",
        contact_ids=[sara.id],
    )
    session.flush()
    make_lead(
        session,
        owner=officer,
        title="Cyber range",
        ma_organisation_id=world["add"].id,
        us_organisation_id=world["palo"].id,
        meeting_id=meeting.id,
    )
    session.commit()
    assert _leads(search(session, officer, "helene lefevre")) == {world["lead_usaid"].id}
    assert _leads(search(session, officer, "Directrice")) == {world["lead_usaid"].id}
    # Sara works at the ministry: its two leads.  Not the leads of the other organisations
    # of a meeting she came to ("Cyber range", ADD and Palo Alto's).
    assert _leads(search(session, officer, "ساره العمراني")) == {world["lead_usaid"].id, world["lead_plain"].id}
    assert _leads(search(session, officer, "العمراني feasibility")) == {world["lead_usaid"].id}
    assert [c.id for c, _org in search(session, officer, "Lefèvre").contacts] == [hélène.id]
    # A renamed contact finds the leads by the new name only.
    update_contact(session, hélène, name="Hélène Martin")
    session.commit()
    assert _leads(search(session, officer, "lefevre")) == set()
    assert _leads(search(session, officer, "martin")) == {world["lead_usaid"].id}


def test_sectors_find_their_leads_in_every_language(session: Session, world: dict[str, Any]) -> None:
    officer = world["officer"]
    sector = create_sector(
        session, code="cybersecurity", name_ar="الأمن السيبراني", name_fr="Cybersécurité", name_en="Cybersecurity"
    )
    session.flush()
    lead = make_lead(session, owner=officer, title="SOC as a service", sector_id=sector.id)
    session.commit()
    for query in ("cybersecurite", "Cybersécurité", "الأمن السيبراني", "امن سيبراني", "السيبراني"):
        assert _leads(search(session, officer, query)) == {lead.id}, query
    update_sector(session, sector, name_fr="Sécurité numérique")
    session.commit()
    assert _leads(search(session, officer, "securite numerique")) == {lead.id}
    assert _leads(search(session, officer, "cybersecurity")) == {lead.id}  # the English name still says so
    assert _leads(search(session, officer, "cybersecurite")) == set()


def test_a_renamed_organisation_finds_its_leads_at_once(session: Session, world: dict[str, Any]) -> None:
    """The leads are found through the organisation's own search text at query time: a
    rename needs no copy into the leads (nor a consumer to run first)."""
    officer = world["officer"]
    update_organisation(session, world["add"], acronym="AND", name_fr="Agence Nationale du Numérique")
    session.commit()
    assert _leads(search(session, officer, "agence nationale du numerique")) == {
        world["lead_add_palo"].id,
        world["lead_add_oracle"].id,
    }
    assert _leads(search(session, officer, "AND")) >= {world["lead_add_palo"].id, world["lead_add_oracle"].id}
    assert _leads(search(session, officer, "developpement du digital")) == set()


def test_each_lead_once_even_when_both_organisations_and_its_title_match(
    session: Session, world: dict[str, Any], client: Any
) -> None:
    officer = world["officer"]
    both = make_lead(
        session,
        owner=officer,
        title="Agence pilot",
        ma_organisation_id=world["add"].id,
        us_organisation_id=world["usaid"].id,
    )
    session.commit()
    found = search(session, officer, "agence")
    ids = [lead.id for lead, _ma, _us in found.leads]
    assert ids.count(both.id) == 1 and len(ids) == len(set(ids)) == found.leads.count
    login(client, "officer@jisr.example")
    page = client.get("/search?q=agence").get_data(as_text=True)
    assert re.findall(rf'data-kind="lead" data-id="{both.id}"', page) == [f'data-kind="lead" data-id="{both.id}"']


def test_names_in_the_readers_language_with_a_differing_acronym(
    session: Session, world: dict[str, Any], client: Any
) -> None:
    add, oracle = world["add"], world["oracle"]
    make_user(session, email="arabic@jisr.example", language="ar")
    make_user(session, email="french@jisr.example", language="fr")
    session.commit()
    login(client, "french@jisr.example")
    page = client.get("/search?q=ADD").get_data(as_text=True)
    assert _items(page, "organisation")[add.id].startswith("ADD — Agence de Développement du Digital")
    page = client.get("/search?q=oracle").get_data(as_text=True)
    text = _items(page, "organisation")[oracle.id]
    assert text == "Oracle", text  # not "ORACLE — Oracle", not "Oracle Oracle"
    lead_text = _items(page, "lead")[world["lead_add_oracle"].id]
    assert "ADD — Agence de Développement du Digital · Oracle" in lead_text
    client.post("/logout")
    login(client, "arabic@jisr.example")
    page = client.get("/search?q=ADD").get_data(as_text=True)
    assert 'lang="ar"' in page
    text = _items(page, "organisation")[add.id]
    assert text.startswith("ADD — وكالة التنمية الرقمية"), text
    assert "<bdi>ADD</bdi> — <bdi>وكالة التنمية الرقمية</bdi>" in page
    with client.application.test_request_context():
        assert str(organisation_label(oracle, "en")) == "Oracle"
        assert str(organisation_label(add, "en")) == "ADD — Digital Development Agency"
        assert [lang for lang, _ in organisation_label(add, "fr").others] == ["ar", "en"]


def test_groups_have_counts_and_meetings_are_found(session: Session, world: dict[str, Any], client: Any) -> None:
    officer = world["officer"]
    meeting = log_meeting(
        session,
        title="Déjeuner de travail à l'ambassade",
        starts_local=datetime(2030, 2, 21, 12, 30),
        timezone="America/New_York",
        place="السفارة في واشنطن",
    )
    for n in range(25):
        make_lead(session, owner=officer, title=f"Agence lead {n}", ma_organisation_id=world["add"].id)
    session.commit()
    found = search(session, officer, "dejeuner ambassade")
    assert [m.id for m, _mission in found.meetings] == [meeting.id]
    assert [m.id for m, _mission in search(session, officer, "سفارة").meetings] == [meeting.id]
    update_meeting(session, meeting, title="Dîner", actor=officer)
    session.commit()
    assert search(session, officer, "dejeuner").meetings.count == 0
    assert search(session, officer, "diner").meetings.count == 1
    found = search(session, officer, "ADD")
    assert found.leads.count == 27 and len(found.leads) == 20 and found.leads.more == 7
    login(client, "officer@jisr.example")
    page = client.get("/search?q=ADD").get_data(as_text=True)
    assert re.search(r'id="search-leads-group">[^<]*<span[^>]*>(?:<bdi[^>]*>)?27(?:</bdi>)?</span>', page)
    assert len(_items(page, "lead")) == 20
    page = client.get("/search?q=diner").get_data(as_text=True)
    assert _items(page, "meeting")[meeting.id].startswith("Dîner")


def test_confidential_leads_stay_hidden_whatever_finds_them(
    session: Session, world: dict[str, Any], client: Any
) -> None:
    owner = world["officer"]
    other = make_user(session, email="other@jisr.example")
    watcher = make_user(session, email="watcher@jisr.example")
    admin = make_user(session, email="boss@jisr.example", role=Role.ADMIN)
    create_contact(session, organisation_id=world["add"].id, name="Nadia Bennani")
    secret = make_lead(
        session,
        owner=owner,
        title="Secret cloud deal",
        ma_organisation_id=world["add"].id,
        us_organisation_id=world["oracle"].id,
        confidential=True,
    )
    add_watcher(session, secret, watcher.id, actor=owner)
    session.commit()
    visible = {world["lead_add_palo"].id, world["lead_add_oracle"].id}
    for query in ("ADD", "Nadia", "وكالة", "secret", "oracle"):
        found = search(session, other, query)
        assert secret.id not in _leads(found), query
        assert found.leads.count == len(found.leads), query  # the count does not give it away either
    assert _leads(search(session, other, "ADD")) == visible
    for user in (owner, watcher, admin):
        assert _leads(search(session, user, "ADD")) == visible | {secret.id}
    login(client, "other@jisr.example")
    page = client.get("/search?q=nadia").get_data(as_text=True)
    assert "Secret cloud" not in page and secret.id not in _items(page, "lead")


def test_the_matching_condition_serves_other_lists(session: Session, world: dict[str, Any]) -> None:
    """:func:`crm.search.matching.text_match` is what a picker filters organisations with."""
    condition = text_match(session, Organisation, "الوكالة paloalto")
    assert condition is not None
    assert session.exec(select(Organisation.id).where(condition)).all() == []
    condition = text_match(session, Organisation, "PaloAlto")
    assert session.exec(select(Organisation.id).where(condition)).all() == [world["palo"].id]
    assert text_match(session, Contact, " %_ ") is None


def test_rebuild_fills_every_search_text(session: Session, world: dict[str, Any], app: Any) -> None:
    sector = create_sector(session, code="ai", name_ar="الذكاء الاصطناعي", name_fr="IA", name_en="AI")
    contact = create_contact(session, organisation_id=world["palo"].id, name="Jane Doe")
    meeting = log_meeting(
        session, title="Demo day", starts_local=datetime(2030, 1, 5, 9, 0), timezone="America/Los_Angeles"
    )
    session.commit()
    expected = {
        (model, row_id): session.get(model, row_id).search_text  # type: ignore[union-attr]
        for model, row_id in (
            (Organisation, world["palo"].id),
            (Contact, contact.id),
            (Lead, world["lead_add_palo"].id),
            (type(sector), sector.id),
            (type(meeting), meeting.id),
        )
    }
    for table in ("organisation", "contact", "lead", "sector", "meeting"):
        session.execute(sa.text(f"UPDATE {table} SET search_text = ''"))
    session.commit()
    assert search(session, world["officer"], "paloalto").total == 0
    result = app.test_cli_runner().invoke(args=["crm", "search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "organisation 5" in result.output and "meeting 1" in result.output
    session.expire_all()
    for (model, row_id), text in expected.items():
        assert session.get(model, row_id).search_text == text  # type: ignore[union-attr]
    assert _orgs(search(session, world["officer"], "paloalto")) == [world["palo"].id]
    assert [m.id for m, _ in search(session, world["officer"], "demo day").meetings] == [meeting.id]
    # Run again: nothing left to change.
    with app.app_context():
        from crm.core.db import db

        assert set(rebuild_search_texts(db.session.connection()).values()) == {0}


def test_meetings_have_their_search_index(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        assert "fts_meeting" in set(sa.inspect(bind).get_table_names())
        triggers = set(session.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        assert {"fts_meeting_ai", "fts_meeting_ad", "fts_meeting_au"} <= triggers
    else:
        assert "ix_meeting_search_trgm" in {ix["name"] for ix in sa.inspect(bind).get_indexes("meeting")}


def test_erased_contacts_stay_unsearchable_after_a_rebuild(session: Session, world: dict[str, Any]) -> None:
    from crm.privacy.operations import erase_contact

    admin = make_user(session, role=Role.ADMIN)
    contact = create_contact(session, organisation_id=world["add"].id, name="Karim Tazi")
    session.commit()
    erase_contact(session, contact, actor=admin)
    session.commit()
    rebuild_search_texts(session.connection())
    session.commit()
    assert search(session, world["officer"], "karim").contacts.count == 0
    assert search(session, world["officer"], "erased").contacts.count == 0


def test_the_lead_count_stops_past_its_cap(
    session: Session, world: dict[str, Any], client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm.search import queries, views

    for n in range(6):
        make_lead(session, owner=world["officer"], title=f"Digital lead {n}", ma_organisation_id=world["add"].id)
    session.commit()
    monkeypatch.setattr(queries, "LEAD_COUNT_CAP", 5)
    monkeypatch.setattr(views, "LEAD_COUNT_CAP", 5)
    found = search(session, world["officer"], "ADD", limit=3)
    assert found.leads.capped and found.capped and len(found.leads) == 3
    newest = search(session, world["officer"], "ADD", limit=20)
    assert [lead.title for lead, _ma, _us in newest.leads][:3] == [lead.title for lead, _ma, _us in found.leads]
    login(client, "officer@jisr.example")
    page = re.sub(r"</?bdi[^>]*>", "", unescape(client.get("/search?q=ADD").get_data(as_text=True)))
    assert "Plus de 5 résultats pour" in page and ">5+</span>" in page
