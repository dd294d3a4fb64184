"""API tokens: made on the settings page or the command line, shown once, stored hashed,
revocable, scoped; dead tokens and the browser's session cookie open nothing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlmodel import Session, func, select

from crm.accounts.models import Role
from crm.accounts.operations import deactivate_user, reactivate_user, set_user_role
from crm.api.models import ApiToken, ApiTokenUse
from crm.api.operations import create_api_token
from crm.core.db import db
from crm.core.events import Event
from crm.organisations.models import Organisation
from tests.api_helpers import bearer, make_token
from tests.conftest import make_test_app
from tests.factories import make_user
from tests.web_helpers import login


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)


def _secret_part(token: str) -> str:
    return token.split("_", 2)[2]


def _create_on_settings_page(client: Any, name: str = "Ministry CRM sync", scope: str = "write") -> Any:
    return client.post(
        "/settings/api-tokens", data={"token-name": name, "token-scope": scope, "token-expires_in": "90"}
    )


def test_token_made_on_the_settings_page_is_shown_once_and_stored_hashed(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example")
    session.commit()
    login(client, "officer@jisr.example")
    page = _create_on_settings_page(client).get_data(as_text=True)
    token = re.search(r'data-testid="api-token-secret" readonly value="(jisr_[^"]+)"', page).group(1)

    row = session.exec(select(ApiToken)).one()
    assert row.secret_hash == hashlib.sha256(_secret_part(token).encode()).hexdigest()
    assert row.prefix in token and _secret_part(token) not in str(row.model_dump())
    assert row.expires_at is not None and row.scope.value == "write"
    event = session.exec(select(Event).where(Event.type == "api_token.created")).one()
    assert _secret_part(token) not in str(event.payload)
    settings = client.get("/settings").get_data(as_text=True)
    assert "Ministry CRM sync" in settings and row.prefix in settings and token not in settings
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["email"] == "officer@jisr.example"


def test_token_revoked_on_the_settings_page_stops_working(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    token = make_token(session, officer)
    login(client, "officer@jisr.example")
    token_id = session.exec(select(ApiToken.id)).one()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    assert client.post(f"/settings/api-tokens/{token_id}/revoke").status_code == 302
    answer = client.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 401
    assert answer.get_json()["code"] == "invalid_token"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert session.exec(select(Event.type).where(Event.type == "api_token.revoked")).all() == ["api_token.revoked"]


def test_a_user_cannot_revoke_someone_elses_token_but_an_admin_sees_and_revokes_all(
    session: Session, client: Any
) -> None:
    officer = make_user(session, email="officer@jisr.example")
    other = make_user(session, email="other@jisr.example", name="Karim")
    make_user(session, Role.ADMIN, email="admin@jisr.example")
    token = make_token(session, other, name="Karim sync script")
    token_id = session.exec(select(ApiToken.id)).one()
    login(client, "officer@jisr.example")
    assert client.post(f"/settings/api-tokens/{token_id}/revoke").status_code == 404
    assert "Karim sync script" not in client.get("/settings").get_data(as_text=True)
    assert client.get("/admin/api-tokens").status_code == 403
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    client.post("/logout")
    login(client, "admin@jisr.example")
    listing = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "Karim sync script" in listing and "Karim" in listing
    client.post(f"/settings/api-tokens/{token_id}/revoke", data={"next": "/admin/api-tokens"})
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert session.exec(select(Event.actor_id).where(Event.type == "api_token.revoked")).one() != officer.id


def test_a_viewer_can_only_have_read_tokens(session: Session, client: Any) -> None:
    viewer = make_user(session, Role.VIEWER, email="viewer@jisr.example", language="en")
    session.commit()
    login(client, "viewer@jisr.example")
    settings = client.get("/settings").get_data(as_text=True)
    assert 'value="write"' not in settings and 'value="read"' in settings
    answer = _create_on_settings_page(client, scope="write")
    assert answer.status_code == 400
    assert "A read-only account can only have read tokens." in answer.get_data(as_text=True)
    assert session.exec(select(func.count()).select_from(ApiToken)).one() == 0
    token = make_token(session, viewer, scope="read")
    assert client.get("/api/v1/leads", headers=bearer(token)).status_code == 200


def test_command_line_prints_the_token_once_lists_and_revokes_it(app: Any, session: Session) -> None:
    make_user(session, email="officer@jisr.example")
    session.commit()
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=["crm", "tokens", "create", "--email", "officer@jisr.example", "--scope", "read", "--name", "Sync"]
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("jisr_")
    row = session.exec(select(ApiToken)).one()
    assert row.secret_hash == hashlib.sha256(_secret_part(token).encode()).hexdigest()
    client = app.test_client()
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["token"]["scope"] == "read"

    listed = runner.invoke(args=["crm", "tokens", "list"])
    assert row.prefix in listed.output and "officer@jisr.example" in listed.output and "active" in listed.output
    assert _secret_part(token) not in listed.output
    revoked = runner.invoke(args=["crm", "tokens", "revoke", f"jisr_{row.prefix}"])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert "revoked" in runner.invoke(args=["crm", "tokens", "list", "--email", "officer@jisr.example"]).output


def test_command_line_refuses_an_unknown_user_and_a_write_token_for_a_viewer(app: Any, session: Session) -> None:
    make_user(session, Role.VIEWER, email="viewer@jisr.example")
    session.commit()
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["crm", "tokens", "create", "--email", "nobody@jisr.example", "--scope", "read"])
    assert unknown.exit_code == 1 and "no user" in unknown.output
    viewer = runner.invoke(args=["crm", "tokens", "create", "--email", "viewer@jisr.example", "--scope", "write"])
    assert viewer.exit_code == 1 and "read-only account can only have read tokens" in viewer.output
    assert session.exec(select(func.count()).select_from(ApiToken)).one() == 0


def test_expired_tokens_and_tokens_of_deactivated_users_are_refused(session: Session, client: Any) -> None:
    officer = make_user(session)
    admin = make_user(session, Role.ADMIN)
    expiring = make_token(session, officer, expires_at=datetime.now(UTC) + timedelta(days=30))
    lasting = make_token(session, officer)
    assert client.get("/api/v1/me", headers=bearer(expiring)).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(days=31), tick=False):
        answer = client.get("/api/v1/me", headers=bearer(expiring))
        assert answer.status_code == 401 and answer.get_json()["code"] == "invalid_token"
        assert client.get("/api/v1/me", headers=bearer(lasting)).status_code == 200

    deactivate_user(session, officer, actor=admin)
    session.commit()
    assert client.get("/api/v1/me", headers=bearer(lasting)).status_code == 401
    reactivate_user(session, officer, actor=admin)
    session.commit()
    assert client.get("/api/v1/me", headers=bearer(lasting)).status_code == 200


def test_read_tokens_and_read_only_accounts_cannot_write(session: Session, client: Any) -> None:
    officer = make_user(session)
    admin = make_user(session, Role.ADMIN)
    body = {"country": "MA", "kind": "agency", "name_fr": "Agence X"}
    reader = make_token(session, officer, scope="read")
    answer = client.post("/api/v1/organisations", json=body, headers=bearer(reader))
    assert answer.status_code == 403 and answer.get_json()["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    assert client.get("/api/v1/organisations", headers=bearer(reader)).status_code == 200

    writer = make_token(session, officer, scope="write")
    set_user_role(session, officer, "viewer", actor=admin)  # the token stays, the account may only read
    session.commit()
    answer = client.post("/api/v1/organisations", json=body, headers=bearer(writer))
    assert answer.status_code == 403 and answer.get_json()["code"] == "read_only_account"
    assert session.exec(select(func.count()).select_from(Organisation)).one() == 0


def test_session_cookie_alone_does_not_authenticate_the_api(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example")
    session.commit()
    login(client, "officer@jisr.example")
    assert client.get("/leads").status_code == 200  # the cookie works for the pages…
    answer = client.get("/api/v1/leads")  # …not for the API
    assert answer.status_code == 401
    assert answer.content_type == "application/problem+json"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/api/v1/organisations", json={"country": "MA", "kind": "agency"}).status_code == 401


def test_unknown_malformed_and_forged_tokens_are_refused_alike(session: Session, client: Any) -> None:
    token = make_token(session, make_user(session))
    forged = token[: len("jisr_00000000_")] + "B" * 43  # a real prefix, a wrong secret
    for header in (
        "Bearer jisr_00000000_" + "A" * 43,
        f"Bearer {forged}",
        "Bearer not-a-token",
        "Basic b2ZmaWNlcjpwYXNz",
        "Bearer ",
    ):
        answer = client.get("/api/v1/leads", headers={"Authorization": header})
        assert answer.status_code == 401, header
        assert answer.get_json()["status"] == 401


def test_last_use_is_kept_without_an_event(session: Session, client: Any) -> None:
    token = make_token(session, make_user(session))
    events = session.exec(select(func.count()).select_from(Event)).one()
    client.get("/api/v1/me", headers=bearer(token))
    client.get("/api/v1/me", headers=bearer(token))
    used = session.exec(select(ApiTokenUse)).all()
    assert len(used) == 1 and used[0].last_used_at is not None
    assert session.exec(select(func.count()).select_from(Event)).one() == events


def test_an_expiry_in_the_past_is_refused(session: Session) -> None:
    from crm.core.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        create_api_token(
            session, make_user(session), name="x", scope="read", expires_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
    assert set(caught.value.errors) == {"expires_at"}


@pytest.fixture
def limited_app(database_url: str) -> Iterator[Any]:
    app = make_test_app(
        database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", API_RATE_LIMIT_PER_MINUTE=3
    )
    from crm.core.security import limiter

    with app.app_context():
        limiter.reset()
    yield app
    app.extensions["jisr.db"][0].dispose()


def test_requests_are_limited_per_token_across_the_whole_api(limited_app: Any) -> None:
    with limited_app.app_context():
        first = make_token(db.session, make_user(db.session))
        second = make_token(db.session, make_user(db.session))
    client = limited_app.test_client()
    paths = ("/api/v1/me", "/api/v1/leads", "/api/v1/sectors", "/api/v1/organisations")  # one budget for the API
    codes = [client.get(path, headers=bearer(first)).status_code for path in paths]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/v1/me", headers=bearer(first))
    assert limited.content_type == "application/problem+json" and limited.get_json()["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
