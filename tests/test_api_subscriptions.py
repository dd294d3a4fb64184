"""Digest subscriptions through the API: the same rules as the pages (officers only, a
confidential digest only for its user and the admins), and "send now", which queues one
digest in the mail ledger exactly as the scheduler would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from crm.accounts.models import Role
from crm.core.events import Event
from crm.core.ledger import OutboundMail
from crm.digests.models import Subscription
from crm.digests.operations import create_subscription
from tests.api_helpers import bearer, make_token
from tests.digest_helpers import prepare_week
from tests.factories import make_user


def test_send_now_queues_one_digest_in_the_mail_ledger(session: Session, client: Any) -> None:
    week = prepare_week(session, language="en")
    sid = week.subscription.id
    # Week 47 is over whatever today's date is; the subscription predates it.
    session.execute(sa.update(Subscription).values(created_at=datetime(2026, 11, 1, tzinfo=UTC)))
    session.commit()
    headers = bearer(make_token(session, week.officer))

    sent = client.post(f"/api/v1/subscriptions/{sid}/send", json={"period": "2026-W47"}, headers=headers)
    assert sent.status_code == 202
    assert sent.get_json() == {"outcome": "queued", "period": "2026-W47"}
    session.expire_all()
    mail = session.exec(select(OutboundMail)).all()
    assert [(m.kind, m.dedupe_key, m.recipient_email) for m in mail] == [
        ("digest", f"digest:{sid}:2026-W47", week.subscription.email)
    ]

    twice = client.post(f"/api/v1/subscriptions/{sid}/send", json={"period": "2026-W47"}, headers=headers)
    assert twice.status_code == 409 and twice.get_json()["code"] == "already_sent"
    assert len(session.exec(select(OutboundMail)).all()) == 1
    again = client.post(
        f"/api/v1/subscriptions/{sid}/send", json={"period": "2026-W47", "again": True}, headers=headers
    )
    assert again.get_json()["outcome"] == "resent"
    assert len(session.exec(select(OutboundMail)).all()) == 2


def test_send_now_refuses_an_unfinished_or_unknown_period(session: Session, client: Any) -> None:
    week = prepare_week(session, language="en")
    headers = bearer(make_token(session, week.officer), language="fr")
    sid = week.subscription.id
    for period, message in (
        ("2099-W01", "Cette période n'est pas encore terminée."),
        ("2026-11", "Ce n'est pas une période de la fréquence de cet abonnement."),
        ("9999-W52", "Ce n'est pas une période de la fréquence de cet abonnement."),
    ):
        answer = client.post(f"/api/v1/subscriptions/{sid}/send", json={"period": period}, headers=headers)
        assert answer.status_code == 422, period
        assert answer.get_json()["errors"] == [{"loc": ["body", "period"], "message": message, "type": "invalid"}]
    assert session.exec(select(OutboundMail)).all() == []


def test_subscriptions_are_created_changed_and_deactivated_through_the_operations(
    session: Session, client: Any
) -> None:
    officer = make_user(session)
    headers = bearer(make_token(session, officer))
    created = client.post(
        "/api/v1/subscriptions",
        json={
            "name": "Embassy desk",
            "email": "desk@embassy.example",
            "language": "en",
            "cadence": "daily",
            "send_hour": 7,
            "filters": {"partnership_types": ["investment"]},
        },
        headers=headers,
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body["filters"]["partnership_types"] == ["investment"] and body["filters"]["sector_ids"] == []
    changed = client.patch(
        f"/api/v1/subscriptions/{body['id']}",
        json={"language": "ar", "weekday": 2},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )
    assert changed.get_json()["language"] == "ar" and changed.get_json()["cadence"] == "daily"
    stopped = client.delete(f"/api/v1/subscriptions/{body['id']}", headers=headers)
    assert stopped.status_code == 200 and stopped.get_json()["is_active"] is False
    types = session.exec(select(Event.type).where(Event.entity_type == "subscription").order_by(Event.id)).all()
    assert types == ["subscription.created", "subscription.updated", "subscription.unsubscribed"]
    unsubscribed = session.exec(select(Event).where(Event.type == "subscription.unsubscribed")).one()
    assert unsubscribed.payload == {"via": "api"}


def test_confidential_digests_belong_to_their_user_and_viewers_see_no_subscription(
    session: Session, client: Any
) -> None:
    owner = make_user(session)
    other = make_user(session)
    mine = create_subscription(session, name="", user_id=owner.id, include_confidential=True, actor=owner)
    session.commit()
    other_headers = bearer(make_token(session, other))
    assert client.get(f"/api/v1/subscriptions/{mine.id}", headers=other_headers).status_code == 404
    assert client.post(f"/api/v1/subscriptions/{mine.id}/send", headers=other_headers).status_code == 404
    assert client.get("/api/v1/subscriptions", headers=other_headers).get_json()["total"] == 0
    assert client.get(f"/api/v1/subscriptions/{mine.id}", headers=bearer(make_token(session, owner))).status_code == 200
    widened = client.post(
        "/api/v1/subscriptions",
        json={"user_id": owner.id, "include_confidential": True},
        headers=other_headers,
    )
    assert widened.status_code == 422
    assert widened.get_json()["errors"][0]["loc"] == ["body", "include_confidential"]
    viewer_headers = bearer(make_token(session, make_user(session, Role.VIEWER), scope="read"))
    assert client.get("/api/v1/subscriptions", headers=viewer_headers).status_code == 403


def test_the_reader_organisation_is_kept_by_a_patch_and_a_stopped_subscription_restarts(
    session: Session, client: Any
) -> None:
    week = prepare_week(session, language="fr")
    sid = week.subscription.id
    dgssi = week.in_week.ma_organisation_id
    headers = bearer(make_token(session, week.officer))
    shown = client.get(f"/api/v1/subscriptions/{sid}", headers=headers).get_json()
    assert shown["organisation_id"] == dgssi  # the contact's organisation
    assert client.patch(f"/api/v1/subscriptions/{sid}", json={"send_hour": 9}, headers=headers).status_code == 200
    session.expire_all()
    assert session.get(Subscription, sid).organisation_id == dgssi
    cleared = client.patch(f"/api/v1/subscriptions/{sid}", json={"organisation_id": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.get_json()["organisation_id"] is None
    unknown = client.patch(f"/api/v1/subscriptions/{sid}", json={"organisation_id": 99999}, headers=headers)
    assert unknown.status_code == 422
    assert client.delete(f"/api/v1/subscriptions/{sid}", headers=headers).get_json()["is_active"] is False
    restarted = client.post(f"/api/v1/subscriptions/{sid}/reactivate", headers=headers)
    assert restarted.status_code == 200
    body = restarted.get_json()
    assert body["is_active"] is True and body["resumed_at"] is not None
    types = session.exec(select(Event.type).where(Event.entity_type == "subscription").order_by(Event.id)).all()
    assert types[-2:] == ["subscription.unsubscribed", "subscription.resubscribed"]
