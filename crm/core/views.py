"""Pages that belong to no domain: home and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from crm.core.db import db

bp = Blueprint("core", __name__)


def home_url() -> str:
    """Where a logged-in user starts: the page a feature registered as home (Today)."""
    return url_for(current_app.extensions.get("jisr.home", "leads.index"))


@bp.route("/")
def home() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url())
    return redirect(url_for("accounts.login"))


@bp.route("/healthz")
def healthz() -> Any:
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
