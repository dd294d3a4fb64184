"""The event feed: every event the caller may see, oldest first, read on with a cursor
that never skips one, even when a transaction commits after a later one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm.accounts.models import Role
from crm.core.db import db
from crm.core.events import Event
from crm.leads.operations import save_filter
from crm.organisations.operations import create_organisation
from tests.api_helpers import bearer, make_token
from tests.factories import make_lead, make_organisation, make_user


@pytest.fixture(autouse=True)
def settled_at_once(app: Any) -> None:
    """No margin for clock skew: in a test, an event may enter the feed as it commits."""
    app.config["API_EVENT_FEED_SETTLE_SECONDS"] = 0


def _read_all(
    client: Any, headers: dict[str, str], after: str = "", limit: int = 2
) -> tuple[list[dict[str, Any]], str]:
    found: list[dict[str, Any]] = []
    cursor = after
    while True:
        page = client.get(f"/api/v1/events?limit={limit}" + (f"&after={cursor}" if cursor else ""), headers=headers)
        assert page.status_code == 200
        body = page.get_json()
        found += body["items"]
        if not body["items"]:
            assert body["next_cursor"] == (cursor or "0")
            return found, body["next_cursor"]
        cursor = body["next_cursor"]


def test_the_feed_is_read_oldest_first_with_a_cursor(session: Session, client: Any) -> None:
    admin = make_user(session, Role.ADMIN)
    for n in range(3):
        make_organisation(session, name_en=f"Org {n}")
    token = make_token(session, admin)
    headers = bearer(token)
    events, cursor = _read_all(client, headers)
    stored = session.exec(select(Event.id).order_by(col(Event.id))).all()
    assert [e["id"] for e in events] == list(stored)
    assert events[-1]["type"] == "api_token.created" and "payload" in events[-1]

    make_lead(session, owner=make_user(session))
    session.commit()
    newer, _ = _read_all(client, headers, after=cursor)
    assert newer and all(e["id"] > int(cursor) for e in newer)
    assert "lead.created" in {e["type"] for e in newer}
    assert (
        client.get(f"/api/v1/events?after={cursor}&type=lead.created", headers=headers).get_json()["items"][0]["type"]
        == "lead.created"
    )


def test_the_feed_shows_only_what_the_caller_may_see(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    other = make_user(session, email="other@jisr.example")
    viewer = make_user(session, Role.VIEWER)
    secret = make_lead(session, owner=other, confidential=True)
    public = make_lead(session, owner=other)
    save_filter(session, other, name="Mine", query="owner=me")
    make_token(session, other)
    from crm.digests.operations import create_subscription

    create_subscription(session, name="Stakeholder", email="s@example.org", actor=other)
    session.commit()

    seen, _ = _read_all(client, bearer(make_token(session, officer)), limit=100)
    lead_ids = {e["lead_id"] for e in seen if e["lead_id"]}
    assert public.id in lead_ids and secret.id not in lead_ids
    assert not [e for e in seen if e["entity_type"] == "user_account" and e["entity_id"] == other.id]
    assert not [e for e in seen if e["entity_type"] in ("saved_filter",)]
    assert [e["payload"]["user_id"] for e in seen if e["type"] == "api_token.created"] == [officer.id]
    assert "subscription.created" in {e["type"] for e in seen}
    assert "organisation.created" in {e["type"] for e in seen}

    by_viewer, _ = _read_all(client, bearer(make_token(session, viewer, scope="read")), limit=100)
    assert "subscription.created" not in {e["type"] for e in by_viewer}
    by_admin, _ = _read_all(client, bearer(make_token(session, make_user(session, Role.ADMIN))), limit=100)
    assert secret.id in {e["lead_id"] for e in by_admin}
    assert "saved_filter.created" in {e["type"] for e in by_admin}


def test_a_cursor_and_a_limit_out_of_bounds_are_refused(session: Session, client: Any) -> None:
    headers = bearer(make_token(session, make_user(session)))
    for query in ("after=abc", "after=-1", "limit=501", "limit=0"):
        answer = client.get(f"/api/v1/events?{query}", headers=headers)
        assert answer.status_code == 422, query
        assert answer.get_json()["errors"][0]["loc"][0] == "query"


def test_an_event_committed_after_a_later_one_is_not_skipped(session: Session, client: Any, backend: str) -> None:
    """Event ids are handed out at insert, not at commit: a writer that began first may
    commit last with the lower id.  Its event, and those after it, wait for it."""
    admin = make_user(session, Role.ADMIN)
    headers = bearer(make_token(session, admin))
    _, cursor = _read_all(client, headers, limit=100)

    slow = Session(db.engine)
    try:
        create_organisation(slow, country="MA", kind="agency", name_fr="Agence lente", actor=None)
        slow.flush()  # its event has its id now, and its transaction is open
        slow_event = slow.exec(select(Event.id).where(Event.type == "organisation.created").order_by(Event.id)).all()[
            -1
        ]
        if backend == "postgresql":  # PostgreSQL lets a second writer commit meanwhile
            quick = client.post(
                "/api/v1/organisations",
                json={"country": "US", "kind": "company", "name_en": "Quick Inc"},
                headers=headers,
            )
            assert quick.status_code == 201
        assert _read_all(client, headers, after=cursor)[0] == []
        slow.commit()
    finally:
        slow.close()
    events, _ = _read_all(client, headers, after=cursor)
    names = [e["payload"].get("name_fr") or e["payload"].get("name_en") for e in events]
    assert events[0]["id"] == slow_event
    assert names == (["Agence lente", "Quick Inc"] if backend == "postgresql" else ["Agence lente"])
