"""``flask --app wsgi crm check``: one line per part of the installation, and a failing
exit status when a part is broken, against real servers (an SMTP sink, Redis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.config import MailSettings
from crm.core.db import db
from crm.core.state import put_state
from tests.conftest import TEST_REDIS_URL, make_test_app
from tests.processes import free_port
from tests.spine_helpers import Sink


def _check(app: Any) -> tuple[int, dict[str, str]]:
    result = app.test_cli_runner().invoke(args=["crm", "check"])
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.strip()}
    return result.exit_code, lines


def _ok(line: str) -> bool:
    return line.startswith("ok ")


def test_a_fresh_installation_passes_and_says_what_it_lacks(app: Any) -> None:
    code, lines = _check(app)
    assert code == 0, lines
    for part in ("database", "schema", "time", "broker", "relay"):
        assert _ok(lines[part]), lines[part]
    assert lines["beat"].startswith("warn") and "never ticked" in lines["beat"]
    assert lines["mail"].startswith("warn") and "outbox" in lines["mail"]


def test_a_server_database_wants_a_shared_secret_key_and_a_public_address(
    database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_test_app(database_url, BASE_URL="http://127.0.0.1:5000")
    settings = _check(app)[1]["settings"]
    if backend == "sqlite":  # one machine: the generated key and a local address are fine
        assert _ok(settings), settings
    else:
        assert settings.startswith("warn") and "SECRET_KEY" in settings and "BASE_URL" in settings
    app.extensions["jisr.db"][0].dispose()
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    app = make_test_app(database_url, BASE_URL="https://jisr.example.org")
    assert _ok(_check(app)[1]["settings"])
    app.extensions["jisr.db"][0].dispose()


def test_a_recent_beat_tick_is_ok(app: Any) -> None:
    with app.app_context():
        put_state(db.session, "beat.last_tick", "now")
        db.session.commit()
    assert _ok(_check(app)[1]["beat"])


def test_a_database_without_its_schema_fails_with_the_command_that_mends_it(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    code, lines = _check(app)
    assert code == 1
    assert lines["schema"].startswith("fail") and "crm migrate" in lines["schema"]
    assert "not checked" in lines["beat"] and "not checked" in lines["relay"]
    assert _ok(lines["database"])
    app.extensions["jisr.db"][0].dispose()


def test_the_mail_server_is_greeted_but_sent_nothing(database_url: str) -> None:
    with Sink() as sink:
        app = make_test_app(database_url, MAIL=MailSettings(scheme="smtp", host="127.0.0.1", port=sink.port))
        code, lines = _check(app)
        app.extensions["jisr.db"][0].dispose()
    assert code == 0 and _ok(lines["mail"]) and f"127.0.0.1:{sink.port}" in lines["mail"]
    assert sink.messages == []


def test_an_unreachable_mail_server_fails_and_is_named(database_url: str) -> None:
    port = free_port()
    app = make_test_app(database_url, MAIL=MailSettings(scheme="smtp", host="127.0.0.1", port=port))
    code, lines = _check(app)
    app.extensions["jisr.db"][0].dispose()
    assert code == 1 and lines["mail"].startswith("fail") and f"smtp://127.0.0.1:{port}" in lines["mail"]


@pytest.mark.skipif(not TEST_REDIS_URL, reason="the Redis checks need REDIS_URL")
def test_redis_answers_and_a_server_that_does_not_fails(database_url: str) -> None:
    redis = {"REDIS_URL": TEST_REDIS_URL, "BROKER_URL": TEST_REDIS_URL, "RESULT_BACKEND": TEST_REDIS_URL}
    app = make_test_app(database_url, **redis)
    code, lines = _check(app)
    app.extensions["jisr.db"][0].dispose()
    assert _ok(lines["broker"]) and "redis" in lines["broker"]
    assert lines["workers"].startswith(("ok", "warn"))  # whether a worker of another test answers

    down = f"redis://127.0.0.1:{free_port()}/0"
    app = make_test_app(database_url, REDIS_URL=down, BROKER_URL=down, RESULT_BACKEND=down)
    code, lines = _check(app)
    app.extensions["jisr.db"][0].dispose()
    assert code == 1 and lines["broker"].startswith("fail")
