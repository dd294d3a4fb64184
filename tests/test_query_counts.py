"""Pages at scale: each page runs the same number of SQL statements whatever the number of
rows behind it, and the lead lists' pages follow one another in every order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.followups.operations import complete_followup
from crm.leads.filters import SORTS, LeadFilter, ordering, sort_key
from crm.leads.models import Lead, Stage
from crm.leads.next_due import live_next_due
from crm.leads.operations import add_watcher, log_activity, move_lead_to_stage, update_lead
from crm.leads.queries import lead_window, visible_to
from crm.organisations.models import Country
from crm.organisations.operations import create_contact
from tests.api_helpers import bearer, make_token
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

SOON, LATER = datetime(2030, 1, 1, 9), datetime(2030, 6, 1, 9)


def _statements(app: Any, client: Any, *paths: str) -> list[int]:
    counts = []
    for path in paths:
        with count_queries(app) as statements:
            assert client.get(path).status_code == 200, path
        counts.append(len(statements))
    return counts


def test_search_runs_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    add = make_organisation(session, Country.MA, acronym="ADD", name_fr="Agence Cloud")
    make_lead(session, owner=officer, title="Cloud pilot", ma_organisation_id=add.id)
    create_contact(session, organisation_id=add.id, name="Cloud Contact", actor=officer)
    session.commit()
    login(client, "officer@jisr.example")
    paths = ("/search?q=cloud", "/search?q=add+pilot", "/search?q=nothing")
    few = _statements(app, client, *paths)
    for n in range(30):
        org = make_organisation(session, Country.US, name_en=f"Cloud Systems {n}")
        make_lead(session, title=f"Cloud {n}", us_organisation_id=org.id, confidential=n % 3 == 0)
        create_contact(session, organisation_id=org.id, name=f"Cloud person {n}", actor=officer)
    session.commit()
    assert _statements(app, client, *paths) == few


def _busy_lead(session: Session, lead: Lead, officer: User, others: list[User], n: int) -> None:
    """Events of every kind the timeline tells, ``n`` times over."""
    for k in range(n):
        add_watcher(session, lead, others[k % len(others)].id, actor=officer)
        followup = make_followup(session, lead, SOON, owner_id=others[k % len(others)].id)
        log_activity(session, lead, kind="call", body=f"Call {k}", actor=officer)
        update_lead(session, lead, actor=officer, priority="high" if k % 2 == 0 else "normal")
        move_lead_to_stage(session, lead, Stage.CONTACTED if k % 2 == 0 else Stage.PROPOSAL, actor=officer)
        if k % 2:
            complete_followup(session, followup, actor=officer)


def test_lead_page_runs_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    others = [make_user(session) for _ in range(3)]
    lead = make_lead(session, owner=officer)
    _busy_lead(session, lead, officer, others, 2)
    session.commit()
    login(client, "officer@jisr.example")
    few = _statements(app, client, f"/leads/{lead.id}")
    _busy_lead(session, lead, officer, others, 40)  # 200 and more events: the timeline's first page is full
    session.commit()
    assert _statements(app, client, f"/leads/{lead.id}") == few


def test_follow_ups_pages_run_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    make_user(session, email="admin@jisr.example", role=Role.ADMIN)
    make_followup(session, make_lead(session, owner=officer), SOON, owner_id=officer.id)
    session.commit()
    login(client, "officer@jisr.example")
    mine_few = _statements(app, client, "/followups")
    client.post("/logout")
    login(client, "admin@jisr.example")
    all_few = _statements(app, client, "/followups?owner=all")
    for n in range(30):
        owner = officer if n % 2 else make_user(session)
        lead = make_lead(session, owner=owner, confidential=n % 5 == 0)
        make_followup(session, lead, SOON if n % 3 else datetime(2020, 1, 1, 9), owner_id=owner.id)
    session.commit()
    assert _statements(app, client, "/followups?owner=all") == all_few
    client.post("/logout")
    login(client, "officer@jisr.example")
    assert _statements(app, client, "/followups") == mine_few


def test_organisation_page_runs_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    add = make_organisation(session, Country.MA, acronym="ADD")
    make_lead(session, owner=officer, ma_organisation_id=add.id)
    create_contact(session, organisation_id=add.id, name="First contact", actor=officer)
    session.commit()
    login(client, "officer@jisr.example")
    few = _statements(app, client, f"/organisations/{add.id}")
    for n in range(30):
        make_lead(session, ma_organisation_id=add.id, confidential=n % 4 == 0)
        create_contact(session, organisation_id=add.id, name=f"Contact {n}", actor=officer)
    session.commit()
    assert _statements(app, client, f"/organisations/{add.id}") == few


def _leads_with_ties(session: Session) -> User:
    """Leads sharing titles, owners, stages, values and next follow-ups (or having none)."""
    officer = make_user(session, email="officer@jisr.example", name="Zoe")
    adam = make_user(session, name="adam")
    for n in range(13):
        lead = make_lead(
            session,
            owner=officer if n % 3 else adam,
            title=("Beta", "alpha", "Gamma")[n % 3],
            estimated_value=("1000", "250000", None)[n % 3],
            currency=("MAD", "USD", None)[n % 3],
            confidential=n % 5 == 0,
        )
        if n % 4:
            move_lead_to_stage(session, lead, (Stage.PROPOSAL, Stage.CONTACTED, Stage.ON_HOLD)[n % 3])
        if n % 2:
            make_followup(session, lead, SOON if n % 3 else LATER)
    session.commit()
    return officer


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", SORTS)
def test_list_pages_follow_one_another_in_every_order(session: Session, sort: str, descending: bool) -> None:
    """Page by page, the list shows the leads in the export's order: none twice, none left out."""
    officer = _leads_with_ties(session)
    lead_filter = LeadFilter(sort=sort, descending=descending)
    owner_name = func.coalesce(func.nullif(User.name, ""), User.email)
    # The next follow-up as computed from the follow-ups now, not as stored on the lead.
    key = live_next_due() if sort == "next_due" else sort_key(lead_filter, owner_name)
    expected = list(
        session.exec(
            select(Lead.id)
            .join(User, col(User.id) == col(Lead.owner_id))
            .where(visible_to(officer))
            .order_by(*ordering(lead_filter, key, col(Lead.id)))
        ).all()
    )
    pages = [lead_window(session, officer, per_page=5, lead_filter=lead_filter)]
    while pages[-1].next_cursor:
        pages.append(lead_window(session, officer, cursor=pages[-1].next_cursor, per_page=5, lead_filter=lead_filter))
    assert [row.id for page in pages for row in page.rows] == expected
    assert {page.count.value for page in pages} == {len(expected)} and pages[0].count.exact
    back = pages[-1]
    for earlier in reversed(pages[:-1]):  # and back again, page by page
        back = lead_window(session, officer, cursor=back.previous_cursor, per_page=5, lead_filter=lead_filter)
        assert [row.id for row in back.rows] == [row.id for row in earlier.rows]
    assert back.previous_cursor is None


@pytest.mark.parametrize("sort", ["next_followup_due_at", "-next_followup_due_at", "-estimated_value", "title"])
def test_api_lead_pages_follow_one_another(session: Session, client: Any, sort: str) -> None:
    officer = _leads_with_ties(session)
    headers = bearer(make_token(session, officer))
    whole = client.get(f"/api/v1/leads?sort={sort}&limit=100", headers=headers).get_json()
    pages = [client.get(f"/api/v1/leads?sort={sort}&limit=4&page={p}", headers=headers).get_json() for p in (1, 2, 3)]
    assert [item["id"] for page in pages for item in page["items"]] == [item["id"] for item in whole["items"]]
    assert {page["total"] for page in pages} == {whole["total"]} == {len(whole["items"])}
