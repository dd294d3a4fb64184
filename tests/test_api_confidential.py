"""A confidential lead exists, through the API as on the pages, only for its owner, its
watchers and the administrators: another user's token can neither read nor change it,
nor its follow-ups, activities and events; and no row changes when it tries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, func, select

from crm.accounts.models import Role
from crm.core.events import Event
from crm.followups.models import FollowUp
from crm.leads.models import Activity, Lead, LeadWatcher
from crm.leads.operations import add_watcher, log_activity
from tests.api_helpers import bearer, make_token
from tests.factories import make_followup, make_lead, make_user


@pytest.fixture
def secret_lead(session: Session) -> dict[str, Any]:
    owner = make_user(session, email="owner@jisr.example")
    other = make_user(session, email="other@jisr.example")
    lead = make_lead(session, owner=owner, title="Confidential data-centre deal", confidential=True)
    followup = make_followup(session, lead, datetime(2030, 5, 1, 9, 0), actor=owner)
    activity = log_activity(session, lead, kind="note", body="Price agreed in private", actor=owner)
    session.commit()
    return {
        "owner": owner,
        "other": other,
        "lead": lead,
        "followup": followup,
        "activity": activity,
        "owner_token": make_token(session, owner),
        "other_token": make_token(session, other),
    }


@pytest.fixture(autouse=True)
def settled_at_once(app: Any) -> None:
    app.config["API_EVENT_FEED_SETTLE_SECONDS"] = 0  # events enter the feed as they commit


def _snapshot(session: Session, lead_id: int) -> Any:
    session.expire_all()
    lead = session.get(Lead, lead_id)
    return (
        lead.model_dump(),
        [f.model_dump() for f in session.exec(select(FollowUp).where(FollowUp.lead_id == lead_id)).all()],
        session.exec(select(func.count()).select_from(Activity)).one(),
        session.exec(select(func.count()).select_from(LeadWatcher)).one(),
        session.exec(select(func.count()).select_from(Event)).one(),
    )


def test_another_users_token_cannot_read_a_confidential_lead_or_what_hangs_from_it(
    client: Any, secret_lead: dict[str, Any]
) -> None:
    headers = bearer(secret_lead["other_token"])
    lead, followup, activity = secret_lead["lead"], secret_lead["followup"], secret_lead["activity"]
    for path in (
        f"/api/v1/leads/{lead.id}",
        f"/api/v1/followups/{followup.id}",
        f"/api/v1/activities/{activity.id}",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404, path
        assert "Confidential" not in answer.get_data(as_text=True)
    for path in ("/api/v1/leads", "/api/v1/followups", "/api/v1/activities", f"/api/v1/followups?lead_id={lead.id}"):
        assert client.get(path, headers=headers).get_json()["total"] == 0, path
    assert client.get("/api/v1/leads?q=data-centre", headers=headers).get_json()["items"] == []
    events = client.get("/api/v1/events?limit=500", headers=headers).get_json()["items"]
    assert [e for e in events if e["lead_id"] == lead.id] == []
    assert client.get(f"/api/v1/events?lead_id={lead.id}", headers=headers).get_json()["items"] == []

    mine = bearer(secret_lead["owner_token"])
    assert client.get(f"/api/v1/leads/{lead.id}", headers=mine).status_code == 200
    owner_events = client.get(f"/api/v1/events?lead_id={lead.id}", headers=mine).get_json()["items"]
    assert {"lead.created", "followup.scheduled", "activity.logged"} <= {e["type"] for e in owner_events}


def test_another_users_token_cannot_change_a_confidential_lead_and_no_row_changes(
    session: Session, client: Any, secret_lead: dict[str, Any]
) -> None:
    headers = bearer(secret_lead["other_token"])
    lead, followup = secret_lead["lead"], secret_lead["followup"]
    before = _snapshot(session, lead.id)
    attempts = [
        ("PATCH", f"/api/v1/leads/{lead.id}", {"title": "Mine now", "confidential": False}),
        ("PATCH", f"/api/v1/leads/{lead.id}", {"watcher_ids": [secret_lead["other"].id]}),
        ("POST", f"/api/v1/leads/{lead.id}/stage", {"stage": "closed_no_go"}),
        ("PATCH", f"/api/v1/followups/{followup.id}", {"status": "cancelled"}),
        ("PATCH", f"/api/v1/followups/{followup.id}", {"owner_id": secret_lead["other"].id}),
        ("DELETE", f"/api/v1/followups/{followup.id}", None),
    ]
    for method, path, body in attempts:
        answer = client.open(path, method=method, json=body, headers=headers)
        assert answer.status_code == 404, (method, path)
    for path, body in (
        ("/api/v1/followups", {"lead_id": lead.id, "title": "Sneak", "due_local": "2030-01-01T09:00:00"}),
        ("/api/v1/activities", {"lead_id": lead.id, "kind": "note", "body": "I was here"}),
    ):
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == 422
        assert answer.get_json()["errors"] == [
            {"loc": ["body", "lead_id"], "message": "Unknown lead.", "type": "invalid"}
        ]
    assert _snapshot(session, lead.id) == before


def test_a_watcher_and_an_admin_see_the_confidential_lead(
    session: Session, client: Any, secret_lead: dict[str, Any]
) -> None:
    lead = secret_lead["lead"]
    add_watcher(session, lead, secret_lead["other"].id, actor=secret_lead["owner"])
    admin_token = make_token(session, make_user(session, Role.ADMIN))
    for token in (secret_lead["other_token"], admin_token):
        assert client.get(f"/api/v1/leads/{lead.id}", headers=bearer(token)).status_code == 200
        assert client.get(f"/api/v1/activities?lead_id={lead.id}", headers=bearer(token)).get_json()["total"] == 1
