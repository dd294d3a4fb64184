"""Pages that belong to no domain: home and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from crm.core.db import db

bp = Blueprint("core", __name__)


@bp.route("/")
def home() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("leads.index"))
    return redirect(url_for("accounts.login"))


@bp.route("/healthz")
def healthz() -> Any:
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
