"""Every failure of an API request answers a problem document, never an HTML page: the
blueprint's errors here, and (through ``jisr.json_errors``) the routing errors (unknown
address, wrong method) that Flask raises before it knows the blueprint."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from crm.api.auth import choose_error_language
from crm.api.framework import bp
from crm.api.problems import ApiError, problem_response
from crm.core.db import db
from crm.core.i18n import lazy_gettext as _l
from crm.core.outage import RETRY_AFTER_SECONDS, unavailable_service


def handle_error(exc: BaseException) -> Any:
    try:
        db.session.rollback()
    except Exception:  # the database itself failed: the answer is still JSON
        current_app.logger.warning("rollback failed", exc_info=True)
    choose_error_language()
    if isinstance(exc, ApiError):
        return problem_response(exc)
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        detail = _l("Too many requests with this token: wait a moment and retry.") if code == 429 else None
        if code == 400:
            detail = _l("The request could not be understood.")
        return problem_response(ApiError(code, detail=detail, headers=headers))
    service = unavailable_service(exc)
    if service:
        current_app.logger.error("%s unavailable on %s: %s", service, request.path, exc)
        return problem_response(
            ApiError(
                503,
                detail=_l("A service is unreachable: retry later."),
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        )
    current_app.logger.exception("unhandled error on %s", request.path)
    return problem_response(ApiError(500))


for _error in (ApiError, HTTPException, Exception):
    bp.register_error_handler(_error, handle_error)
