"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import crm.models  # noqa: F401
from crm.core.migrate import alembic_config, check, upgrade

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def test_models_and_migrations_agree(database_url: str) -> None:
    """``alembic check``: autogenerate finds nothing to add on the migrated database."""
    check(database_url)


def test_every_table_exists_after_upgrade(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    names = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert set(SQLModel.metadata.tables) <= names
    assert "alembic_version" in names


def test_downgrade_to_base_and_up_again(tmp_path: Path, backend: str, database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = sa.create_engine(database_url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(database_url)
    check(database_url)


def test_migration_files_are_date_prefixed_and_linear() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    for path in VERSIONS.glob("*.py"):
        prefix = path.name.split("_", 1)[0]
        assert len(prefix) == 8 and prefix.isdigit(), path.name


def test_the_lead_sort_columns_are_filled_from_the_rows_already_there(database_url: str) -> None:
    """Leads and follow-ups written before the lead sort columns existed get their stage
    rank and next follow-up from the migration, and the triggers keep it from then on."""
    from sqlmodel import select

    from crm.accounts.models import User
    from crm.core.db import UTCDateTime, db
    from crm.leads.models import STAGE_ORDER, Lead, Stage
    from crm.leads.next_due import live_next_due, next_due_differences
    from crm.leads.operations import move_lead_to_stage
    from tests.conftest import make_test_app
    from tests.factories import make_followup, make_lead, make_user

    app = make_test_app(database_url)
    with app.app_context():
        owner = make_user(db.session)
        leads = [make_lead(db.session, owner=owner) for _ in range(3)]
        move_lead_to_stage(db.session, leads[1], Stage.ON_HOLD, actor=owner)
        make_followup(db.session, leads[0], datetime(2031, 1, 2, 9), actor=owner)
        db.session.commit()
    app.extensions["jisr.db"][0].dispose()
    command.downgrade(alembic_config(database_url), "8c4e2b7d1a95")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:  # a follow-up written with no trigger to follow it
        conn.execute(
            sa.text(
                "INSERT INTO followup (lead_id, title, due_local, timezone, due_at, owner_id, status, due_version,"
                " created_at, updated_at) SELECT :lead, title, due_local, timezone, :due, owner_id, status,"
                " due_version, created_at, updated_at FROM followup"
            ).bindparams(sa.bindparam("due", type_=UTCDateTime())),
            {"lead": leads[2].id, "due": datetime(2031, 1, 1, 8, tzinfo=UTC)},
        )
    engine.dispose()
    upgrade(database_url)
    app = make_test_app(database_url)
    with app.app_context():
        query = select(Lead.id, Lead.stage, Lead.stage_rank, Lead.next_due_at, live_next_due())  # type: ignore[call-overload]
        rows = db.session.exec(query.order_by(Lead.id)).all()
        assert [(r[0], r[2]) for r in rows] == [(r[0], STAGE_ORDER.index(Stage(r[1]))) for r in rows]
        assert [r[3] for r in rows] == [r[4] for r in rows]
        assert sum(r[3] is not None for r in rows) == 2
        make_followup(db.session, leads[1], datetime(2031, 1, 5, 9), actor=db.session.get(User, owner.id))
        db.session.commit()
        assert next_due_differences(db.session.connection()) == []
    app.extensions["jisr.db"][0].dispose()
