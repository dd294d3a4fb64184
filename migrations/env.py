"""Alembic environment: Jisr's models are the target; the URL is Jisr's configuration."""

from __future__ import annotations

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import crm.models  # noqa: F401 - registers every table
from crm.config import load_settings, normalise_database_url

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return normalise_database_url(url)
    return load_settings().database_url


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave out the indexes that the models do not describe: SQLite's FTS5 tables (``fts_*``
    and their shadow tables), PostgreSQL's trigram indexes, and PostgreSQL-only orderings
    (``*_pg``: ``NULLS LAST`` in an index, which SQLite cannot declare)."""
    if type_ == "table" and name and name.startswith("fts_"):
        return False
    return not (type_ == "index" and name and name.endswith(("_search_trgm", "_pg")))


def _configure(**kwargs: object) -> None:
    url = _url()
    context.configure(
        target_metadata=target_metadata,
        include_name=_include_name,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        compare_server_default=False,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
