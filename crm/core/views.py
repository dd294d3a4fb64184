"""Pages that belong to no domain: home, health check, the administrators' mail outbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from crm.accounts.auth import role_required
from crm.accounts.models import Role
from crm.core.db import db
from crm.core.mail import list_outbox, read_outbox_message

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


@bp.route("/admin/outbox")
@role_required(Role.ADMIN)
def outbox() -> Any:
    return render_template("core/outbox.html", messages=list_outbox())


@bp.route("/admin/outbox/<name>")
@role_required(Role.ADMIN)
def outbox_message(name: str) -> Any:
    message = read_outbox_message(name)
    if message is None:
        abort(404)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return render_template(
        "core/outbox_message.html",
        name=name,
        message=message,
        text_body=text_part.get_content() if text_part is not None else "",
        has_html=html_part is not None,
    )
