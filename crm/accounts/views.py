"""Log in, log out, language switch and one's own preferences."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from crm.accounts.forms import LoginForm, PreferencesForm
from crm.accounts.models import User
from crm.accounts.operations import find_user_by_email, record_login, update_user_preferences
from crm.core.db import db
from crm.core.errors import ValidationError
from crm.core.i18n import LANGUAGES
from crm.core.i18n import gettext as _
from crm.core.security import limiter, verify_password
from crm.core.time import available_zones

bp = Blueprint("accounts", __name__)

# A hash to check against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("leads.index")


def _login_limit_key() -> str:
    return f"login:{(request.form.get('email') or '').strip().lower()}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("20 per hour", methods=["POST"], key_func=_login_limit_key)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user_by_email(db.session, form.email.data or "")
        password = form.password.data or ""
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        if user is not None and ok and user.is_active:
            login_user(user)
            g.jisr_user = user
            record_login(db.session, user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [_("Wrong email or password.")]
    return render_template("accounts/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    return redirect(url_for("accounts.login"))


@bp.route("/language", methods=["POST"])
def switch_language() -> Any:
    language = request.form.get("language", "")
    target = _safe_next(request.form.get("next"))
    if language not in LANGUAGES:
        return redirect(target)
    response = redirect(target)
    response.set_cookie("lang", language, max_age=365 * 86400, samesite="Lax", httponly=True)
    if current_user.is_authenticated:
        update_user_preferences(db.session, current_user, language=language)
        db.session.commit()
    return response


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> Any:
    user: User = current_user
    form = PreferencesForm(obj=user)
    if request.method == "GET":
        form.language.data = user.language.value
        form.reminder_days_before.data = ", ".join(str(d) for d in user.reminder_days_before or [])
    status = 200
    if form.validate_on_submit():
        try:
            update_user_preferences(
                db.session,
                user,
                name=form.name.data or "",
                language=form.language.data,
                timezone=(form.timezone.data or "").strip(),
                reminder_send_hour=form.reminder_send_hour.data,
                reminder_days_before=form.reminder_days_before.data or "",
            )
        except ValidationError as exc:
            db.session.rollback()
            for field, message in exc.errors.items():
                getattr(form, field).errors = [str(message)]
            status = 400
        else:
            db.session.commit()
            flash(_("Your preferences are saved."), "success")
            return redirect(url_for("accounts.settings"))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/settings.html", form=form, zones=available_zones()), status
