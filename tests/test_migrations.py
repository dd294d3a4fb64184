"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

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
