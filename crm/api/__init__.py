"""The JSON API under ``/api/v1/``: bearer tokens, the same operations and rules as the
web pages, pydantic models in and out, and an OpenAPI 3.1 document built from them."""

from __future__ import annotations

from flask import Flask, g


def _forget_language() -> None:
    """The API's choice of language belongs to one request (``g`` may serve several)."""
    g.pop("jisr_language", None)


def init_app(app: Flask) -> None:
    from crm.api import auth, resources  # noqa: F401 - the blueprint's routes and checks
    from crm.api.errors import handle_error
    from crm.api.framework import bp
    from crm.api.ui import bp as tokens_bp
    from crm.api.ui import init_templates
    from crm.core.db import db
    from crm.core.security import csrf

    # A read of the API writes nothing but its token's "last used", committed at once.
    db.reads_without_transaction(app, "/api/")
    csrf.exempt(bp)  # no cookies: another site cannot forge a bearer token
    app.before_request(_forget_language)
    app.register_blueprint(bp)
    app.register_blueprint(tokens_bp)
    app.extensions.setdefault("jisr.json_errors", {})["/api/"] = handle_error
    init_templates(app)
