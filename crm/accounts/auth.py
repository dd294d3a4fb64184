"""Login sessions and role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, g, redirect, request
from flask_babel import force_locale
from flask_babel import refresh as refresh_babel
from flask_login import LoginManager, current_user
from flask_login.utils import login_url
from sqlmodel import Session

from crm.accounts.login_sessions import expired_session_user, resume_login_session
from crm.accounts.models import Role, User
from crm.core.db import db
from crm.core.i18n import lazy_gettext as _l
from crm.core.reference_cache import ProcessCache, current_epoch, watch

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please log in to see this page.")  # type: ignore[assignment]
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

F = TypeVar("F", bound=Callable[..., Any])


SESSION_EXPIRED = _l("Your session has expired. Please log in again.")


# Accounts as last read, per process and database, until any account changes anywhere
# (crm.core.reference_cache): a page then reads its user with no query.
_ACCOUNTS = ProcessCache()
watch(User)


def _account(user_id: int) -> User | None:
    session = db.session
    if current_epoch() is None:
        return session.get(User, user_id)

    def load() -> User | None:
        with Session(session.get_bind(), expire_on_commit=False) as apart:  # detached, for every request
            return apart.get(User, user_id)

    found = _ACCOUNTS.get((str(session.get_bind().engine.url), user_id), load)
    return None if found is None else session.merge(found, load=False)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of a live server-side session (see ``crm.accounts.login_sessions``):
    a revoked, expired, unknown or malformed one is nobody's."""
    record = resume_login_session(db.session, session_id)
    if record is None:
        return None
    user = record.user or _account(record.user_id)
    if user is None or not user.is_active:
        return None
    return user


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    """Flask-Login's answer (a message, then the login page); when the session expired it
    says so, and the login page speaks the language its user chose."""
    response = redirect(login_url(str(login_manager.login_view), next_url=request.url))
    expired_user_id = expired_session_user()
    user = db.session.get(User, expired_user_id) if expired_user_id is not None else None
    if user is None:
        flash(str(login_manager.login_message), login_manager.login_message_category)
        return response
    with force_locale(user.language.value):
        flash(str(SESSION_EXPIRED), login_manager.login_message_category)
    response.set_cookie("lang", user.language.value, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


# Tests of requests whose callers bring their own credentials (the JSON API's bearer
# tokens): the browser's login is never read for them (see :func:`without_browser_login`).
_WITHOUT_LOGIN: list[Callable[[], bool]] = []


def without_browser_login(applies: Callable[[], bool]) -> None:
    """Requests for which ``applies()`` never read the browser's login cookie: their
    feature says who calls and in which language (and a cookie must not speak for them)."""
    _WITHOUT_LOGIN.append(applies)


def _remember_user() -> None:
    """Expose the user to the locale / time-zone selectors (which must not load it).

    Each request starts from its own session cookie: nothing cached on ``g`` by an
    earlier request sharing the app context (as tests do) may leak into it."""
    g.pop("_login_user", None)
    if any(applies() for applies in _WITHOUT_LOGIN):
        g.jisr_user = None
        request.environ[_REMEMBERED] = True
        return
    user = current_user._get_current_object() if current_user else None  # type: ignore[attr-defined]
    g.jisr_user = user if isinstance(user, User) else None
    request.environ[_REMEMBERED] = True
    refresh_babel()


_REMEMBERED = "jisr.user_remembered"


def _remember_user_for_error_page() -> None:
    """An error met before ``_remember_user`` ran (the CSRF check refusing a form or
    finding its body too large, the rate limiter's 429) is still shown in the user's
    language, not in the cookie's or the browser's."""
    if request.environ.get(_REMEMBERED):
        return
    g.pop("jisr_language", None)  # a choice of the JSON API's, left on a shared ``g``
    try:
        _remember_user()
    except Exception:  # the database or Redis is down: the page still shows, in the cookie's language
        current_app.logger.warning("could not load the user for an error page", exc_info=True)
        g._login_user = login_manager.anonymous_user()  # the page's ``current_user`` must not try again
        g.jisr_user = None
        refresh_babel()


def role_required(*roles: Role) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def init_app(app: Flask) -> None:
    from crm.accounts.session_views import bp as login_sessions_bp
    from crm.accounts.session_views import init_templates

    login_manager.init_app(app)
    app.before_request(_remember_user)
    app.extensions.setdefault("jisr.before_error_page", []).append(_remember_user_for_error_page)
    app.register_blueprint(login_sessions_bp)
    init_templates(app)
