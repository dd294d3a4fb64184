"""Who is calling the API: a bearer token, never the browser's session cookie.

The budget is counted first (:mod:`crm.api.throttle`: per token, read off the header), then
the token is looked up once per request: the blueprint refuses missing or dead tokens
(401) and tokens without the needed scope (403), and chooses the answer's language: the
caller's Accept-Language, else the token owner's.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_babel import refresh as refresh_babel

from crm.accounts.auth import without_browser_login
from crm.accounts.models import User
from crm.api import throttle
from crm.api.framework import ENDPOINTS, bp
from crm.api.problems import ApiError
from crm.api.tokens import Authenticated, authenticate, stamp_use, token_prefix
from crm.core.db import db
from crm.core.i18n import LANGUAGES
from crm.core.i18n import lazy_gettext as _l
from crm.core.security import limiter

# Pages of the blueprint that need no token: the OpenAPI document and its reading page.
PUBLIC = frozenset({"api.openapi_json", "api.docs"})
_MISSING = object()


def _bearer() -> str | None:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else None


def current_auth() -> Authenticated | None:
    """The (token, user) of this request's bearer token, or ``None``; looked up once per
    request (kept in the request's environ: ``g`` may outlive a request, as in tests)."""
    found: Any = request.environ.get("jisr.api_auth", _MISSING)
    if found is not _MISSING:
        return found  # type: ignore[no-any-return]
    raw = _bearer()
    found = authenticate(db.session, raw) if raw is not None else None
    request.environ["jisr.api_auth"] = found
    return found  # type: ignore[no-any-return]


def _within_budget(budget: throttle.Budget | None) -> None:
    if budget is not None and budget.exceeded:
        detail = _l("Too many requests with this token: wait a moment and retry.")
        raise ApiError(429, detail=detail, headers=budget.headers())


def _language(user: User | None) -> str | None:
    if request.headers.get("Accept-Language"):
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return str(best)
    return user.language.value if user is not None else None


def _unauthenticated() -> ApiError:
    header = request.headers.get("Authorization")
    challenge = 'Bearer realm="jisr"'
    if header:
        challenge += ', error="invalid_token"'
        detail = _l("This token is unknown, expired or revoked, or its account is deactivated.")
        return ApiError(401, code="invalid_token", detail=detail, headers={"WWW-Authenticate": challenge})
    detail = _l("Send an API token: Authorization: Bearer <token>.")
    return ApiError(401, detail=detail, headers={"WWW-Authenticate": challenge})


def _speak_to(user: User | None) -> None:
    """The answer's language from now on: the caller's Accept-Language, else ``user``'s."""
    g.jisr_user = user
    g.jisr_language = _language(user)
    request.environ[_LANGUAGE_CHOSEN] = True
    refresh_babel()


_LANGUAGE_CHOSEN = "jisr.api_language_chosen"


def choose_error_language() -> None:
    """For an error met before the blueprint's own check ran (the budget's 429, an
    unknown address, a wrong method): the token's owner, never the web session's user."""
    if request.environ.get(_LANGUAGE_CHOSEN):
        return
    try:
        auth = current_auth()
    except Exception:  # the database is down: the caller's Accept-Language, else the default
        current_app.logger.warning("could not look the API token up for an error", exc_info=True)
        auth = None
    _speak_to(auth.user if auth is not None else None)


@bp.before_request
def _authenticate() -> None:
    public = request.endpoint in PUBLIC
    prefix = None if public else token_prefix(_bearer() or "")
    _within_budget(throttle.spend(prefix))
    if public:  # pages for people, in the web pages' language
        return
    # The web session's user never reaches the API (nor its language).
    _speak_to(None)
    if request.method == "OPTIONS":
        return
    endpoint = ENDPOINTS.get((request.endpoint or "").removeprefix("api."))
    auth = current_auth()
    if auth is None:
        if prefix is not None:  # an invented or dead token buys no budget of its own
            _within_budget(throttle.spend_address())
        raise _unauthenticated()
    token, user = auth.token, auth.user
    _speak_to(user)
    if endpoint is not None and endpoint.scope is not None and not token.scope.allows(endpoint.scope):
        raise ApiError(
            403,
            code="insufficient_scope",
            detail=_l("This token may only read."),
            headers={"WWW-Authenticate": 'Bearer realm="jisr", error="insufficient_scope", scope="write"'},
        )
    if stamp_use(db.session, auth):
        db.session.commit()


@bp.after_request
def _private(response: Any) -> Any:
    response.headers.setdefault("Cache-Control", "private, no-cache")
    response.vary.add("Authorization")
    response.vary.add("Accept-Language")
    budget = throttle.spent()
    if budget is not None:
        for name, value in budget.headers().items():
            response.headers.setdefault(name, value)
    return response


def _own_callers() -> bool:
    """A request of the API proper (not its pages for people): its budget is its own
    (:mod:`crm.api.throttle`) and its caller is the token's owner, never the browser's login."""
    return request.blueprint == "api" and request.endpoint not in PUBLIC


limiter.request_filter(_own_callers)
without_browser_login(_own_callers)
