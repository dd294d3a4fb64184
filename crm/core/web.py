"""Web plumbing: locally served front-end packages, template helpers, error pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    has_request_context,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from crm.config import PROJECT_ROOT
from crm.core import formats
from crm.core.db import MAX_ID, db
from crm.core.errors import PermissionDenied
from crm.core.i18n import context_globals, current_language, current_zone_name, text_direction
from crm.core.i18n import lazy_gettext as _l
from crm.core.outage import RETRY_AFTER_SECONDS, unavailable_service
from crm.core.time import to_local

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
    """This page's address with some query parameters replaced (repeated ones kept), and
    those given as ``None`` left out."""
    args = request.args.copy()
    for key, value in changes.items():
        args.setlist(key, [] if value is None else [str(value)])
    query = urlencode(list(args.items(multi=True)))
    return f"{request.path}?{query}" if query else request.path


_ID_MARK = 918273645546372819  # never an id (beyond MAX_ID): where an id goes in a built address


def id_url(endpoint: str, key: str, **values: Any) -> Callable[[int], str]:
    """The address of ``endpoint`` for any id (``key``), built once: a page of 160 cards
    builds two links per card, and ``url_for`` costs more than the rest of the card."""
    arguments: dict[str, Any] = {**values, key: _ID_MARK}
    built = url_for(endpoint, **arguments)
    head, _, tail = built.partition(str(_ID_MARK))
    return lambda ident: f"{head}{int(ident)}{tail}"


def viewer_zone() -> str:
    return current_zone_name()


def viewer_hour_cycle() -> str | None:
    found = context_globals()
    user = found.__dict__.get("jisr_user") if found is not None and has_request_context() else None
    cycle = getattr(user, "hour_cycle", None)
    return str(getattr(cycle, "value", cycle)) if cycle else None


_ISOLATE = {side: Markup(f'<bdi class="fmt" dir="{side}">') for side in ("ltr", "rtl", "auto")}  # noqa: S704
_BDI, _BDI_END = Markup("<bdi>"), Markup("</bdi>")


def isolated(text: str, direction: str | None = None) -> Markup:
    """``text`` (escaped) in a ``<bdi>``: its digits and punctuation stay together whatever
    surrounds it, and a sentence's own full stop stays at its end."""
    side = direction if direction in _ISOLATE else text_direction()
    return _ISOLATE[side] + escape(text) + _BDI_END  # a page writes hundreds: no format string


def bdi(value: Any) -> Markup:
    """User text (a name, a title) isolated for a sentence: ``_("… %(name)s", name=bdi(x))``
    keeps it escaped and lets it take its own direction."""
    text = "" if value is None else str(value)
    return _BDI + escape(text) + _BDI_END if text else Markup("")


def format_money(amount: Decimal | int | float | str | None, currency: Any) -> str:
    """Plain text (attributes, CSV, JSON): "900 000 MAD", "—" when unknown."""
    return formats.money_text(amount, currency, current_language())


def format_number(value: int | float | Decimal | None) -> str:
    return formats.number_text(value, current_language())


def format_when(value: datetime | date | None, fmt: str = "medium") -> str:
    """Plain text: an instant in the viewer's time zone and clock, or a calendar day."""
    if value is None:
        return formats.UNKNOWN
    weekday = fmt in ("full", "long")
    if not isinstance(value, datetime):
        return formats.date_text(value, current_language(), weekday)
    return formats.instant_text(value, viewer_zone(), current_language(), viewer_hour_cycle(), weekday)


def format_when_in(instant: datetime | None, zone_name: str, fmt: str = "medium") -> str:
    """Plain text of ``when_in``: "21 févr. 2024, 10:00 (Chicago, UTC−06:00)"."""
    if instant is None:
        return formats.UNKNOWN
    if formats.same_clock(instant, zone_name, viewer_zone()):
        return format_when(instant, fmt)
    language = current_language()
    text = formats.instant_text(instant, zone_name, language, viewer_hour_cycle(), fmt in ("full", "long"))
    return f"{text} ({formats.zone_label(instant, zone_name, language)})"


def money_html(amount: Decimal | int | float | str | None, currency: Any) -> Markup:
    return isolated(format_money(amount, currency))


def number_html(value: int | float | Decimal | None) -> Markup:
    return isolated(format_number(value), "ltr")


def when_html(value: datetime | date | None, fmt: str = "medium") -> Markup:
    return isolated(format_when(value, fmt))


def when_in_html(instant: datetime | None, zone_name: str, fmt: str = "medium") -> Markup:
    """An instant on another zone's clock (a meeting in Houston): with that zone's place and
    offset unless the viewer's clock reads the same."""
    if instant is None or formats.same_clock(instant, zone_name, viewer_zone()):
        return when_html(instant, fmt)
    language = current_language()
    local = to_local(instant, zone_name)
    text = formats.local_text(local, language, viewer_hour_cycle(), fmt in ("full", "long"))
    separator = "، " if language == "ar" else ", "
    label = Markup('<span class="zone">({}{}{})</span>').format(
        formats.zone_city(zone_name, language), separator, isolated(formats.utc_offset(local), "ltr")
    )
    return Markup('<bdi dir="{}"><span class="fmt">{}</span> {}</bdi>').format(text_direction(), text, label)


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
    app.jinja_env.filters.update(
        money=money_html,
        number=number_html,
        when=when_html,
        day=when_html,
        when_in=when_in_html,
        money_text=format_money,
        number_text=format_number,
        when_text=format_when,
        when_in_text=format_when_in,
    )
    app.jinja_env.globals["bdi"] = bdi
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["id_url"] = id_url

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
