"""Passwords and sessions: a forgotten password by email, changing one's own password,
sessions that end when the password changes, and the headers and limits of a deployment
behind a reverse proxy on HTTPS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.accounts.operations import deactivate_user
from crm.config import MailSettings
from crm.core.consumers import consume
from crm.core.db import db
from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail, send_one
from tests.conftest import make_test_app
from tests.factories import PASSWORD, make_user
from tests.spine_helpers import Sink
from tests.web_helpers import login

NEW_PASSWORD = "Atlas-Cedar-2026"


def _events(session: Session, type_: str) -> list[Event]:
    return list(session.exec(select(Event).where(Event.type == type_).order_by(col(Event.id))).all())


def _mail_the_link(session: Session) -> OutboundMail:
    """Run the "account_mail" consumer on the newest link request, as a worker would."""
    event = _events(session, "user.password_link_requested")[-1]
    assert consume(session, int(event.id or 0), "account_mail")
    return session.exec(select(OutboundMail).where(OutboundMail.dedupe_key == f"password-link:{event.id}")).one()


def _link_path(mail: OutboundMail) -> str:
    found = re.search(r"https?://[^/\s]+(/set-password/[\w.\-]+)", mail.text_body)
    assert found is not None, mail.text_body
    return found.group(1)


def _mail_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(OutboundMail)).one()


def test_a_forgotten_password_is_replaced_from_a_link_emailed_in_the_users_language(
    session: Session, client: Any
) -> None:
    make_user(session, email="salma@jisr.example", language="ar")
    session.commit()
    assert 'href="/password/forgotten"' in client.get("/login").get_data(as_text=True)

    response = client.post("/password/forgotten", data={"email": "Salma@Jisr.example"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    mail = _mail_the_link(session)
    assert mail.recipient_email == "salma@jisr.example" and mail.language == "ar"
    assert mail.subject == "اختر كلمة مرور جديدة لحسابك في جسر"
    assert 'dir="rtl"' in mail.html_body and "تبقى كلمة مرورك الحالية صالحة" in mail.text_body
    # Asking changed nothing yet: the current password still opens the account.
    assert login(client, "salma@jisr.example").status_code == 302
    client.post("/logout")

    link = _link_path(mail)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert login(client, "salma@jisr.example").status_code == 400
    assert login(client, "salma@jisr.example", NEW_PASSWORD).status_code == 302
    client.post("/logout")
    assert client.get(link).status_code == 404  # the link worked once


def test_the_forgotten_password_page_tells_nobody_which_addresses_have_an_account(
    session: Session, client: Any
) -> None:
    make_user(session, email="known@jisr.example")
    deactivate_user(session, make_user(session, email="gone@jisr.example"), actor=None)
    session.commit()

    pages = []
    for email in ("known@jisr.example", "stranger@jisr.example", "gone@jisr.example"):
        response = client.post("/password/forgotten", data={"email": email}, follow_redirects=True)
        assert response.status_code == 200
        pages.append(response.get_data(as_text=True).replace(email, "EMAIL"))
    assert pages[0] == pages[1] == pages[2]
    assert [e.entity_id for e in _events(session, "user.password_link_requested")] == [
        session.exec(select(User.id).where(User.email == "known@jisr.example")).one()
    ]


def test_a_malformed_address_is_a_translated_400_and_writes_nothing(session: Session, client: Any) -> None:
    client.post("/language", data={"language": "fr"})
    response = client.post("/password/forgotten", data={"email": "not-an-address"})
    assert response.status_code == 400
    assert "adresse" in response.get_data(as_text=True).lower()
    assert _events(session, "user.password_link_requested") == []


def test_no_link_is_mailed_to_an_account_deactivated_after_asking(session: Session, client: Any) -> None:
    user = make_user(session, email="leaving@jisr.example")
    session.commit()
    client.post("/password/forgotten", data={"email": "leaving@jisr.example"})
    deactivate_user(session, user, actor=None)
    session.commit()
    event = _events(session, "user.password_link_requested")[-1]
    assert consume(session, int(event.id or 0), "account_mail")
    assert _mail_count(session) == 0


def test_invitations_and_resets_are_emailed_with_their_own_wording(session: Session, client: Any) -> None:
    make_user(session, email="admin@jisr.example", role=Role.ADMIN, name="Amina Admin")
    session.commit()
    login(client, "admin@jisr.example")
    response = client.post(
        "/admin/users/new",
        data={"email": "karim@jisr.example", "role": "officer", "language": "fr", "timezone": "Africa/Casablanca"},
    )
    assert response.status_code == 200
    invitation = _mail_the_link(session)
    assert invitation.subject == "Invitation à Jisr : choisissez votre mot de passe"
    assert "Amina Admin vous invite sur Jisr" in invitation.text_body

    karim = session.exec(select(User).where(User.email == "karim@jisr.example")).one()
    client.post(f"/admin/users/{karim.id}/reset-password")
    reset = _mail_the_link(session)
    assert reset.subject == "Votre mot de passe Jisr a été réinitialisé : choisissez-en un nouveau"
    # The reset made the invitation's link useless; the reset's own link works.
    client.post("/logout")
    assert client.get(_link_path(invitation)).status_code == 404
    assert client.get(_link_path(reset)).status_code == 200


def test_a_password_link_email_reaches_a_real_smtp_server(database_url: str) -> None:
    with Sink() as sink:
        app = make_test_app(database_url, MAIL=MailSettings(scheme="smtp", host="127.0.0.1", port=sink.port))
        with app.app_context():
            make_user(db.session, email="omar@jisr.example", language="en")
            db.session.commit()
            app.test_client().post("/password/forgotten", data={"email": "omar@jisr.example"})
            mail = _mail_the_link(db.session)
            outcome = send_one(
                db.session,
                int(mail.id or 0),
                sender="Jisr <jisr@jisr.test>",
                lease=timedelta(seconds=30),
                base=1,
                max_attempts=3,
            )
            assert outcome is not None and outcome.status == MailStatus.SENT
        app.extensions["jisr.db"][0].dispose()
    [message] = sink.messages
    assert message["To"].addresses[0].addr_spec == "omar@jisr.example"
    assert message["Subject"] == "Set a new Jisr password"
    assert message.get_body(("plain",)).get_content().count("/set-password/") == 1  # type: ignore[union-attr]


def test_changing_ones_password_needs_the_current_one_and_ends_the_other_sessions(app: Any, session: Session) -> None:
    make_user(session, email="leila@jisr.example", language="en")
    session.commit()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "leila@jisr.example")
    login(phone, "leila@jisr.example")
    before = len(_events(session, "user.password_changed"))

    refused = {
        "wrong current": {"current_password": "Not-My-Password-1", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        "differ": {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
        "weak": {"current_password": PASSWORD, "password": "short", "confirm": "short"},
        "same": {"current_password": PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
    }
    messages = {
        "wrong current": "The current password is wrong.",
        "differ": "The two passwords differ.",
        "weak": "Use at least 10 characters.",
        "same": "The new password is the same as the current one.",
    }
    for case, data in refused.items():
        response = laptop.post("/settings/password", data=data)
        assert response.status_code == 400, case
        assert messages[case] in response.get_data(as_text=True), case
    assert len(_events(session, "user.password_changed")) == before
    assert phone.get("/leads").status_code == 200

    response = laptop.post(
        "/settings/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert len(_events(session, "user.password_changed")) == before + 1
    assert laptop.get("/leads").status_code == 200  # this session goes on
    assert phone.get("/leads").status_code == 302  # the other one is logged out
    assert login(phone, "leila@jisr.example").status_code == 400
    assert login(phone, "leila@jisr.example", NEW_PASSWORD).status_code == 302


def test_an_administrators_reset_logs_the_user_out_at_once(app: Any, session: Session) -> None:
    make_user(session, email="admin@jisr.example", role=Role.ADMIN)
    target = make_user(session, email="stolen@jisr.example")
    session.commit()
    admin, intruder = app.test_client(), app.test_client()
    login(admin, "admin@jisr.example")
    login(intruder, "stolen@jisr.example")
    assert intruder.get("/leads").status_code == 200
    admin.post(f"/admin/users/{target.id}/reset-password")
    assert intruder.get("/leads").status_code == 302


# --- a deployment on HTTPS behind a reverse proxy ---------------------------------------


@pytest.fixture
def proxied_app(database_url: str) -> Iterator[Any]:
    from crm.core.security import limiter

    app = make_test_app(database_url, RATELIMIT_ENABLED=True, TRUSTED_PROXIES=1, BASE_URL="https://jisr.example.org")
    with app.app_context():
        limiter.reset()
    yield app
    app.extensions["jisr.db"][0].dispose()


def _failed_logins(client: Any, address: str, count: int) -> list[int]:
    return [
        client.post(
            "/login",
            data={"email": "guess@jisr.example", "password": "nope-nope-nope"},
            headers={"X-Forwarded-For": address},
        ).status_code
        for _ in range(count)
    ]


def test_behind_a_trusted_proxy_the_login_limit_counts_each_client_address(proxied_app: Any) -> None:
    client = proxied_app.test_client()
    assert _failed_logins(client, "198.51.100.7", 6)[-1] == 429
    assert _failed_logins(client, "203.0.113.9", 1) == [400]  # another client is not blocked


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(database_url: str) -> None:
    from crm.core.security import limiter

    app = make_test_app(database_url, RATELIMIT_ENABLED=True)
    with app.app_context():
        limiter.reset()
    client = app.test_client()
    assert _failed_logins(client, "198.51.100.7", 6)[-1] == 429
    assert _failed_logins(client, "203.0.113.9", 1) == [429]  # a header cannot buy new attempts
    app.extensions["jisr.db"][0].dispose()


def test_https_deployments_ask_browsers_for_https_only(proxied_app: Any, client: Any) -> None:
    response = proxied_app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/login").headers  # plain HTTP: none


def test_the_forgotten_password_page_is_rate_limited_per_address(proxied_app: Any) -> None:
    with proxied_app.app_context():
        make_user(db.session, email="target@jisr.example")
        db.session.commit()
    client = proxied_app.test_client()
    codes = [
        client.post(
            "/password/forgotten", data={"email": "target@jisr.example"}, headers={"X-Forwarded-For": f"192.0.2.{n}"}
        ).status_code
        for n in range(4)
    ]
    assert codes == [302, 302, 302, 429]  # three links an hour, from wherever the asking comes
    with proxied_app.app_context():
        assert len(_events(db.session, "user.password_link_requested")) == 3
