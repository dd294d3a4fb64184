"""The administrators' view of the running system: the local mail outbox, and the status
page (beat, relay lag, queue, mail), where failed mail can be sent again."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from crm.accounts.auth import role_required
from crm.accounts.models import Role
from crm.core.db import db
from crm.core.i18n import ngettext
from crm.core.mail import list_outbox, read_outbox_message
from crm.core.status import queues_of, retry_failed_mail, system_status

bp = Blueprint("system", __name__)


@bp.route("/admin/outbox")
@role_required(Role.ADMIN)
def outbox() -> Any:
    return render_template("system/outbox.html", messages=list_outbox())


@bp.route("/admin/outbox/<name>")
@role_required(Role.ADMIN)
def outbox_message(name: str) -> Any:
    message = read_outbox_message(name)
    if message is None:
        abort(404)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return render_template(
        "system/outbox_message.html",
        name=name,
        message=message,
        text_body=text_part.get_content() if text_part is not None else "",
        has_html=html_part is not None,
    )


@bp.route("/admin/status")
@role_required(Role.ADMIN)
def status() -> Any:
    queues = queues_of(current_app.extensions["celery"])
    found = system_status(db.session, current_app.config["BROKER_URL"], queues)
    return render_template("system/status.html", status=found)


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
    return redirect(url_for("system.status"))
