"""The API's budget per token, counted in Redis in one round trip per request (which also
reads the reference epoch) or in the application's memory when embedded."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import time_machine

from crm.core.db import db
from tests.api_helpers import bearer, make_token
from tests.conftest import TEST_REDIS_URL, make_test_app
from tests.factories import make_user

STORAGES = ["memory"] + (["redis"] if TEST_REDIS_URL else [])


def _app(database_url: str, storage: str) -> Any:
    return make_test_app(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=TEST_REDIS_URL if storage == "redis" else "memory://",
        REDIS_URL=TEST_REDIS_URL if storage == "redis" else None,
        API_RATE_LIMIT_PER_MINUTE=3,
    )


@pytest.fixture(params=STORAGES)
def budget_app(request: pytest.FixtureRequest, database_url: str) -> Iterator[Any]:
    app = _app(database_url, request.param)
    yield app
    app.extensions["jisr.db"][0].dispose()


@pytest.fixture
def redis_budget_app(database_url: str) -> Iterator[Any]:
    if not TEST_REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL")
    app = _app(database_url, "redis")
    yield app
    app.extensions["jisr.db"][0].dispose()


def _client(app: Any) -> Any:
    """A client from an address of its own, so that no other test's calls count against it."""
    address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_budget_is_per_token_and_told_in_every_answer(budget_app: Any) -> None:
    with budget_app.app_context():
        first = make_token(db.session, make_user(db.session))
        second = make_token(db.session, make_user(db.session))
    client = _client(budget_app)
    with time_machine.travel("2026-12-07 10:00:05Z", tick=False):
        answers = [client.get("/api/v1/me", headers=bearer(first)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"3"}
        # The window ends at the next whole minute: 10:01:00.
        assert {a.headers["X-RateLimit-Reset"] for a in answers} == {"1796637660"}
        limited = answers[-1]
        assert limited.content_type == "application/problem+json"
        assert limited.get_json()["code"] == "rate_limited"
        assert limited.headers["Retry-After"] == "55"
        assert "Retry-After" not in answers[0].headers
        assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200  # a budget of its own
    with time_machine.travel("2026-12-07 10:01:00Z", tick=False):  # a new minute, a new budget
        assert client.get("/api/v1/me", headers=bearer(first)).status_code == 200


def test_invented_tokens_are_counted_against_the_address(budget_app: Any) -> None:
    client = _client(budget_app)
    invented = [f"jisr_{random.randrange(16**8):08x}_{'x' * 32}" for _ in range(4)]
    with time_machine.travel("2026-12-07 11:00:00Z", tick=False):
        codes = [client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code for raw in invented]
        assert codes == [401, 401, 401, 429]
        # Calls without a token share the same address budget.
        assert client.get("/api/v1/me").status_code == 429
        assert _client(budget_app).get("/api/v1/me").status_code == 401  # another address


def test_the_429_speaks_the_token_owners_language(budget_app: Any) -> None:
    from crm.accounts.models import Language

    with budget_app.app_context():
        user = make_user(db.session, language=Language.FR)
        token = make_token(db.session, user)
    client = _client(budget_app)
    with time_machine.travel("2026-12-07 12:00:00Z", tick=False):
        answers = [client.get("/api/v1/leads", headers=bearer(token, language=None)) for _ in range(4)]
    assert answers[-1].status_code == 429
    assert answers[-1].get_json()["detail"].startswith("Trop de requêtes")


def test_a_request_meets_redis_once(redis_budget_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the token known to the process, the count, its expiry and the reference epoch
    travel in one round trip."""
    budget_app = redis_budget_app
    with budget_app.app_context():
        token = make_token(db.session, make_user(db.session))
    budget_app.config["API_RATE_LIMIT_PER_MINUTE"] = 1000
    client = _client(budget_app)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # the token is now known
    sent: list[bytes] = []
    original = redis.connection.Connection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        original(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert len(sent) == 1
    wire = b"".join(sent if isinstance(sent[0], bytes) else [b"".join(part) for part in sent])
    assert b"jisr:reference-epoch" in wire and b"INCR" in wire and b"EXPIRE" in wire
