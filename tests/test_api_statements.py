"""The API's lead reads cost a fixed number of statements: with the token and the stages'
defaults known to the process, a lead's detail is one statement and so is a page of leads
(its rows with their watchers, and its count), however many rows and watchers there are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crm.core.db import db
from crm.leads.operations import add_watcher
from tests.api_helpers import bearer, make_token
from tests.conftest import TEST_REDIS_URL, make_test_app
from tests.factories import make_lead, make_user
from tests.test_web import count_queries


@pytest.fixture(params=["cached", "embedded"])
def api_app(request: pytest.FixtureRequest, database_url: str) -> Iterator[Any]:
    if request.param == "cached" and not TEST_REDIS_URL:
        pytest.skip("the process keeps tokens only with Redis: set REDIS_URL")
    app = make_test_app(database_url, REDIS_URL=TEST_REDIS_URL if request.param == "cached" else None)
    app.config["jisr.test_cached"] = request.param == "cached"
    yield app
    app.extensions["jisr.db"][0].dispose()


def _counted(app: Any, client: Any, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    client.get(path, headers=headers)  # the token's "last used" is written once a minute
    with count_queries(app) as statements:
        answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return len(statements), answer.get_json()


def test_lead_reads_cost_the_same_whatever_the_rows(api_app: Any) -> None:
    with api_app.app_context():
        officer = make_user(db.session)
        others = [make_user(db.session) for _ in range(4)]
        first = make_lead(db.session, owner=officer, confidential=True)
        db.session.commit()
        token = make_token(db.session, officer)
        lead_id = first.id
    client = api_app.test_client()
    headers = bearer(token)
    detail, one = _counted(api_app, client, f"/api/v1/leads/{lead_id}", headers)
    listing, page = _counted(api_app, client, "/api/v1/leads?limit=50", headers)
    assert one["watcher_ids"] == [] and [item["id"] for item in page["items"]] == [lead_id]
    with api_app.app_context():
        lead = db.session.get(type(first), lead_id)
        for other in others:
            add_watcher(db.session, lead, other.id, actor=officer)
        for n in range(30):
            make_lead(db.session, owner=others[n % 4], confidential=n % 5 == 0)
        db.session.commit()
        watcher_ids = sorted(other.id for other in others)
    assert _counted(api_app, client, f"/api/v1/leads/{lead_id}", headers)[0] == detail
    more, page = _counted(api_app, client, "/api/v1/leads?limit=50", headers)
    assert more == listing
    assert len(page["items"]) == 1 + 24  # the confidential leads of others are not there
    assert next(item for item in page["items"] if item["id"] == lead_id)["watcher_ids"] == watcher_ids
    if api_app.config["jisr.test_cached"]:
        assert (detail, listing) == (1, 1)


@pytest.mark.parametrize(
    ("method", "path", "autocommit"),
    [("GET", "/api/v1/leads", True), ("POST", "/api/v1/leads", False), ("GET", "/leads", False)],
)
def test_api_reads_run_without_a_transaction_on_postgresql(
    database_url: str, method: str, path: str, autocommit: bool
) -> None:
    """An API read costs its statements' round trips only: no BEGIN before, no ROLLBACK after."""
    app = make_test_app(database_url)
    try:
        with app.test_request_context(path, method=method):
            dbapi = db.session.connection().connection.dbapi_connection
            if app.extensions["jisr.db"][0].dialect.name != "postgresql":
                assert "jisr.db.reads" not in app.extensions  # SQLite: one writer, as it always ran
                return
            assert dbapi is not None and dbapi.autocommit is autocommit
    finally:
        app.extensions["jisr.db"][0].dispose()
