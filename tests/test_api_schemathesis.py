"""The OpenAPI document holds: schemathesis, against the app in-process with the demo data
and a write token, finds no server error and no answer that breaks the document, on every
operation, on SQLite and PostgreSQL.

Valid-looking input may still name rows that do not exist, which the operations refuse
(422, type "invalid"), so schemathesis' "valid data is accepted" check does not apply as
such; instead the API's own model validation must never refuse what its schema allows.
The examples and fuzzing phases run with a bounded number of examples (the coverage phase,
a slower exhaustive sweep, is left to a manual run)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from crm.api.openapi import openapi_document
from tests.conftest import BACKENDS, _truncate_all, make_test_app

MAX_EXAMPLES = 8


class SwitchedApp:
    """The WSGI app under test: the fixture points it at each backend's app in turn."""

    target: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.target(environ, start_response)


APP = SwitchedApp()
schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 2024,
            "generation": {"max-examples": MAX_EXAMPLES, "allow-x00": False},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        }
    ),
)
schema.app = APP  # requests, and the checks' own requests, reach the app in-process


@dataclass
class World:
    app: Any
    headers: dict[str, str]


@pytest.fixture(scope="module", params=BACKENDS)
def api_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One database with the demo data and an officer's write token, for every operation."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("schemathesis") / "jisr.sqlite"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_database")
        _truncate_all(url)
    app = make_test_app(url)
    from crm.accounts.operations import find_user_by_email
    from crm.api.operations import create_api_token
    from crm.core.db import db
    from crm.demo import load_demo

    with app.app_context():
        with db.transaction() as session:
            load_demo(session)
        with db.transaction() as session:
            officer = find_user_by_email(session, "officer@jisr.example")
            assert officer is not None
            _, secret = create_api_token(session, officer, name="schemathesis", scope="write")
    APP.target = app
    yield World(app=app, headers={"Authorization": f"Bearer {secret}"})
    APP.target = None
    app.extensions["jisr.db"][0].dispose()


@schemathesis.check
def model_accepts_what_the_schema_allows(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 422 to schema-valid input may only come from the operations' own checks."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    refused = [e for e in response.json().get("errors", []) if e.get("type") != "invalid"]
    if refused:
        raise AssertionError(f"schema-valid input refused by the model: {refused}")
    return None


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_api_answers_as_its_openapi_document_says(case: Any, api_world: World) -> None:
    case.call_and_validate(
        base_url="http://jisr.test",
        headers=api_world.headers,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[model_accepts_what_the_schema_allows],
    )
