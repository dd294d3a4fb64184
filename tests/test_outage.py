"""When Redis or the database does not answer, a page answers 503 with ``Retry-After`` in
the reader's language (not a 500 "something went wrong"), and the API answers a 503 problem
document.  The outages are real: a Redis client pointed at a closed port, an app whose
database address has nothing listening."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from crm.api.models import TOKEN_PREFIX
from crm.core.db import db
from crm.core.web import ERROR_TITLES
from tests.conftest import TEST_REDIS_URL, make_test_app
from tests.factories import make_user
from tests.web_helpers import login

# Nothing listens on port 1 of the loopback: connections are refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"
DEAD_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/test"


@pytest.fixture
def redis_app(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    prefix = f"jisr-test:{uuid.uuid4().hex}:"
    app = make_test_app(database_url, REDIS_URL=TEST_REDIS_URL, LOGIN_SESSION_REDIS_PREFIX=prefix)
    yield app
    app.extensions["jisr.db"][0].dispose()


def _redis_goes_away(app: Any) -> None:
    app.extensions["jisr.login_sessions.redis"] = redis.Redis.from_url(
        DEAD_REDIS, socket_timeout=1, socket_connect_timeout=1, decode_responses=True
    )


@pytest.mark.skipif(not TEST_REDIS_URL, reason="the session store outage needs REDIS_URL")
@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_a_logged_in_page_answers_503_in_the_readers_language_when_redis_is_down(redis_app: Any, language: str) -> None:
    with redis_app.app_context():
        user = make_user(db.session, language=language)
        db.session.commit()
        email = user.email
    client = redis_app.test_client()
    assert login(client, email).status_code == 302
    assert client.get("/leads").status_code == 200
    _redis_goes_away(redis_app)

    answer = client.get("/leads", headers={"Accept-Language": language})

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"
    page = answer.get_data(as_text=True)
    with redis_app.test_request_context(headers={"Accept-Language": language}):
        from flask_babel import force_locale

        with force_locale(language):
            assert str(ERROR_TITLES[503]) in page
    assert f'lang="{language}"' in page
    if language != "en":
        assert "Temporarily unavailable" not in page


def test_the_api_answers_a_503_problem_when_the_database_is_down(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_test_app(DEAD_POSTGRES)
    client = app.test_client()

    answer = client.get(
        "/api/v1/leads",
        headers={"Authorization": f"Bearer {TOKEN_PREFIX}_0123abcd_{'x' * 40}", "Accept-Language": "fr"},
    )

    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.headers["Retry-After"] == "30"
    body = answer.get_json()
    assert body["code"] == "unavailable"
    assert body["title"] == "Temporairement indisponible"


def test_the_login_form_answers_503_when_the_database_is_down(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_test_app(DEAD_POSTGRES)
    client = app.test_client()

    answer = client.post(
        "/login", data={"email": "officer@example.org", "password": "x" * 12}, headers={"Accept-Language": "fr"}
    )

    assert answer.status_code == 503
    assert "Temporairement indisponible" in answer.get_data(as_text=True)
