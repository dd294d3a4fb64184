"""Every API list is read page after page by cursor: walking it forwards meets each row the
caller may see once, in the list's order (ties and empty values included), and walking
back finds the same pages; a cursor that was changed or made for another list or order
answers 422 in the caller's language; counts are exact up to the bound, estimated
beyond; and a page costs the same number of statements wherever it is."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.core.time import utcnow
from crm.demo import load_demo
from crm.documents.models import Document
from crm.leads.models import PIPELINE, Lead, Stage
from crm.leads.operations import add_watcher, move_lead_to_stage
from crm.missions.operations import create_mission
from crm.organisations.models import Country
from tests.api_helpers import bearer, make_token
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.test_api_resources import counted_queries

LEAD_SORTS = ("updated_at", "created_at", "title", "stage", "estimated_value", "next_followup_due_at", "id")
STAGE_ORDER = [*PIPELINE, Stage.ON_HOLD, Stage.CLOSED_NO_GO]


@pytest.fixture
def leads(session: Session) -> dict[str, Any]:
    """An officer's leads with ties on every sort, empty values, and confidential leads of
    another officer (one of them watched by the officer)."""
    officer = make_user(session, email="officer@jisr.example")
    other = make_user(session, email="other@jisr.example")
    ma = make_organisation(session, Country.MA)
    us = make_organisation(session, Country.US)
    now = utcnow().replace(microsecond=0)
    made = []
    for n in range(17):
        value = (None, Decimal("1000"), Decimal("250000"))[n % 3]
        lead = make_lead(
            session,
            owner=other if n % 4 == 0 else officer,
            title=("Beta", "alpha", "Gamma", "beta")[n % 4],
            estimated_value=value,
            currency=None if value is None else "MAD",
            confidential=n % 4 == 0 and n % 8 != 0,
            ma_organisation_id=ma.id,
            us_organisation_id=us.id,
        )
        if n % 3:
            move_lead_to_stage(session, lead, (Stage.PROPOSAL, Stage.CONTACTED, Stage.ON_HOLD)[n % 3])
        if n % 2:
            make_followup(session, lead, datetime(2031, 1, 1 + n % 3, 9, 0))
        made.append(lead)
    watched = make_lead(
        session,
        owner=other,
        title="Watched secret",
        confidential=True,
        ma_organisation_id=ma.id,
        us_organisation_id=us.id,
    )
    add_watcher(session, watched, officer.id, actor=other)
    session.flush()
    for n, lead in enumerate([*made, watched]):
        lead.updated_at = now - timedelta(hours=n // 3)  # three leads at each instant
        lead.created_at = now - timedelta(days=n // 2)
    session.commit()
    hidden = set(session.exec(select(Lead.id).where(col(Lead.confidential), Lead.id != watched.id)).all())
    assert hidden  # the officer must not meet these
    return {"officer": officer, "token": make_token(session, officer), "hidden": hidden, "watched": watched.id}


def _walk(client: Any, path: str, headers: dict[str, str]) -> list[list[dict[str, Any]]]:
    """Every page of ``path``, following next_cursor; then back by previous_cursor, each
    page found again."""
    pages = [client.get(path, headers=headers).get_json()]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 100
        pages.append(client.get(f"{path}&cursor={pages[-1]['next_cursor']}", headers=headers).get_json())
    page = pages[-1]
    for earlier in reversed(pages[:-1]):
        page = client.get(f"{path}&cursor={page['previous_cursor']}", headers=headers).get_json()
        assert [item["id"] for item in page["items"]] == [item["id"] for item in earlier["items"]], path
    assert page["previous_cursor"] is None and page["page"] is None
    return pages


def _sort_value(item: dict[str, Any], name: str) -> Any:
    if name == "title":
        return item["title"].lower()
    if name == "stage":
        return STAGE_ORDER.index(Stage(item["stage"]))
    if name == "estimated_value":
        return None if item["estimated_value"] is None else Decimal(item["estimated_value"])
    return item[name]


def _in_order(items: list[dict[str, Any]], sort: str) -> bool:
    """Whether ``items`` follow ``sort``: by the value, empty values last, ties by id."""
    name, descending = sort.removeprefix("-"), sort.startswith("-")
    keys = [(_sort_value(item, name), item["id"]) for item in items]
    for (value, ident), (then, then_ident) in pairwise(keys):
        if value is None or then is None:
            if value is None and (then is not None or (then_ident > ident) == descending):
                return False
            continue
        if value == then:
            if (then_ident < ident) != descending:
                return False
        elif (then < value) != descending:
            return False
    return True


@pytest.mark.parametrize("sort", [*LEAD_SORTS, *(f"-{s}" for s in LEAD_SORTS)])
def test_leads_walked_by_cursor_meet_every_visible_lead_once_in_order(
    session: Session, client: Any, leads: dict[str, Any], sort: str
) -> None:
    headers = bearer(leads["token"])
    whole = client.get(f"/api/v1/leads?sort={sort}&limit=100", headers=headers).get_json()
    ids = [item["id"] for item in whole["items"]]
    visible = set(session.exec(select(Lead.id)).all()) - leads["hidden"]
    assert sorted(ids) == sorted(visible) and leads["watched"] in ids
    assert _in_order(whole["items"], sort), [(_sort_value(i, sort.removeprefix("-")), i["id"]) for i in whole["items"]]
    assert any(_sort_value(i, sort.removeprefix("-")) is None for i in whole["items"]) == (
        sort.removeprefix("-") in ("estimated_value", "next_followup_due_at")
    )
    for limit in (1, 4):
        pages = _walk(client, f"/api/v1/leads?sort={sort}&limit={limit}", headers)
        assert [item["id"] for page in pages for item in page["items"]] == ids, limit
        assert all(len(page["items"]) == limit for page in pages[:-1])
        assert {(page["total"], page["total_exact"]) for page in pages} == {(len(ids), True)}


def test_the_link_header_names_the_pages_with_the_filters_kept(client: Any, leads: dict[str, Any]) -> None:
    headers = bearer(leads["token"])
    path = "/api/v1/leads?stage=proposal&stage=contacted&sort=title&limit=2"
    expected = [i["id"] for i in client.get(path.replace("limit=2", "limit=100"), headers=headers).get_json()["items"]]
    assert len(expected) > 4
    answer = client.get(path, headers=headers)
    seen = [i["id"] for i in answer.get_json()["items"]]
    assert "prev" not in answer.headers["Link"]
    while "Link" in answer.headers and 'rel="next"' in answer.headers["Link"]:
        links = dict(
            (part.split(";")[1].strip(), part.split(";")[0].strip()[1:-1])
            for part in answer.headers["Link"].split(", ")
        )
        address = urlsplit(links['rel="next"'])
        query = parse_qs(address.query)
        assert query["stage"] == ["proposal", "contacted"] and query["sort"] == ["title"] and "page" not in query
        answer = client.get(f"{address.path}?{address.query}", headers=headers)
        assert 'rel="prev"' in answer.headers["Link"]
        seen += [i["id"] for i in answer.get_json()["items"]]
    assert seen == expected
    # A search with the header's own separators in it (punctuation is no word: it finds the "beta" leads).
    answer = client.get("/api/v1/leads?limit=1&q=%3Cbeta%3E%2C%3B%22", headers=headers)
    ((address, rel),) = [part.split("; ") for part in answer.headers["Link"].split(", ")]
    assert rel == 'rel="next"' and address.startswith("<") and address.endswith(">")
    assert not set(address[1:-1]) & set('<>,;" ')
    assert parse_qs(urlsplit(address[1:-1]).query)["q"] == ['<beta>,;"']


def test_a_page_number_still_works_and_hands_out_cursors(client: Any, leads: dict[str, Any]) -> None:
    headers = bearer(leads["token"])
    whole = [i["id"] for i in client.get("/api/v1/leads?sort=title&limit=100", headers=headers).get_json()["items"]]
    second = client.get("/api/v1/leads?sort=title&limit=3&page=2", headers=headers).get_json()
    assert second["page"] == 2 and [i["id"] for i in second["items"]] == whole[3:6]
    after = client.get(f"/api/v1/leads?sort=title&limit=3&cursor={second['next_cursor']}", headers=headers).get_json()
    assert [i["id"] for i in after["items"]] == whole[6:9] and after["page"] is None
    before = client.get(f"/api/v1/leads?sort=title&limit=3&cursor={second['previous_cursor']}", headers=headers)
    assert [i["id"] for i in before.get_json()["items"]] == whole[:3]
    beyond = client.get("/api/v1/leads?sort=title&limit=3&page=99", headers=headers).get_json()
    assert beyond["items"] == [] and beyond["next_cursor"] is None and beyond["previous_cursor"] is None


MESSAGES = {
    "en": "This cursor does not belong to this list and order: start again without it.",
    "fr": "Ce curseur n’appartient pas à cette liste dans cet ordre : recommencez sans lui.",
    "ar": "هذا المؤشر لا يخص هذه القائمة بهذا الترتيب: ابدأ من جديد بدونه.",
}
BOTH = {
    "en": "Give either a cursor or a page number, not both.",
    "fr": "Donnez un curseur ou un numéro de page, pas les deux.",
    "ar": "أعطِ مؤشرًا أو رقم صفحة، لا الاثنين معًا.",
}


@pytest.mark.parametrize("language", sorted(MESSAGES))
def test_a_changed_or_foreign_cursor_answers_422_in_the_callers_language(
    client: Any, leads: dict[str, Any], language: str
) -> None:
    headers = bearer(leads["token"], language=language)
    cursor = client.get("/api/v1/leads?sort=title&limit=2", headers=headers).get_json()["next_cursor"]
    changed = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for path in (
        f"/api/v1/leads?sort=title&cursor={changed}",
        f"/api/v1/leads?sort=-title&cursor={cursor}",  # another order
        f"/api/v1/leads?sort=stage&cursor={cursor}",
        f"/api/v1/organisations?sort=name&cursor={cursor}",  # another list
        "/api/v1/leads?cursor=abc",
        "/api/v1/followups?cursor=W10.x",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 422, path
        assert answer.content_type == "application/problem+json"
        (error,) = answer.get_json()["errors"]
        assert (error["loc"], error["type"], error["message"]) == (["query", "cursor"], "invalid", MESSAGES[language])
    both = client.get(f"/api/v1/leads?sort=title&page=2&cursor={cursor}", headers=headers)
    assert both.status_code == 422
    assert both.get_json()["errors"][0]["message"] == BOTH[language]
    assert client.get(f"/api/v1/leads?sort=title&page=1&cursor={cursor}", headers=headers).status_code == 200


def test_the_count_is_exact_up_to_the_bound_and_an_estimate_beyond(
    app: Any, client: Any, leads: dict[str, Any]
) -> None:
    headers = bearer(leads["token"])
    exact = client.get("/api/v1/leads?limit=2", headers=headers).get_json()
    assert exact["total_exact"] and exact["total"] == 17 - len(leads["hidden"]) + 1
    app.config["LIST_EXACT_COUNT_LIMIT"] = 5
    beyond = client.get("/api/v1/leads?limit=2", headers=headers).get_json()
    assert not beyond["total_exact"] and beyond["total"] >= 6
    few = client.get("/api/v1/leads?limit=100&stage=on_hold", headers=headers).get_json()
    assert few["total_exact"] and few["total"] == len(few["items"]) <= 5


def test_a_page_past_the_end_still_counts_the_whole_list(client: Any, leads: dict[str, Any]) -> None:
    """The count comes with a page's rows; a page with none (by number, past the end, or a
    filter that meets nothing) counts the list on its own, visibility included."""
    headers = bearer(leads["token"])
    seen = 17 - len(leads["hidden"]) + 1
    past = client.get("/api/v1/leads?limit=10&page=9", headers=headers).get_json()
    assert past["items"] == [] and (past["total"], past["total_exact"]) == (seen, True)
    nothing = client.get("/api/v1/leads?limit=10&stage=agreement_signed", headers=headers)
    assert nothing.status_code == 200, nothing.get_json()
    assert (nothing.get_json()["items"], nothing.get_json()["total"]) == ([], 0)


def test_confidential_leads_never_reach_another_officer_while_paging(
    session: Session, client: Any, leads: dict[str, Any]
) -> None:
    stranger = make_user(session, email="stranger@jisr.example")
    headers = bearer(make_token(session, stranger))
    secret = set(session.exec(select(Lead.id).where(col(Lead.confidential))).all())
    for sort in ("-updated_at", "title", "-estimated_value", "next_followup_due_at"):
        pages = _walk(client, f"/api/v1/leads?sort={sort}&limit=2", headers)
        seen = [item["id"] for page in pages for item in page["items"]]
        assert len(seen) == len(set(seen)) and not secret & set(seen)
        assert {page["total"] for page in pages} == {len(seen)}


LISTS = {
    "organisations": ("name", "created_at", "updated_at", "id"),
    "contacts": ("name", "created_at", "updated_at", "id"),
    "missions": ("starts_on", "name", "created_at", "id"),
    "meetings": ("starts_at", "created_at", "updated_at", "id"),
    "followups": ("due_at", "created_at", "updated_at", "id"),
    "activities": ("occurred_at", "created_at", "id"),
    "subscriptions": ("name", "created_at", "id"),
    "users": ("name", "id"),
    "sectors": (None,),
}


def test_every_list_walked_by_cursor_meets_each_row_once_in_order(app: Any, session: Session, client: Any) -> None:
    app.config["API_EVENT_FEED_SETTLE_SECONDS"] = 0
    load_demo(session)
    officer = session.exec(select(User).where(User.email == "officer@jisr.example")).one()
    assert officer.role == Role.OFFICER
    for n in range(3):  # the demo has one mission: three more, two starting the same day
        create_mission(
            session, name=f"Mission {n}", starts_on=date(2027, 2, 1 + n // 2), ends_on=date(2027, 2, 9), actor=officer
        )
    session.commit()
    headers = bearer(make_token(session, officer))
    for name, sorts in LISTS.items():
        for sort in sorts:
            for order in [sort, f"-{sort}"] if sort else [None]:
                path = f"/api/v1/{name}?limit=100" + (f"&sort={order}" if order else "")
                whole = client.get(path, headers=headers).get_json()
                ids = [item["id"] for item in whole["items"]]
                assert len(ids) > 3 and whole["next_cursor"] is None, (path, len(ids))
                pages = _walk(client, path.replace("limit=100", "limit=3"), headers)
                assert [item["id"] for page in pages for item in page["items"]] == ids, path


def test_a_page_costs_the_same_statements_wherever_it_is(
    app: Any, session: Session, client: Any, leads: dict[str, Any]
) -> None:
    headers = bearer(leads["token"])
    client.get("/api/v1/me", headers=headers)  # the token's "last used" stamp, once a minute
    for sort in ("-updated_at", "title", "-next_followup_due_at"):
        counts = set()
        for limit in (1, 3):
            path = f"/api/v1/leads?sort={sort}&limit={limit}"
            with counted_queries() as statements:
                first = client.get(path, headers=headers).get_json()
            counts.add(len(statements))
            with counted_queries() as statements:
                second = client.get(f"{path}&cursor={first['next_cursor']}", headers=headers).get_json()
            counts.add(len(statements))
            with counted_queries() as statements:
                client.get(f"{path}&cursor={second['next_cursor']}", headers=headers)
            counts.add(len(statements))
            with counted_queries() as statements:
                client.get(f"{path}&page=3", headers=headers)
            counts.add(len(statements))
        assert len(counts) == 1 and counts.pop() <= 5, sort


def test_an_estimate_beyond_the_bound_on_postgresql_reads_the_planner(
    app: Any, session: Session, client: Any, leads: dict[str, Any], backend: str
) -> None:
    app.config["LIST_EXACT_COUNT_LIMIT"] = 3
    session.execute(sa.text("ANALYZE lead") if backend == "postgresql" else sa.text("ANALYZE"))
    session.commit()
    headers = bearer(leads["token"])
    with counted_queries() as statements:  # a filter on an instant: the estimate needs its literal form
        page = client.get("/api/v1/leads?limit=2&overdue=false", headers=headers).get_json()
    assert not page["total_exact"] and page["total"] >= 4
    explained = [s for s in statements if s.startswith("EXPLAIN")]
    assert len(explained) == (1 if backend == "postgresql" else 0)


def test_a_leads_documents_are_paged_newest_first(session: Session, client: Any, leads: dict[str, Any]) -> None:
    lead = session.exec(select(Lead).where(Lead.owner_id == leads["officer"].id)).first()
    assert lead is not None
    now = utcnow()
    session.execute(
        sa.insert(Document),
        [
            {
                "lead_id": lead.id,
                "file_name": f"Draft {n}.pdf",
                "content_type": "application/pdf",
                "size": 10,
                "sha256": "0" * 64,
                "storage_key": f"lead/{lead.id}/{n:032d}",
                "uploaded_at": now - timedelta(hours=n // 2),  # two at each instant
            }
            for n in range(7)
        ],
    )
    session.commit()
    headers = bearer(leads["token"])
    whole = client.get(f"/api/v1/leads/{lead.id}/documents", headers=headers).get_json()
    ids = [item["id"] for item in whole["items"]]
    assert len(ids) == 7 and whole["total"] == 7 and whole["next_cursor"] is None
    assert [item["uploaded_at"] for item in whole["items"]] == sorted(
        (item["uploaded_at"] for item in whole["items"]), reverse=True
    )
    pages = _walk(client, f"/api/v1/leads/{lead.id}/documents?limit=2", headers)
    assert [item["id"] for page in pages for item in page["items"]] == ids


def test_the_openapi_document_and_the_docs_page_tell_cursor_paging(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    lists = [op for path in doc["paths"].values() for op in path.values() if op["operationId"].startswith("list_")]
    assert len(lists) == 12
    for op in lists:
        if op["operationId"] == "list_events":  # the feed has a cursor of its own
            assert "cursor" not in {p["name"] for p in op["parameters"]}
            continue
        (cursor,) = [p for p in op["parameters"] if p["name"] == "cursor"]
        assert cursor["schema"]["type"] == "string" and not cursor["required"]
        assert "Link" in op["responses"]["200"]["headers"]
        envelope = doc["components"]["schemas"][
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        ]
        assert {"total", "total_exact", "next_cursor", "previous_cursor", "page"} <= set(envelope["required"])
        assert "estimate" in envelope["properties"]["total"]["description"]
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "next_cursor" in page and "total_exact" in page and "Link names the pages beside it" in page
