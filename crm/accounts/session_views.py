"""One's login sessions on the settings page: where one is logged in, and logging out of
one of them or of every other one (a lost phone, a computer left logged in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, url_for
from flask_babel import format_timedelta
from flask_login import current_user, login_required, logout_user

from crm.accounts.login_sessions import current_handle, live_sessions_of
from crm.accounts.models import User
from crm.accounts.operations import log_out_other_sessions, log_out_session
from crm.accounts.session_store import LoginSessionRecord
from crm.core.db import db
from crm.core.i18n import gettext as _
from crm.core.i18n import ngettext

bp = Blueprint("login_sessions", __name__)


@dataclass(frozen=True)
class SessionRow:
    record: LoginSessionRecord
    current: bool


def _sessions_of(user: User) -> list[SessionRow]:
    here = current_handle()
    rows = [SessionRow(r, r.handle == here) for r in live_sessions_of(db.session, user)]
    return sorted(rows, key=lambda row: not row.current)  # this session first


def _session_limits() -> dict[str, str]:
    config = current_app.config
    return {
        "idle": format_timedelta(timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])), threshold=1.5),
        "lifetime": format_timedelta(timedelta(hours=int(config["SESSION_MAX_HOURS"])), threshold=1.5),
    }


def _back() -> Any:
    return redirect(url_for("accounts.settings") + "#login-sessions")


@bp.route("/settings/sessions/others/logout", methods=["POST"])
@login_required
def log_out_others() -> Any:
    ended = log_out_other_sessions(db.session, current_user, keep_session=current_handle())
    db.session.commit()
    if ended:
        message = ngettext(
            "You are logged out of %(num)d other session.", "You are logged out of %(num)d other sessions.", ended
        )
    else:
        message = _("You had no other session.")
    flash(message, "success")
    return _back()


@bp.route("/settings/sessions/<handle>/logout", methods=["POST"])
@login_required
def log_out_one(handle: str) -> Any:
    """Anybody's but one's own session is "not found", whatever it is."""
    this_one = handle == current_handle()
    if not log_out_session(db.session, current_user, handle):
        abort(404)
    db.session.commit()
    if this_one:
        logout_user()
        return redirect(url_for("accounts.login"))
    flash(_("That session is logged out."), "success")
    return _back()


def init_templates(app: Flask) -> None:
    app.jinja_env.globals.update(login_sessions_of=_sessions_of, login_session_limits=_session_limits)
