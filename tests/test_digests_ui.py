"""Digest pages: managing subscriptions, one-click subscribe from a contact, preview as
emailed (sandboxed, no script), send now once, the archive, CSRF-free unsubscribe."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from crm.accounts.models import Role
from crm.core.events import Event
from crm.core.ledger import OutboundMail
from crm.digests.models import DigestRun, Subscription
from crm.digests.render import unsubscribe_token
from tests.digest_helpers import prepare_week
from tests.factories import make_organisation, make_user
from tests.test_digests import run_schedule
from tests.web_helpers import login


def test_officer_creates_edits_and_deactivates_a_subscription(session: Session, client: Any) -> None:
    officer = make_user(session, Role.OFFICER)
    session.commit()
    login(client, officer.email)
    assert client.get("/digests/subscriptions").status_code == 200
    response = client.post(
        "/digests/subscriptions/new",
        data={
            "user_id": "0",
            "name": "Embassy desk",
            "email": "desk@embassy.example",
            "language": "en",
            "timezone": "Africa/Casablanca",
            "cadence": "daily",
            "weekday": "0",
            "send_hour": "7",
            "partnership_types": ["investment"],
        },
    )
    assert response.status_code == 302
    subscription = session.exec(select(Subscription)).one()
    assert (subscription.cadence, subscription.send_hour, subscription.filters) == (
        "daily",
        7,
        {"partnership_types": ["investment"]},
    )
    page = client.get(f"/digests/subscriptions/{subscription.id}/edit")
    assert page.status_code == 200 and b"desk@embassy.example" in page.data
    response = client.post(
        f"/digests/subscriptions/{subscription.id}/edit",
        data={
            "name": "Embassy desk",
            "email": "desk@embassy.example",
            "language": "ar",
            "timezone": "Africa/Casablanca",
            "cadence": "weekly",
            "weekday": "1",
            "send_hour": "9",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    subscription = session.get(Subscription, subscription.id)
    assert (subscription.language, subscription.weekday, subscription.filters) == ("ar", 1, {})
    bad = client.post(
        f"/digests/subscriptions/{subscription.id}/edit",
        data={
            "name": "X",
            "email": "not an email",
            "language": "ar",
            "timezone": "Mars/Olympus",
            "cadence": "weekly",
            "weekday": "1",
            "send_hour": "9",
        },
    )
    assert bad.status_code == 422
    late = client.post(
        f"/digests/subscriptions/{subscription.id}/edit",
        data={
            "name": "X",
            "email": "desk@embassy.example",
            "language": "ar",
            "timezone": "Africa/Casablanca",
            "cadence": "weekly",
            "weekday": "1",
            "send_hour": "24",
        },
    )
    assert late.status_code in (400, 422)
    assert "Choisissez une heure entre 00:00 et 23:00." in late.get_data(as_text=True)
    session.expire_all()
    assert session.get(Subscription, subscription.id).send_hour == 9
    assert client.post(f"/digests/subscriptions/{subscription.id}/deactivate").status_code == 302
    session.expire_all()
    assert not session.get(Subscription, subscription.id).is_active
    listed = client.get("/digests/subscriptions").get_data(as_text=True)
    assert 'data-testid="subscription-reactivate"' in listed
    assert client.post(f"/digests/subscriptions/{subscription.id}/reactivate").status_code == 302
    session.expire_all()
    assert session.get(Subscription, subscription.id).is_active
    types = [e.type for e in session.exec(select(Event).where(Event.entity_type == "subscription"))]
    assert types == [
        "subscription.created",
        "subscription.updated",
        "subscription.unsubscribed",
        "subscription.resubscribed",
    ]


def test_an_external_reader_has_an_organisation(session: Session, client: Any) -> None:
    officer = make_user(session, Role.OFFICER)
    cgem = make_organisation(session, "MA", name_fr="Confédération Générale des Entreprises du Maroc", acronym="CGEM")
    session.commit()
    login(client, officer.email)
    form = {
        "user_id": "0",
        "name": "Nadia El Fassi",
        "email": "n.elfassi@cgem.example",
        "language": "fr",
        "timezone": "Africa/Casablanca",
        "cadence": "weekly",
        "weekday": "0",
        "send_hour": "8",
    }
    unknown = client.post("/digests/subscriptions/new", data={**form, "organisation_id": "99999"})
    assert unknown.status_code == 422 and "Organisation inconnue." in unknown.get_data(as_text=True)
    assert session.exec(select(Subscription)).all() == []
    assert client.post("/digests/subscriptions/new", data={**form, "organisation_id": str(cgem.id)}).status_code == 302
    subscription = session.exec(select(Subscription)).one()
    assert subscription.organisation_id == cgem.id
    listed = client.get("/digests/subscriptions").get_data(as_text=True)
    assert "Confédération Générale des Entreprises du Maroc" in listed
    refused = client.post("/digests/subscriptions/new", data={**form, "include_confidential": "y"})
    assert refused.status_code == 422
    assert re.search(
        r'id="include_confidential"[^>]*>\s*<label[^>]*>[^<]*</label>\s*<div class="invalid-feedback">', refused.text
    )
    assert (
        "Les pistes confidentielles ne peuvent être envoyées qu&#39;aux utilisateurs de l&#39;application."
        in refused.text
    )


def test_viewers_cannot_manage_subscriptions(session: Session, client: Any) -> None:
    viewer = make_user(session, Role.VIEWER)
    session.commit()
    login(client, viewer.email)
    assert client.get("/digests/subscriptions").status_code == 403


def test_subscribe_a_contact_in_one_click(session: Session, client: Any) -> None:
    week = prepare_week(session, language="fr")
    contact_id = week.subscription.contact_id
    login(client, week.officer.email)
    page = client.get(f"/contacts/{contact_id}")
    assert b'data-testid="contact-subscribe"' in page.data
    assert client.post(f"/digests/subscriptions/from-contact/{contact_id}").status_code == 302
    created = session.exec(select(Subscription).order_by(Subscription.id.desc())).first()  # type: ignore[union-attr]
    assert (created.email, created.language, created.filters, created.organisation_id) == (
        "nadia@dgssi.example",
        "fr",
        {"ma_organisation_ids": [week.in_week.ma_organisation_id]},
        week.in_week.ma_organisation_id,
    )


def test_preview_shows_the_email_sandboxed_in_each_language(session: Session, client: Any) -> None:
    week = prepare_week(session, language="ar")
    login(client, week.officer.email)
    sid = week.subscription.id
    page = client.get(f"/digests/subscriptions/{sid}/preview?period=2026-W48&lang=fr")
    assert page.status_code == 200
    assert b"sandbox" in page.data and b"SOC workshop" in page.data  # the plain text below the frame
    frame = client.get(f"/digests/subscriptions/{sid}/preview/email?period=2026-W48&lang=ar")
    assert frame.status_code == 200
    assert "sandbox" in frame.headers["Content-Security-Policy"]
    assert "script-src" not in frame.headers["Content-Security-Policy"]
    body = frame.data.decode()
    assert 'dir="rtl"' in body and "data:image/png;base64," in body and "<script" not in body
    assert "Secret audit" not in body


def test_send_now_queues_once_and_the_scheduler_then_skips_the_period(session: Session, client: Any) -> None:
    week = prepare_week(session, language="en")
    login(client, week.officer.email)
    sid = week.subscription.id
    # Week 47 (16-23 November) is over whatever today's date; the subscription predates it.
    session.execute(sa.update(Subscription).values(created_at=datetime(2026, 11, 1, tzinfo=UTC)))
    session.commit()
    for _ in range(2):
        assert client.post(f"/digests/subscriptions/{sid}/send-now", data={"period": "2026-W47"}).status_code == 302
    session.expire_all()
    assert [m.dedupe_key for m in session.exec(select(OutboundMail))] == [f"digest:{sid}:2026-W47"]
    assert run_schedule(session, datetime(2026, 11, 23, 9, tzinfo=UTC)) == {}
    archive = client.get(f"/digests/subscriptions/{sid}/archive")
    assert b'data-period="2026-W47"' in archive.data
    run = session.exec(select(DigestRun)).one()
    shown = client.get(f"/digests/runs/{run.id}")
    assert shown.status_code == 200 and b"Cyber training MoU" in shown.data
    assert b'src="data:image/png;base64,' in shown.data and b"cid:" not in shown.data  # the chart shows
    # Once sent, "send now" sends the archived copy again (one per minute at most).
    again = {"period": "2026-W47", "again": "1"}
    assert client.post(f"/digests/subscriptions/{sid}/send-now", data=again).status_code == 302
    assert len(session.exec(select(OutboundMail)).all()) == 2


def test_send_now_refuses_an_unfinished_period(session: Session, client: Any) -> None:
    week = prepare_week(session, language="en")
    login(client, week.officer.email)
    response = client.post(f"/digests/subscriptions/{week.subscription.id}/send-now", data={"period": "2099-W01"})
    assert response.status_code == 302
    assert session.exec(select(OutboundMail)).all() == []


def test_unsubscribe_works_without_login_or_csrf_and_rejects_bad_tokens(app: Any, session: Session) -> None:
    week = prepare_week(session)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    with app.app_context():
        token = unsubscribe_token(int(week.subscription.id or 0))
    assert client.get(f"/digests/unsubscribe/{token}x").status_code == 404
    assert client.post(f"/digests/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    session.expire_all()
    assert not session.get(Subscription, week.subscription.id).is_active
    # The officer pages still need their CSRF token.
    login(client, week.officer.email)
    assert client.post(f"/digests/subscriptions/{week.subscription.id}/deactivate").status_code == 400


def test_a_confidential_digest_is_only_for_its_user_and_the_admins(session: Session, client: Any) -> None:
    """Another officer could otherwise read someone's confidential leads in the preview or
    archive, or send them to a different address."""
    import pytest

    from crm.core.errors import ValidationError
    from crm.digests.operations import create_subscription

    owner = make_user(session, email="owner@jisr.example")
    make_user(session, email="other@jisr.example")
    make_user(session, email="root@jisr.example", role=Role.ADMIN)
    mine = create_subscription(session, name="", user_id=owner.id, include_confidential=True, actor=owner)
    session.commit()
    with pytest.raises(ValidationError):  # to another address
        create_subscription(
            session, name="", user_id=owner.id, email="leak@example.org", include_confidential=True, actor=owner
        )
    session.rollback()
    other = session.exec(select(type(owner)).where(type(owner).email == "other@jisr.example")).one()
    with pytest.raises(ValidationError):  # by someone else
        create_subscription(session, name="", user_id=owner.id, include_confidential=True, actor=other)
    session.rollback()
    login(client, "other@jisr.example")
    for path in ("preview", "preview/email", "archive", "edit"):
        assert client.get(f"/digests/subscriptions/{mine.id}/{path}").status_code == 404
    assert client.post(f"/digests/subscriptions/{mine.id}/send-now").status_code == 404
    client.post("/logout")
    login(client, "owner@jisr.example")
    assert client.get(f"/digests/subscriptions/{mine.id}/preview").status_code == 200
    client.post("/logout")
    login(client, "root@jisr.example")
    assert client.get(f"/digests/subscriptions/{mine.id}/archive").status_code == 200
