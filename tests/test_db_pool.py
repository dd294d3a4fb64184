"""The pool tries a connection before use only after it lay idle: a busy connection costs
no extra round trip, and one the server dropped while idle is replaced unseen."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from crm.core import db as db_module
from crm.core.db import db


@pytest.fixture
def pg_app(app: Any, backend: str) -> Any:
    if backend != "postgresql":
        pytest.skip("the pool's pings are PostgreSQL's (SQLite has no server to lose)")
    return app


def test_a_busy_connection_is_not_pinged(pg_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = pg_app.extensions["jisr.db"][0]
    assert not engine.pool._pre_ping  # the pool's own ping would cost a round trip per checkout
    with pg_app.app_context():
        db.session.execute(sa.text("SELECT 2"))
    for idle_limit, pings in ((3600.0, 0), (0.0, 3)):
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", idle_limit)
        before = db_module.PINGS["sent"]
        for _ in range(3):
            with pg_app.app_context():
                db.session.execute(sa.text("SELECT 2"))
        assert db_module.PINGS["sent"] - before == pings


def test_a_connection_dropped_while_idle_is_replaced(pg_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with pg_app.app_context():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    engine = pg_app.extensions["jisr.db"][0]
    with sa.create_engine(engine.url).connect() as other:  # the server ends that session
        assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    with pg_app.app_context():
        again = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    assert again != pid
