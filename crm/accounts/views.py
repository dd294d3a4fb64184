"""Log in, log out, language switch and one's own preferences."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from crm.accounts.forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, PreferencesForm
from crm.accounts.login_sessions import end_current_session, open_login_session
from crm.accounts.models import User
from crm.accounts.operations import (
    PasswordLinkReason,
    change_own_password,
    find_user_by_email,
    record_login,
    request_password_link,
    update_user_preferences,
)
from crm.accounts.throttle import count_failure, count_success, held_back, held_back_message, login_attempt
from crm.core.db import db
from crm.core.forms import save_form
from crm.core.i18n import LANGUAGES, SESSION_LANGUAGE
from crm.core.i18n import gettext as _
from crm.core.security import limiter, verify_password
from crm.core.time import available_zones
from crm.core.views import home_url

bp = Blueprint("accounts", __name__)

OFFER_LANGUAGE = "jisr.offer_language"  # the session asks whether to keep its language

# A hash to check against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


def _safe_next(target: str | None, default: str | None = None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default or url_for("leads.index")


def _keep_login_language(user: User) -> None:
    """The language chosen on the login page (its cookie) goes on after the login, for this
    session, when it is not the user's saved one: the pages then offer to save it."""
    chosen = request.cookies.get("lang")
    _forget_session_language()
    if chosen in LANGUAGES and chosen != user.language.value:
        session[SESSION_LANGUAGE] = chosen
        session[OFFER_LANGUAGE] = True


def _forget_session_language() -> None:
    session.pop(SESSION_LANGUAGE, None)
    session.pop(OFFER_LANGUAGE, None)


def _forgot_limit_key() -> str:
    return f"forgot:{(request.form.get('email') or '').strip().lower()}"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next"), home_url()))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = login_attempt(form.email.data or "")
        wait = held_back(attempt)  # before the password is even looked at
        if wait:
            form.password.errors = [held_back_message(wait)]
            page = render_template("accounts/login.html", form=form)
            return page, 429, {"Retry-After": str(wait)}
        user = find_user_by_email(db.session, form.email.data or "")
        password = form.password.data or ""
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        if user is not None and ok and user.is_active:
            count_success(attempt)
            open_login_session(db.session, user)
            login_user(user)
            g.jisr_user = user
            _keep_login_language(user)
            record_login(db.session, user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next"), home_url()))
        count_failure(db.session, attempt, user)
        db.session.commit()
        form.password.errors = [_("Wrong email or password.")]
    return render_template("accounts/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """The session's record goes: a copy of the cookie opens nothing after this."""
    if end_current_session(db.session):
        db.session.commit()
    logout_user()
    _forget_session_language()
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
        _forget_session_language()
    return response


@bp.route("/language/keep", methods=["POST"])
@login_required
def keep_language() -> Any:
    """Save the language this session speaks (chosen on the login page) as the user's own;
    with ``keep=no``, stop offering it and go on in it for this session only."""
    target = _safe_next(request.form.get("next"), home_url())
    language = session.get(SESSION_LANGUAGE)
    session.pop(OFFER_LANGUAGE, None)
    if language not in LANGUAGES or request.form.get("keep") == "no":
        return redirect(target)
    update_user_preferences(db.session, current_user, language=language)
    db.session.commit()
    _forget_session_language()
    flash(_("Your language is saved."), "success")
    return redirect(target)


@bp.route("/password/forgotten", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_forgot_limit_key)
def forgot_password() -> Any:
    """The same answer whether the address has an account or not: the page tells nobody
    who uses Jisr.  The link goes only to the account's own address."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.settings"))
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("accounts/forgot_password.html", form=form), (400 if request.method == "POST" else 200)
    user = find_user_by_email(db.session, form.email.data or "")
    if user is not None and user.is_active:
        request_password_link(db.session, user, PasswordLinkReason.FORGOTTEN, actor=None)
        db.session.commit()
    flash(
        _(
            "If %(email)s is the address of a Jisr account, a link to set a new password is on its way there. "
            "It works for three days; your current password keeps working meanwhile.",
            email=form.email.data,
        ),
        "info",
    )
    return redirect(url_for("accounts.login"))


def _preferences_form(user: User, *, submitted: bool) -> PreferencesForm:
    if submitted:
        return PreferencesForm(obj=user)
    form = PreferencesForm(obj=user, formdata=None)
    form.language.data = user.language.value
    form.hour_cycle.data = user.hour_cycle.value
    form.reminder_days_before.data = ", ".join(str(d) for d in user.reminder_days_before or [])
    return form


def _settings_page(form: PreferencesForm, password_form: ChangePasswordForm, status: int = 200) -> Any:
    page = render_template("accounts/settings.html", form=form, password_form=password_form, zones=available_zones())
    return page, status


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> Any:
    user: User = current_user
    form = _preferences_form(user, submitted=request.method == "POST")
    password_form = ChangePasswordForm(formdata=None)
    if request.method == "GET":
        return _settings_page(form, password_form)
    if form.validate_on_submit():
        saved = save_form(
            form,
            lambda: update_user_preferences(
                db.session,
                user,
                name=form.name.data or "",
                language=form.language.data,
                timezone=(form.timezone.data or "").strip(),
                reminder_send_hour=form.reminder_send_hour.data,
                reminder_days_before=form.reminder_days_before.data or "",
                hour_cycle=form.hour_cycle.data,
            ),
            _("Your preferences are saved."),
        )
        if saved:
            _forget_session_language()  # the language just saved is the one to speak
            return redirect(url_for("accounts.settings"))
    return _settings_page(form, password_form, 400)


@bp.route("/settings/password", methods=["POST"])
@login_required
@limiter.limit("10 per hour", key_func=lambda: f"password:{current_user.id}")
def change_password() -> Any:
    """A new password ends every session of the user; this browser goes on under a new
    one, so that a copy of its cookie taken before stops working too."""
    user: User = current_user
    password_form = ChangePasswordForm()

    def change() -> None:
        change_own_password(
            db.session,
            user,
            current=password_form.current_password.data or "",
            new=password_form.password.data or "",
        )
        open_login_session(db.session, user)

    if password_form.validate_on_submit():
        if password_form.password.data != password_form.confirm.data:
            password_form.confirm.errors = [_("The two passwords differ.")]
        elif save_form(password_form, change, _("Your password is changed. Your other sessions are logged out.")):
            login_user(user)
            return redirect(url_for("accounts.settings"))
    return _settings_page(_preferences_form(user, submitted=False), password_form, 400)
