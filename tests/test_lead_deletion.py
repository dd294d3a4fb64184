"""Deleting a lead logged by mistake: only its owner or an administrator may; what hangs
from it goes with it; its watchers are told; the event log keeps what it was; digests,
webhooks and the API carry on without it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session, func, select

from crm.accounts.models import Role
from crm.core.consumers import consume
from crm.core.events import Event
from crm.digests.compile import compile_digest
from crm.digests.models import Cadence
from crm.digests.periods import latest_due_period
from crm.followups.models import FollowUp, ReminderRung
from crm.followups.reminders import plan_followup
from crm.leads.models import Activity, Lead, LeadWatcher
from crm.leads.operations import add_watcher, log_activity
from crm.notifications.models import Notification
from crm.webhooks.consumers import endpoints_for
from crm.webhooks.operations import create_webhook_endpoint
from tests.api_helpers import bearer, make_token
from tests.digest_helpers import SEND_AT, prepare_week
from tests.factories import make_followup, make_lead, make_user
from tests.web_helpers import login


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def _lead_with_history(session: Session) -> tuple[Any, Any, Lead]:
    owner = make_user(session, email="leila@jisr.example", name="Leïla", language="en")
    watcher = make_user(session, email="omar@jisr.example", name="Omar", language="en")
    lead = make_lead(session, owner=owner, title="Cloud pilot for ADD")
    followup = make_followup(session, lead, datetime(2030, 3, 1, 10, 0), actor=owner)
    make_followup(session, lead, datetime(2030, 4, 1, 10, 0), actor=owner, title="Second step")
    log_activity(session, lead, kind="note", body="Spoke with ADD.", actor=owner)
    add_watcher(session, lead, watcher.id, actor=owner)
    session.flush()
    plan_followup(session, followup)
    session.commit()
    return owner, watcher, lead


def test_the_owner_sees_what_goes_with_the_lead_then_deletes_it(session: Session, client: Any) -> None:
    _, _, lead = _lead_with_history(session)
    lead_id = lead.id
    assert _count(session, ReminderRung) > 0
    login(client, "leila@jisr.example")
    page = client.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert f'href="/leads/{lead_id}/delete"' in page
    confirm = client.get(f"/leads/{lead_id}/delete").get_data(as_text=True)
    holdings = re.search(r'data-testid="lead-holdings">(.*?)</ul>', confirm, re.S).group(1)
    assert "2 follow-ups" in holdings and "1 activity" in holdings and "1 watcher" in holdings

    response = client.post(f"/leads/{lead_id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/leads")
    session.expire_all()
    assert session.get(Lead, lead_id) is None
    for model in (FollowUp, Activity, LeadWatcher):
        assert _count(session, model, model.lead_id == lead_id) == 0
    assert _count(session, ReminderRung) == 0  # no reminder of a follow-up that is gone
    event = session.exec(select(Event).where(Event.type == "lead.deleted")).one()
    assert event.lead_id == lead_id and event.payload["title"] == "Cloud pilot for ADD"
    assert event.payload["open_followups"] == 2 and event.payload["confidential"] is False
    assert client.get(f"/leads/{lead_id}").status_code == 404
    # The lead's earlier events stay in the log.
    assert _count(session, Event, Event.lead_id == lead_id) >= 5


def test_only_the_owner_or_an_administrator_may_delete(session: Session, client: Any) -> None:
    _, _, lead = _lead_with_history(session)
    make_user(session, email="other@jisr.example")
    make_user(session, Role.VIEWER, email="viewer@jisr.example")
    make_user(session, Role.ADMIN, email="admin@jisr.example")
    session.commit()
    for email in ("omar@jisr.example", "other@jisr.example", "viewer@jisr.example"):
        login(client, email)
        assert 'data-testid="delete-lead"' not in client.get(f"/leads/{lead.id}").get_data(as_text=True)
        assert client.get(f"/leads/{lead.id}/delete").status_code == 403
        assert client.post(f"/leads/{lead.id}/delete").status_code == 403
        client.post("/logout")
    assert session.get(Lead, lead.id) is not None
    assert _count(session, Event, Event.type == "lead.deleted") == 0
    login(client, "admin@jisr.example")
    assert client.post(f"/leads/{lead.id}/delete").status_code == 302
    session.expire_all()
    assert session.get(Lead, lead.id) is None


def test_a_confidential_lead_of_someone_else_cannot_even_be_found(session: Session, client: Any) -> None:
    owner = make_user(session)
    lead = make_lead(session, owner=owner, confidential=True)
    make_user(session, email="other@jisr.example")
    session.commit()
    login(client, "other@jisr.example")
    assert client.get(f"/leads/{lead.id}/delete").status_code == 404
    assert client.post(f"/leads/{lead.id}/delete").status_code == 404


def test_the_owner_and_watchers_are_told_and_the_notice_links_nowhere(session: Session, client: Any) -> None:
    owner, watcher, lead = _lead_with_history(session)
    admin = make_user(session, Role.ADMIN, email="admin@jisr.example")
    session.commit()
    login(client, "admin@jisr.example")
    client.post(f"/leads/{lead.id}/delete")
    event = session.exec(select(Event).where(Event.type == "lead.deleted")).one()
    assert consume(session, int(event.id or 0), "notifications")
    told = session.exec(select(Notification).where(Notification.kind == "lead.deleted")).all()
    assert sorted(n.user_id for n in told) == sorted([owner.id, watcher.id])
    assert admin.id not in {n.user_id for n in told}
    client.post("/logout")
    login(client, "omar@jisr.example")
    page = client.get("/notifications").get_data(as_text=True)
    assert "deleted the lead “<bdi>Cloud pilot for ADD</bdi>”" in page  # the title isolated in the sentence


def test_webhooks_hear_of_a_deleted_lead_as_they_heard_of_it(session: Session) -> None:
    admin = make_user(session, Role.ADMIN)
    owner = make_user(session)
    plain = create_webhook_endpoint(session, url="https://93.184.215.14/a", event_types=["*"], actor=admin)
    everything = create_webhook_endpoint(
        session, url="https://93.184.215.14/b", event_types=["*"], include_confidential=True, actor=admin
    )
    open_lead = make_lead(session, owner=owner)
    secret_lead = make_lead(session, owner=owner, confidential=True)
    session.commit()
    from crm.leads.operations import delete_lead

    for lead in (open_lead, secret_lead):
        delete_lead(session, lead, actor=owner)
    session.commit()
    events = session.exec(select(Event).where(Event.type == "lead.deleted").order_by(Event.id)).all()
    assert [e.id for e in endpoints_for(session, events[0])] == [plain.id, everything.id]
    assert [e.id for e in endpoints_for(session, events[1])] == [everything.id]


def test_the_api_deletes_with_the_same_rules_and_honours_if_match(app: Any, session: Session, client: Any) -> None:
    app.config["API_EVENT_FEED_SETTLE_SECONDS"] = 0  # the feed serves what just happened
    owner, watcher, lead = _lead_with_history(session)
    owner_token = make_token(session, owner)
    watcher_token = make_token(session, watcher)
    url = f"/api/v1/leads/{lead.id}"
    assert client.delete(url, headers=bearer(watcher_token)).status_code == 403
    etag = client.get(url, headers=bearer(owner_token)).headers["ETag"]
    stale = client.delete(url, headers=bearer(owner_token, **{"If-Match": '"0000"'}))
    assert stale.status_code == 412
    assert session.get(Lead, lead.id) is not None
    done = client.delete(url, headers=bearer(owner_token, **{"If-Match": etag}))
    assert done.status_code == 204 and done.data == b"" and "Content-Type" not in done.headers
    assert client.delete(url, headers=bearer(owner_token)).status_code == 404
    # The deletion is in the feed of a user who could see the lead; its earlier events are gone.
    feed = client.get("/api/v1/events?limit=100", headers=bearer(watcher_token)).get_json()
    types = [e["type"] for e in feed["items"]]
    assert "lead.deleted" in types and "lead.created" not in types


def test_a_digest_compiled_after_a_deletion_leaves_the_lead_out(session: Session) -> None:
    week = prepare_week(session)
    from crm.leads.operations import delete_lead

    delete_lead(session, week.in_week, actor=week.officer)
    session.commit()
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, "Africa/Casablanca", 0, 8)
    digest = compile_digest(session, week.subscription, period, now=SEND_AT)
    assert "SOC workshop" not in [m.lead.title for m in digest.moves]
    assert [lead.title for lead in digest.new_leads] == []
    assert digest.figures["new_leads"] == 0


def test_the_deletion_of_a_confidential_lead_is_in_its_owners_feed_only(
    app: Any, session: Session, client: Any
) -> None:
    app.config["API_EVENT_FEED_SETTLE_SECONDS"] = 0
    owner = make_user(session)
    other = make_user(session)
    lead = make_lead(session, owner=owner, confidential=True)
    session.commit()
    from crm.leads.operations import delete_lead

    delete_lead(session, lead, actor=owner)
    session.commit()
    for user, expected in ((owner, True), (other, False)):
        feed = client.get("/api/v1/events?type=lead.deleted", headers=bearer(make_token(session, user))).get_json()
        assert bool(feed["items"]) is expected
