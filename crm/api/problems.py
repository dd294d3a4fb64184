"""Errors of the JSON API as RFC 9457 problem documents, in the caller's language.

Every failure answers ``application/problem+json``: a stable ``code`` for programs, a
translated ``title`` and ``detail`` for people, and for bad input the list of fields in
error, each with its path (``["body", "title"]``, ``["query", "limit"]``) and a message.
pydantic's own messages are English only, so each of its error types is told again here
with the project's translated sentences.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pydantic
from flask import Response, current_app

from crm.core.errors import PermissionDenied, ValidationError
from crm.core.i18n import lazy_gettext as _l

PROBLEM_TYPE = "application/problem+json"

TITLES: dict[int, Any] = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Access denied"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    412: _l("The resource has changed"),
    413: _l("The request is too large"),
    415: _l("Unsupported media type"),
    422: _l("Invalid data"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer other than success; raised anywhere while handling an API request."""

    def __init__(
        self,
        status: int,
        *,
        code: str | None = None,
        detail: Any = None,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code or CODES.get(status, '')}")
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.detail = detail
        self.errors = errors or []
        self.headers = dict(headers or {})


def problem_response(exc: ApiError) -> Response:
    """The problem document of ``exc`` (messages rendered now, in the request's language)."""
    body = {
        "type": "about:blank",
        "status": exc.status,
        "code": exc.code,
        "title": str(TITLES.get(exc.status, TITLES[500])),
        "detail": str(exc.detail) if exc.detail is not None else None,
        "errors": [
            {"loc": list(error["loc"]), "message": str(error["message"]), "type": str(error["type"])}
            for error in exc.errors
        ],
    }
    return current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=exc.status, mimetype=PROBLEM_TYPE, headers=exc.headers
    )


# --- bad input -------------------------------------------------------------------------

NUMBER_BOUNDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "greater_than_equal": ("ge", lambda n: _l("Enter a number of at least %(n)s.", n=n)),
    "greater_than": ("gt", lambda n: _l("Enter a number greater than %(n)s.", n=n)),
    "less_than_equal": ("le", lambda n: _l("Enter a number of at most %(n)s.", n=n)),
    "less_than": ("lt", lambda n: _l("Enter a number smaller than %(n)s.", n=n)),
}
MESSAGES: dict[str, Any] = {
    "missing": _l("This field is required."),
    "extra_forbidden": _l("Unknown field."),
    "string_type": _l("Enter text."),
    "string_pattern_mismatch": _l("This value does not have the expected form."),
    "int_type": _l("Enter a whole number."),
    "int_parsing": _l("Enter a whole number."),
    "int_from_float": _l("Enter a whole number."),
    "float_type": _l("Enter a number."),
    "float_parsing": _l("Enter a number."),
    "finite_number": _l("Enter a number."),
    "bool_type": _l("Enter true or false."),
    "bool_parsing": _l("Enter true or false."),
    "enum": _l("Not a valid choice."),
    "literal_error": _l("Not a valid choice."),
    "list_type": _l("Give a list of values."),
    "dict_type": _l("Give an object."),
    "model_type": _l("Give an object."),
    "model_attributes_type": _l("Give an object."),
    "datetime_type": _l("Enter a date and time, e.g. 2024-03-15T09:30:00Z."),
    "datetime_parsing": _l("Enter a date and time, e.g. 2024-03-15T09:30:00Z."),
    "datetime_from_date_parsing": _l("Enter a date and time, e.g. 2024-03-15T09:30:00Z."),
    "datetime_object_invalid": _l("Enter a date and time, e.g. 2024-03-15T09:30:00Z."),
    "timezone_naive": _l("Give the instant with its offset, e.g. 2024-03-15T09:30:00Z."),
    "timezone_aware": _l("Give the wall time without an offset; the time zone is a field of its own."),
    "date_type": _l("Enter a date, e.g. 2024-03-15."),
    "date_parsing": _l("Enter a date, e.g. 2024-03-15."),
    "date_from_datetime_parsing": _l("Enter a date, e.g. 2024-03-15."),
    "date_from_datetime_inexact": _l("Enter a date, e.g. 2024-03-15."),
    "decimal_type": _l("Enter an amount, e.g. 250000."),
    "decimal_parsing": _l("Enter an amount, e.g. 250000."),
    "decimal_max_digits": _l("Enter an amount, e.g. 250000."),
    "decimal_max_places": _l("Enter an amount with at most two decimals."),
    "decimal_whole_digits": _l("Enter an amount, e.g. 250000."),
    "wall_time_parsing": _l("Enter the local date and time, e.g. 2024-03-15T09:30 (years 1900 to 2199)."),
    "instant_parsing": _l("Enter an instant with its offset, e.g. 2024-03-15T09:30:00Z (years 1900 to 2199)."),
    "day_parsing": _l("Enter a date, e.g. 2024-03-15 (years 1900 to 2199)."),
    "amount_parsing": _l('Enter the amount as text, e.g. "250000.00".'),
}


def _message(error: Mapping[str, Any]) -> Any:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in NUMBER_BOUNDS:
        key, message = NUMBER_BOUNDS[kind]
        return message(ctx.get(key))
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return _l("This field is required.")
        return _l("At least %(n)d characters.", n=int(ctx.get("min_length", 0)))
    if kind == "invalid" and ctx.get("kind") in MESSAGES:  # a well-formed date that does not exist
        return MESSAGES[str(ctx["kind"])]
    if kind == "string_too_long":
        return _l("At most %(n)d characters.", n=int(ctx.get("max_length", 0)))
    if kind == "too_long":
        return _l("At most %(n)d values.", n=int(ctx.get("max_length", 0)))
    if kind == "too_short":
        return _l("At least %(n)d values.", n=int(ctx.get("min_length", 0)))
    return MESSAGES.get(kind, _l("This value is not valid."))


def pydantic_errors(exc: pydantic.ValidationError, where: str) -> list[dict[str, Any]]:
    """pydantic's errors with their path under ``where`` ("body", "query") and our wording."""
    return [
        {"loc": [where, *error["loc"]], "message": _message(error), "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False)
    ]


def operation_errors(
    exc: ValidationError, where: str = "body", rename: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """An operation's ValidationError as field errors (its field names are the API's)."""
    rename = rename or {}
    return [
        {"loc": [where, rename.get(field, field)], "message": message, "type": "invalid"}
        for field, message in exc.errors.items()
    ]


def invalid(errors: Iterable[dict[str, Any]]) -> ApiError:
    return ApiError(422, errors=list(errors))


def refused(exc: PermissionDenied) -> ApiError:
    """An operation's refusal: 403, saying why and naming the field it refused (if any)."""
    errors = []
    if exc.field is not None and exc.message is not None:
        errors.append({"loc": ["body", exc.field], "message": exc.message, "type": "forbidden"})
    return ApiError(403, detail=exc.message, errors=errors)
