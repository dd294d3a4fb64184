"""Pages that belong to no domain: home, health check, the administrators' mail outbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from crm.accounts.auth import role_required
from crm.accounts.models import Role
from crm.core.db import db
from crm.core.i18n import ngettext
from crm.core.mail import list_outbox, read_outbox_message
from crm.core.status import retry_failed_mail, system_status

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


@bp.route("/admin/status")
@role_required(Role.ADMIN)
def status() -> Any:
    return render_template("core/status.html", status=system_status(db.session, current_app.config["BROKER_URL"]))


@bp.route("/admin/status/retry-failed", methods=["POST"])
@role_required(Role.ADMIN)
def retry_failed() -> Any:
    ids = retry_failed_mail(db.session, actor=current_user)
    db.session.commit()
    if ids:
        from workers.mail import enqueue_due_mail

        try:
            enqueue_due_mail()
        except Exception:  # the broker is down: the sweeper will send them
            current_app.logger.warning("could not enqueue retried mail", exc_info=True)
    flash(ngettext("%(num)d email queued again.", "%(num)d emails queued again.", len(ids)), "success")
    return redirect(url_for("core.status"))
