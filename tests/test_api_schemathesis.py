"""The OpenAPI document holds: schemathesis, against the app in-process, finds no server
error and no answer that breaks the document, on every operation, with demo data."""

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

from tests.conftest import BACKENDS, _truncate_all, make_test_app


@dataclass
class World:
    app: Any
    schema: Any
    headers: dict[str, str]


@pytest.fixture(scope="module", params=BACKENDS)
def api_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One database with the demo data and a write token for every operation of a backend."""
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
    yield World(app=app, schema=schema, headers={"Authorization": f"Bearer {secret}"})
    app.extensions["jisr.db"][0].dispose()


from crm.api.openapi import openapi_document  # noqa: E402


class SwitchedApp:
    """The WSGI app under test: the fixture points it at each backend's app in turn."""

    target: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.target(environ, start_response)


APP = SwitchedApp()
schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {"generation": {"max-examples": 10}, "seed": 6, "phases": {"coverage": {"enabled": False}}}
    ),
)
schema.app = APP  # requests, and the checks' own requests, go to the app in-process


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_as_its_openapi_document_says(case: Any, api_world: World) -> None:
    # Valid-looking input may still name rows that do not exist (422): not a schema break.
    case.call_and_validate(
        base_url="http://jisr.test",
        headers=api_world.headers,
        excluded_checks=[positive_data_acceptance],
    )
