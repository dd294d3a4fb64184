"""The pipeline board: columns per stage, moving cards (pointer, keyboard, no JavaScript)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from crm.accounts.models import Role
from crm.core.db import db
from crm.core.events import Event
from crm.leads.board import BOARD_CARDS
from crm.leads.models import PIPELINE, Lead, Stage
from crm.leads.operations import move_lead_to_stage
from tests.conftest import make_test_app
from tests.factories import PASSWORD, make_followup, make_lead, make_organisation, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

HX = {"HX-Request": "true"}


def column_of(page: str, lead_id: int) -> str:
    """The data-stage of the column that holds the card of ``lead_id``."""
    card = page.index(f'data-lead-id="{lead_id}"')
    return re.findall(r'<section class="board-column" data-stage="([a-z_]+)"', page[:card])[-1]


def test_board_has_a_column_per_stage_and_cards_with_what_matters(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", name="Yasmine")
    add = make_organisation(session, "MA", acronym="ADD", name_fr="Agence de Développement du Digital")
    oracle = make_organisation(session, "US", name_en="Oracle")
    lead = make_lead(
        session,
        owner=me,
        title="Sovereign cloud",
        ma_organisation_id=add.id,
        us_organisation_id=oracle.id,
        estimated_value="1000000",
        currency="USD",
    )
    move_lead_to_stage(session, lead, Stage.PROPOSAL)
    make_followup(session, lead, datetime(2030, 3, 15, 9))
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/pipeline").get_data(as_text=True)
    stages = re.findall(r'<section class="board-column" data-stage="([a-z_]+)"', page)
    assert stages == [*[s.value for s in PIPELINE], "on_hold", "closed_no_go"]
    assert column_of(page, lead.id) == "proposal"
    card = page[page.index(f'id="card-{lead.id}"') :]
    card = card[: card.index("</li>")]
    assert "Sovereign cloud" in card and "ADD" in card and "Oracle" in card and "Yasmine" in card
    assert "1 000 000" in card.replace("\u202f", " ").replace("\xa0", " ")  # the value, formatted
    assert "2030" in card  # the next due date
    assert 'draggable="true"' in card and f'href="/pipeline/{lead.id}/move' in card  # its "Move to…"


def test_moving_a_card_records_the_stage_change(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    lead = make_lead(session, owner=me)
    session.commit()
    login(client, "officer@jisr.example")
    response = client.post(f"/pipeline/{lead.id}/move", data={"stage": "negotiation", "filters": f"owner={me.id}"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/pipeline?owner={me.id}#card-{lead.id}")
    session.expire_all()
    assert session.get(Lead, lead.id).stage == Stage.NEGOTIATION
    event = session.exec(select(Event).where(Event.type == "lead.stage_changed")).one()
    assert event.actor_id == me.id and event.lead_id == lead.id
    assert event.payload["from"] == "identified" and event.payload["to"] == "negotiation"


def test_moving_with_htmx_answers_the_redrawn_board(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    lead = make_lead(session, owner=me)
    make_lead(session, title="Someone else's")
    session.commit()
    login(client, "officer@jisr.example")
    response = client.post(
        f"/pipeline/{lead.id}/move", data={"stage": "contacted", "filters": f"owner={me.id}"}, headers=HX
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="board"') and "<html" not in fragment
    assert column_of(fragment, lead.id) == "contacted"
    assert "Someone else&#39;s" not in fragment  # the board keeps its filters


def test_a_bad_stage_is_a_400_and_moves_nothing(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    lead = make_lead(session, owner=me)
    session.commit()
    login(client, "officer@jisr.example")
    assert client.post(f"/pipeline/{lead.id}/move", data={"stage": "won"}, headers=HX).status_code == 400
    assert session.exec(select(Event).where(Event.type == "lead.stage_changed")).first() is None


def test_viewers_see_the_board_but_cannot_move(session: Session, client: Any) -> None:
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    lead = make_lead(session)
    session.commit()
    login(client, "viewer@jisr.example")
    page = client.get("/pipeline").get_data(as_text=True)
    assert f'data-lead-id="{lead.id}"' in page
    assert 'draggable="true"' not in page and "board-move" not in page
    assert client.post(f"/pipeline/{lead.id}/move", data={"stage": "proposal"}).status_code == 403
    session.expire_all()
    assert session.get(Lead, lead.id).stage == Stage.IDENTIFIED


def test_confidential_cards_are_hidden_and_cannot_be_moved(session: Session, client: Any) -> None:
    owner = make_user(session)
    make_user(session, email="other@jisr.example")
    lead = make_lead(session, owner=owner, title="Secret", confidential=True)
    session.commit()
    login(client, "other@jisr.example")
    assert f'data-lead-id="{lead.id}"' not in client.get("/pipeline").get_data(as_text=True)
    assert client.post(f"/pipeline/{lead.id}/move", data={"stage": "proposal"}).status_code == 404


def test_board_is_right_to_left_in_arabic(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example", language="ar")
    make_lead(session)
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/pipeline").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "pipeline.js" in page
    # Columns are in pipeline order in the document; the flex row follows dir="rtl".
    assert page.index('data-stage="identified"') < page.index('data-stage="proposal"')


def test_board_filters_and_needs_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    make_lead(session, owner=me, title="Mine")
    make_lead(session, title="Theirs")
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get(f"/pipeline?owner={me.id}").get_data(as_text=True)
    assert "Mine" in page and "Theirs" not in page
    with count_queries(app) as few:
        client.get("/pipeline")
    for n in range(30):
        lead = make_lead(session, owner=make_user(session))
        move_lead_to_stage(session, lead, PIPELINE[n % len(PIPELINE)])
    session.commit()
    with count_queries(app) as many:
        assert client.get("/pipeline").status_code == 200
    assert len(many) == len(few)


def _more_link(page: str, stage: str) -> str:
    found = re.search(rf'<div class="board-more-slot" id="more-{stage}">.*?</div>', page, re.S)
    assert found is not None
    href = re.search(r'href="([^"]+)"', found.group(0))
    return href.group(1).replace("&amp;", "&") if href else ""


def test_a_full_column_shows_more_cards_on_demand(app: Any, session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="en")
    other = make_user(session)
    secret = make_lead(session, owner=other, title="Someone's secret", confidential=True)
    leads = [make_lead(session, owner=me) for _ in range(2 * BOARD_CARDS + 5)]
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/pipeline").get_data(as_text=True)
    assert page.count("board-card mb-2") == BOARD_CARDS
    assert f"Show more ({BOARD_CARDS + 5} not shown)" in page
    newest_first = [lead.id for lead in reversed(leads)]
    seen = [int(i) for i in re.findall(r'data-lead-id="(\d+)"', page)]
    link = _more_link(page, "identified")
    assert link.startswith("/pipeline/more?more=identified&after=")
    pages = 0
    while link:
        # With htmx: the cards join the column out of band, the next link replaces this one.
        with count_queries(app) as statements:
            fragment = client.get(link, headers=HX).get_data(as_text=True)
        assert len(statements) <= 4  # the session's user, the cards (and the login session)
        assert fragment.startswith('<ol hx-swap-oob="beforeend:#cards-identified">') or "\n<ol hx-swap" in fragment
        seen += [int(i) for i in re.findall(r'data-lead-id="(\d+)"', fragment)]
        # Without JavaScript: the same cards on a page of their own.
        plain = client.get(link).get_data(as_text=True)
        assert "Back to the pipeline" in plain and plain.count("board-card mb-2") == fragment.count("board-card mb-2")
        link = _more_link(fragment, "identified")
        pages += 1
    assert pages == 2 and seen == newest_first and secret.id not in seen
    # Garbage in the keyset starts from the top rather than failing.
    assert client.get("/pipeline/more?more=identified&after=99999999999999999999.1", headers=HX).status_code == 200
    assert client.get("/pipeline/more?more=nonsense&after=x").status_code == 200


@pytest.fixture
def csrf_app(database_url: str) -> Iterator[Any]:
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["jisr.db"][0].dispose()


def test_htmx_moves_pass_csrf_with_the_token_from_the_meta_tag(csrf_app: Any) -> None:
    """jisr.js copies <meta name="csrf-token"> into the X-CSRFToken header of htmx requests."""
    with csrf_app.app_context():
        me = make_user(db.session, email="officer@jisr.example")
        lead_id = make_lead(db.session, owner=me).id
        db.session.commit()
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": "officer@jisr.example", "password": PASSWORD, "csrf_token": token})
    page = client.get("/pipeline").get_data(as_text=True)
    assert "htmx.min.js" in page and "jisr.js" in page
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    url = f"/pipeline/{lead_id}/move"
    assert client.post(url, data={"stage": "proposal"}, headers=HX).status_code == 400  # no token
    response = client.post(url, data={"stage": "proposal"}, headers={**HX, "X-CSRFToken": meta})
    assert response.status_code == 200
    assert client.get("/static/jisr.js").status_code == 200
    assert b"X-CSRFToken" in client.get("/static/jisr.js").data
    assert client.get("/static/pipeline.js").status_code == 200
