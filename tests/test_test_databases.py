"""The PostgreSQL database a test gets is as empty as a freshly truncated one: every table
without rows and every identity restarted, whatever the previous test left behind."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from crm.core.db import db
from crm.demo import load_demo
from tests.conftest import _truncate_all, make_test_app
from tests.factories import make_lead, make_user


def _rows_and_used_sequences(url: str) -> tuple[int, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        rows = sum(
            conn.execute(sa.text(f'SELECT count(*) FROM "{t.name}"')).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        )
        used = conn.execute(sa.text("SELECT count(*) FROM pg_sequences WHERE last_value IS NOT NULL")).scalar_one()
    engine.dispose()
    return rows, used


def test_every_table_is_emptied_and_every_identity_restarted(pg_database: str) -> None:
    app = make_test_app(pg_database)
    try:
        with app.app_context():
            session = db.session
            load_demo(session)
            boss = make_user(session)
            make_user(session).supervisor_id = boss.id  # a row pointing at its own table
            make_lead(session)
            session.commit()
            make_user(session)
            session.rollback()  # a sequence used by a transaction that left no row
        rows, used = _rows_and_used_sequences(pg_database)
        assert rows > 0 and used > 0

        _truncate_all(pg_database)

        assert _rows_and_used_sequences(pg_database) == (0, 0)
        with app.app_context():
            assert make_user(db.session).id == 1
            db.session.commit()
    finally:
        app.extensions["jisr.db"][0].dispose()
        _truncate_all(pg_database)
