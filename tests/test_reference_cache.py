"""A process keeps API tokens and their accounts between requests (no query for them),
and drops its copies as soon as any process changes one: revoking a token, deactivating
an account or changing a role applies from the next request, in every process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from crm.accounts.models import Role, User
from crm.accounts.operations import deactivate_user, set_user_role
from crm.api.models import ApiToken
from crm.api.operations import revoke_api_token
from crm.core.db import db
from crm.organisations.models import Organisation
from tests.api_helpers import bearer, make_token
from tests.conftest import TEST_REDIS_URL, make_test_app
from tests.factories import make_user
from tests.test_web import count_queries

pytestmark = pytest.mark.skipif(not TEST_REDIS_URL, reason="the cache needs Redis: set REDIS_URL")


@pytest.fixture
def two_processes(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """Two applications on one database and one Redis, as two web processes would be."""
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    apps = [make_test_app(database_url, REDIS_URL=TEST_REDIS_URL) for _ in range(2)]
    yield apps[0], apps[1]
    for app in apps:
        app.extensions["jisr.db"][0].dispose()


def _token_queries(statements: list[str]) -> list[str]:
    return [s for s in statements if "api_token" in s and "api_token_use" not in s.split("FROM")[0]]


def test_a_token_is_read_once_then_served_from_the_process(two_processes: tuple[Any, Any]) -> None:
    web, _other = two_processes
    with web.app_context():
        token = make_token(db.session, make_user(db.session))
    client = web.test_client()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with count_queries(web) as statements:
        for _ in range(3):
            assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert _token_queries(statements) == []
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/api/v1/me", headers=bearer(wrong)).status_code == 401  # the secret is checked each time


@pytest.mark.parametrize("change", ["revoke", "deactivate", "role"])
def test_a_change_made_by_another_process_applies_at_the_next_request(
    two_processes: tuple[Any, Any], change: str
) -> None:
    web, admin_process = two_processes
    with web.app_context():
        officer = make_user(db.session)
        make_user(db.session, Role.ADMIN, email="admin@jisr.example")
        token = make_token(db.session, officer, scope="write")
        officer_id = officer.id
    client = web.test_client()
    body = {"country": "MA", "kind": "agency", "name_fr": "Agence X"}
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # now cached in `web`
    with admin_process.app_context():
        session = db.session
        admin = session.exec(select(User).where(User.email == "admin@jisr.example")).one()
        officer = session.get(User, officer_id)
        if change == "revoke":
            revoke_api_token(session, session.exec(select(ApiToken)).one(), actor=admin)
        elif change == "deactivate":
            deactivate_user(session, officer, actor=admin)
        else:
            set_user_role(session, officer, "viewer", actor=admin)
        session.commit()
    if change == "role":
        answer = client.post("/api/v1/organisations", json=body, headers=bearer(token))
        assert answer.status_code == 403 and answer.get_json()["code"] == "read_only_account"
        assert client.get("/api/v1/me", headers=bearer(token)).get_json()["role"] == "viewer"
    else:
        answer = client.get("/api/v1/me", headers=bearer(token))
        assert answer.status_code == 401 and answer.get_json()["code"] == "invalid_token"


def test_the_stages_default_probabilities_are_kept_until_one_changes(two_processes: tuple[Any, Any]) -> None:
    from crm.leads.models import Stage
    from crm.pipeline.operations import set_stage_probabilities
    from crm.pipeline.queries import stage_probabilities

    web, admin_process = two_processes
    with web.test_request_context():
        assert stage_probabilities(db.session)[Stage.PROPOSAL] == 50
    with admin_process.app_context():
        admin = make_user(db.session, Role.ADMIN)
        set_stage_probabilities(db.session, {Stage.PROPOSAL: 45}, actor=admin)
        db.session.commit()
    with web.test_request_context(), count_queries(web) as statements:
        assert stage_probabilities(db.session)[Stage.PROPOSAL] == 45
    assert len(statements) == 1
    with web.test_request_context(), count_queries(web) as statements:
        assert stage_probabilities(db.session)[Stage.PROPOSAL] == 45
    assert statements == []


def test_a_page_reads_its_user_once_and_sees_a_deactivation_at_once(two_processes: tuple[Any, Any]) -> None:
    from tests.web_helpers import login

    web, admin_process = two_processes
    with web.app_context():
        officer = make_user(db.session, email="officer@jisr.example")
        make_user(db.session, Role.ADMIN, email="admin@jisr.example")
        db.session.commit()
        officer_id = officer.id
    client = web.test_client()
    login(client, "officer@jisr.example")
    assert client.get("/notifications").status_code == 200
    with count_queries(web) as statements:
        assert client.get("/notifications").status_code == 200
    assert not [s for s in statements if "FROM user_account" in s and "user_account.id = " in s and "JOIN" not in s]
    with admin_process.app_context():
        admin = db.session.exec(select(User).where(User.email == "admin@jisr.example")).one()
        deactivate_user(db.session, db.session.get(User, officer_id), actor=admin)
        db.session.commit()
    assert client.get("/notifications").status_code == 302  # to the login page


def test_the_filter_bar_choices_are_kept_until_one_changes_anywhere(two_processes: tuple[Any, Any]) -> None:
    """The lead list and the board offer organisations, sectors, officers and missions on
    every page: read once per process, read again after another process renames one, in
    the reader's language."""
    from crm.leads.choices import filter_choices
    from crm.organisations.models import Country, OrganisationKind
    from crm.organisations.operations import create_organisation, update_organisation

    web, admin_process = two_processes
    with admin_process.app_context():
        admin = make_user(db.session, Role.ADMIN)
        org = create_organisation(
            db.session,
            country=Country.US,
            kind=OrganisationKind.COMPANY,
            name_en="Cloudline",
            name_ar="كلاودلاين",
            actor=admin,
        )
        db.session.commit()
        org_id, admin_id = org.id, admin.id

    def offered(language: str) -> list[str]:
        with web.test_request_context(headers={"Accept-Language": language}):
            return [o.short_name() for o in filter_choices(db.session).us_organisations if o.id == org_id]

    with count_queries(web) as statements:
        assert offered("en") == ["Cloudline"]
    assert any("FROM organisation" in s for s in statements)
    with count_queries(web) as statements:
        assert offered("ar") == ["كلاودلاين"]  # the same copy, in another language
    assert statements == []
    with admin_process.app_context():
        update_organisation(
            db.session, db.session.get(Organisation, org_id), actor=db.session.get(User, admin_id), acronym="CL"
        )
        db.session.commit()
    assert offered("en") == ["CL"]
