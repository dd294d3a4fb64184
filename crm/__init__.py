"""Jisr: a partnership lead tracker for trade missions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from crm.config import ConfigError, load_settings, normalise_database_url
from crm.core.time import check_tzdata

# Operational knobs; tests and deployments may override them through ``config``.
RUNTIME_DEFAULTS: dict[str, Any] = {
    "RELAY_KICK": True,  # publish events right after a web commit, not only on beat
    "EVENT_REDELIVERY_AFTER_SECONDS": 300,
    "ESCALATION_AFTER_DAYS": 3,
    "MAIL_LEASE_SECONDS": 120,
    "MAIL_RETRY_BASE_SECONDS": 30.0,
    "MAIL_MAX_ATTEMPTS": 8,
    "WEBHOOK_TIMEOUT_SECONDS": 10.0,
    "WEBHOOK_LEASE_SECONDS": 60.0,
    "WEBHOOK_RETRY_BASE_SECONDS": 60.0,
    "WEBHOOK_MAX_ATTEMPTS": 10,
    "WEBHOOK_DISABLE_AFTER_FAILURES": 5,
    "WEBHOOK_DISABLE_AFTER_SECONDS": 86400.0,
    "API_RATE_LIMIT_PER_MINUTE": 300,  # requests per API token
    "API_EVENT_FEED_SETTLE_SECONDS": 2.0,  # margin before an event enters the API's feed
    "LIST_EXACT_COUNT_LIMIT": 1000,  # lists count exactly up to this, then estimate (crm/core/counting.py)
    "IMPORT_MAX_BYTES": 10 * 1024 * 1024,  # uploads for import; the request limit is 16 MB
    "IMPORT_MAX_ROWS": 20_000,
    "IMPORT_INLINE_ROWS": 500,  # a confirmed import with more rows runs in a worker
    "IMPORT_READ_SECONDS": 20.0,  # reading an uploaded file is given up after this long
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-* headers are believed
    "SESSION_IDLE_MINUTES": 12 * 60,  # a login session unused this long ends
    "SESSION_MAX_HOURS": 7 * 24,  # and any ends this long after the login
    "LOGIN_SESSION_REDIS_PREFIX": "jisr:login-session:",
    "CHECKIN_LINK_DAYS": 60,  # the answer links of an outcome check-in work this long
}


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
    for key, value in RUNTIME_DEFAULTS.items():
        app.config.setdefault(key, value)
    if app.config.get("WEBHOOKS_ALLOW_LOOPBACK") and not app.config.get("TESTING"):
        raise ConfigError("WEBHOOKS_ALLOW_LOOPBACK: only tests may send webhooks to loopback addresses")

    from crm.core import requestid

    requestid.init_app(app)  # first: every later hook and log line has the request id
    from crm import models  # noqa: F401 - every table registered before first use
    from crm.features import register_features

    register_features()
    from crm.core import forms, i18n, security, web
    from crm.core.db import db

    db.init_app(app)
    from workers.factory import celery_init_app

    celery_init_app(app)
    i18n.init_app(app)
    forms.init_app(app)
    security.init_app(app)
    web.init_app(app)

    from crm.accounts.auth import init_app as init_auth
    from crm.accounts.views import bp as accounts_bp
    from crm.core.views import bp as core_bp
    from crm.followups.views import bp as followups_bp
    from crm.leads.board import bp as pipeline_bp
    from crm.leads.detail import bp as lead_bp
    from crm.leads.views import bp as leads_bp

    init_auth(app)
    from crm.accounts.throttle import init_app as init_login_throttle

    init_login_throttle(app)
    from crm.notifications.views import init_app as init_notifications

    init_notifications(app)
    from crm.today import init_app as init_today

    init_today(app)
    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(leads_bp)

    from crm.accounts.admin import bp as admin_users_bp
    from crm.dashboard.views import bp as dashboard_bp
    from crm.digests.views import bp as digests_bp
    from crm.missions.views import bp as missions_bp
    from crm.organisations.contacts_views import bp as contacts_bp
    from crm.organisations.views import bp as organisations_bp
    from crm.search.views import bp as search_bp

    for blueprint in (organisations_bp, contacts_bp, missions_bp, admin_users_bp, search_bp, dashboard_bp, digests_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(lead_bp)
    app.register_blueprint(pipeline_bp)
    app.register_blueprint(followups_bp)

    from crm.webhooks.views import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)
    from crm.api import init_app as init_api

    init_api(app)
    from crm.exchange.export_views import bp as exports_bp
    from crm.exchange.views import bp as imports_bp

    app.register_blueprint(imports_bp)
    app.register_blueprint(exports_bp)
    from crm.audit.views import bp as audit_bp
    from crm.system.views import bp as system_bp

    app.register_blueprint(audit_bp)
    app.register_blueprint(system_bp)
    from crm.system.metrics import init_app as init_metrics

    init_metrics(app)
    from crm.privacy.views import bp as privacy_bp

    app.register_blueprint(privacy_bp)
    from crm.pickers.views import init_app as init_pickers

    init_pickers(app)
    from crm.pipeline.views import bp as pipeline_settings_bp

    app.register_blueprint(pipeline_settings_bp)
    from crm.checkins.views import bp as checkins_bp

    app.register_blueprint(checkins_bp)
    from crm.reports.views import bp as reports_bp

    app.register_blueprint(reports_bp)
    from crm.documents.views import init_app as init_documents

    init_documents(app)
    from crm.itineraries.views import bp as itineraries_bp

    app.register_blueprint(itineraries_bp)
    from crm.inbound.views import bp as inbound_bp

    app.register_blueprint(inbound_bp)

    from crm.cli import crm_cli
    from crm.inbound.cli import inbound_smtp_command

    crm_cli.add_command(inbound_smtp_command)
    app.cli.add_command(crm_cli)
    return app
