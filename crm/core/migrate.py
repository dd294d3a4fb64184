"""Running Alembic from Jisr (CLI, set-up and tests) with Jisr's database URL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from crm.config import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "migrations" / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrations disagree."""
    command.check(alembic_config(database_url))
