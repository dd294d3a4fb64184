"""Jisr: a partnership lead tracker for trade missions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from crm.config import load_settings, normalise_database_url
from crm.core.time import check_tzdata


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The one application factory: web, CLI and Celery workers all start here."""
    check_tzdata()
    settings = load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(settings.flask_config())
    if config:
        app.config.update(config)
        app.config["DATABASE_URL"] = normalise_database_url(app.config["DATABASE_URL"])
    settings.instance_path.mkdir(parents=True, exist_ok=True)

    from crm import models  # noqa: F401 - every table registered before first use
    from crm.core import i18n, security, web
    from crm.core.db import db

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    web.init_app(app)

    from crm.accounts.auth import init_app as init_auth
    from crm.accounts.views import bp as accounts_bp
    from crm.core.views import bp as core_bp
    from crm.leads.views import bp as leads_bp

    init_auth(app)
    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(leads_bp)

    from crm.cli import crm_cli

    app.cli.add_command(crm_cli)
    return app
