"""Web plumbing: locally served front-end packages, template helpers, error pages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_currency, format_decimal
from flask import Flask, Response, abort, current_app, render_template, request, send_from_directory
from flask_babel import format_datetime
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm.config import PROJECT_ROOT
from crm.core.db import MAX_ID, db
from crm.core.errors import PermissionDenied
from crm.core.i18n import FORMAT_LOCALES, current_language
from crm.core.i18n import lazy_gettext as _l
from crm.core.outage import RETRY_AFTER_SECONDS, unavailable_service

NODE_MODULES = PROJECT_ROOT / "node_modules"
# The only files of node_modules served, by package: (folder inside the package, suffixes).
VENDOR = {
    "bootstrap": ("dist", (".css", ".js", ".map")),
    "bootstrap-icons": ("font", (".css", ".woff", ".woff2")),
    "htmx.org": ("dist", (".js",)),
    "chart.js": ("dist", (".js", ".umd.js")),
    "tom-select": ("dist", (".css", ".js")),
}


def _refuse_impossible_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id in an address that no row can have (0, or beyond what an id column holds)
    names nothing: 404, before a view hands the number to the database, which would refuse
    it with an error.  (A converter refusing it would turn some into 405s.)"""
    for value in (values or {}).values():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            abort(404)


def vendor(package: str, filename: str) -> Response:
    if package not in VENDOR:
        abort(404)
    folder, suffixes = VENDOR[package]
    if not filename.endswith(suffixes):
        abort(404)
    root = NODE_MODULES / package / folder
    response = send_from_directory(root, filename, max_age=86400)
    return response


def url_with(**changes: Any) -> str:
    """This page's address with some query parameters replaced (repeated ones kept)."""
    args = request.args.copy()
    for key, value in changes.items():
        args.setlist(key, [str(value)])
    query = urlencode(list(args.items(multi=True)))
    return f"{request.path}?{query}" if query else request.path


def format_money(amount: Decimal | None, currency: Any) -> str:
    if amount is None:
        return "—"
    code = getattr(currency, "value", currency) or "MAD"
    return str(format_currency(amount, code, locale=FORMAT_LOCALES[current_language()]))


def format_number(value: int | float | Decimal) -> str:
    return str(format_decimal(value, locale=FORMAT_LOCALES[current_language()]))


def format_when(value: datetime | None, fmt: str = "medium") -> str:
    """An instant in the viewer's time zone and language."""
    if value is None:
        return "—"
    return str(format_datetime(value, fmt))


ERROR_TITLES = {
    400: _l("Bad request"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    413: _l("The file is too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}
ERROR_TEXTS = {
    400: _l("The request could not be understood. Check what you entered and try again."),
    403: _l("You do not have access to this page."),
    404: _l("There is nothing at this address."),
    405: _l("This action is not available here."),
    413: _l("The file is too large."),
    429: _l("Too many attempts. Wait a minute and try again."),
    500: _l("The error has been logged. Try again in a moment."),
    503: _l("Jisr cannot reach one of its services right now. Try again in a minute."),
}


def _error_page(code: int, text: Any = None) -> tuple[str, int]:
    # Some errors come before the request's user is known (a body too large for the CSRF
    # check, the rate limiter's 429): the features that know it make it known now.
    for prepare in current_app.extensions.get("jisr.before_error_page", []):
        prepare()
    title = ERROR_TITLES.get(code, ERROR_TITLES[500])
    return render_template("error.html", code=code, title=title, text=text or ERROR_TEXTS.get(code, "")), code


def _json_errors(exc: BaseException) -> Any:
    """The JSON answer of an error under a prefix that registered one (the API), or None."""
    for prefix, handler in current_app.extensions.get("jisr.json_errors", {}).items():
        if request.path.startswith(prefix):
            return handler(exc)
    return None


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(_refuse_impossible_ids)
    app.add_url_rule("/vendor/<package>/<path:filename>", "vendor", vendor)
    app.jinja_env.filters.update(money=format_money, number=format_number, when=format_when)
    app.jinja_env.globals["url_with"] = url_with

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> tuple[str, int]:
        return _error_page(400, _l("The form has expired. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if request.path.startswith("/vendor/"):
            return exc
        answer = _json_errors(exc)
        return answer if answer is not None else _error_page(exc.code or 500)

    @app.errorhandler(PermissionDenied)
    def _refused(exc: PermissionDenied) -> Any:
        """An operation refused the user (a form the page did not offer, or a race): 403."""
        answer = _json_errors(exc)
        if answer is not None:
            return answer
        db.session.rollback()
        return _error_page(403, exc.message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        answer = _json_errors(exc)
        if answer is not None:
            return answer
        service = unavailable_service(exc)
        if service:
            app.logger.error("%s unavailable on %s: %s", service, request.path, exc)
        else:
            app.logger.exception("unhandled error on %s", request.path)
        try:  # a failed statement leaves PostgreSQL's transaction unusable for the page's own reads
            db.session.rollback()
        except Exception:
            app.logger.warning("could not roll back after an error on %s", request.path, exc_info=True)
        if service:
            body, code = _error_page(503)
            return body, code, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return _error_page(500)


def node_modules_ready() -> bool:
    return Path(NODE_MODULES / "bootstrap" / "dist" / "css" / "bootstrap.min.css").exists()
