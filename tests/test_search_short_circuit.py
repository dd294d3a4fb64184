"""A search whose words find nothing a lead could match does not walk the leads: with
nothing to find, the walk along the newest leads would read every one of them (on a
large database, the slowest search of all).  One indexed look-up per word decides it."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm.organisations.models import Country
from crm.organisations.operations import create_contact
from crm.reference.operations import create_sector
from tests.factories import make_lead, make_organisation, make_user
from tests.test_web import count_queries
from tests.web_helpers import login


def _walks(statements: list[str]) -> list[str]:
    """The statements that read the leads newest first (the lead group's walk)."""
    return [s for s in statements if "ORDER BY lead.updated_at DESC" in s]


def _search(app: Any, client: Any, query: str) -> tuple[list[str], str]:
    with count_queries(app) as statements:
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 200
    return list(statements), response.get_data(as_text=True)


def _world(session: Session, client: Any) -> Any:
    officer = make_user(session, email="officer@jisr.example")
    add = make_organisation(session, Country.MA, acronym="ADD", name_fr="Agence du Digital")
    sector = create_sector(
        session, code="fintech", name_fr="Technologie financière", name_en="Fintech", name_ar="تقنية مالية"
    )
    oracle = make_organisation(session, Country.US, name_en="Oracle")
    create_contact(session, organisation_id=oracle.id, name="Michael Reyes", actor=officer)
    make_lead(session, owner=officer, title="Cloud pilot", ma_organisation_id=add.id)
    make_lead(session, owner=officer, title="Payments", sector_id=sector.id, us_organisation_id=oracle.id)
    for n in range(25):
        make_lead(session, owner=officer, title=f"Other lead {n}")
    session.commit()
    login(client, "officer@jisr.example")
    return officer


def test_a_search_matching_nothing_does_not_walk_the_leads(app: Any, session: Session, client: Any) -> None:
    _world(session, client)
    found, page = _search(app, client, "cloud")
    assert len(_walks(found)) == 1 and "Cloud pilot" in page
    for query in ("zqxwv", "cloud zqxwv", "zqxwv ADD"):  # one word finding nothing is enough
        nothing, page = _search(app, client, query)
        assert _walks(nothing) == [], query
        assert len(nothing) == len(found) - 1, query  # the walk is the one statement saved
        assert 'data-testid="search-leads-group"' not in page or "Cloud pilot" not in page


def test_the_look_up_still_lets_through_every_way_a_lead_matches(app: Any, session: Session, client: Any) -> None:
    _world(session, client)
    for query, title in (
        ("ADD pilot", "Cloud pilot"),  # an organisation's acronym and a word of the title
        ("fintech", "Payments"),  # its sector
        ("تقنية مالية", "Payments"),  # its sector in Arabic
        ("reyes", "Payments"),  # a person of its organisation
        ("oracle payments", "Payments"),
    ):
        statements, page = _search(app, client, query)
        assert len(_walks(statements)) == 1, query
        assert title in page, query
