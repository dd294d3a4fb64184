"""A small resource framework: each endpoint is declared once, with its models, and that
one declaration routes the request, parses and validates it, checks the token's scope,
answers with JSON and an ETag, and describes the operation in the OpenAPI document.

A handler receives a :class:`Call` (the user, the parsed query and body) and the path
parameters, runs existing operations, and returns a pydantic model (or a :class:`Reply`).
Writes commit once the handler returns; any failure rolls back, so nothing is half done.
"""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from types import UnionType
from typing import Any

import pydantic
from flask import Blueprint, Response, current_app, request, url_for
from sqlalchemy.exc import DataError, IntegrityError

from crm.accounts.models import User
from crm.api.models import ApiToken, TokenScope
from crm.api.problems import ApiError, invalid, operation_errors, pydantic_errors, refused
from crm.core.db import MAX_ID, db
from crm.core.errors import NotFound, PermissionDenied, ValidationError
from crm.core.i18n import lazy_gettext as _l

bp = Blueprint("api", __name__, url_prefix="/api/v1")

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    rule: str
    tag: str
    summary: str
    description: str
    scope: TokenScope | None  # None: public (the OpenAPI document and its page)
    query: type[pydantic.BaseModel] | None
    body: type[pydantic.BaseModel] | None
    body_required: bool
    response: type[pydantic.BaseModel] | None
    status: int
    errors: tuple[int, ...]
    conditional: bool  # one resource: ETag on reads, If-Match honoured on writes
    editors_only: bool

    @property
    def path(self) -> str:
        """The OpenAPI path: ``/api/v1/leads/{lead_id}``."""
        parts = []
        for part in (bp.url_prefix or "").rstrip("/").split("/") + self.rule.strip("/").split("/"):
            if part.startswith("<") and part.endswith(">"):
                part = "{" + part[1:-1].split(":")[-1] + "}"
            parts.append(part)
        return "/".join(parts) or "/"

    @property
    def path_parameters(self) -> list[str]:
        return [p[1:-1].split(":")[-1] for p in self.rule.split("/") if p.startswith("<")]


ENDPOINTS: dict[str, Endpoint] = {}


@dataclass
class Call:
    """One authenticated API request, parsed."""

    user: User
    token: ApiToken
    query: Any = None
    body: Any = None

    @property
    def given(self) -> set[str]:
        """The body fields the caller sent (a PATCH changes only those)."""
        return set(self.body.model_fields_set) if self.body is not None else set()

    def changes(self) -> dict[str, Any]:
        """The sent body fields as plain values, for an operation's keyword arguments."""
        if self.body is None:
            return {}
        return dict(self.body.model_dump(include=self.given))

    def require_match(self, current: pydantic.BaseModel) -> None:
        """Refuse the write (412) if the caller's If-Match names another version."""
        header = request.headers.get("If-Match")
        if header is None or header.strip() == "*":
            return
        tag = etag_of(current)
        offered = {part.strip().removeprefix("W/") for part in header.split(",")}
        if tag not in offered:
            raise ApiError(
                412,
                detail=_l("The resource changed since you read it: read it again and retry with its new ETag."),
                headers={"ETag": tag},
            )


@dataclass
class Reply:
    model: pydantic.BaseModel | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    after_commit: list[Callable[[], None]] = field(default_factory=list)


def created(model: pydantic.BaseModel, endpoint_name: str, **values: Any) -> Reply:
    """A 201 answer with the new resource's address."""
    return Reply(model, 201, {"Location": url_for(f"api.{endpoint_name}", **values)})


def etag_of(model: pydantic.BaseModel | str) -> str:
    """A strong ETag: a hash of the representation (or of its JSON, already made), so any
    visible change changes it."""
    body = model if isinstance(model, str) else model.model_dump_json()
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def current_call() -> Call:
    from crm.api.auth import current_auth

    auth = current_auth()
    if auth is None:  # the blueprint's before_request has answered 401 already
        raise ApiError(401)
    return Call(user=auth[1], token=auth[0])


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    return typing.get_origin(annotation) in (list, tuple, set)


def parse_query(model: type[pydantic.BaseModel]) -> Any:
    fields = model.model_fields
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for name in request.args:
        if name not in fields:
            errors.append({"loc": ["query", name], "message": _l("Unknown parameter."), "type": "extra_forbidden"})
    for name, info in fields.items():
        values = request.args.getlist(name)
        if values:
            data[name] = values if _is_list(info.annotation) else values[-1]
    if errors:
        raise invalid(errors)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise invalid(pydantic_errors(exc, "query")) from None


def _reject_constant(value: str) -> Any:
    raise ValueError(value)


def parse_body(endpoint: Endpoint) -> Any:
    assert endpoint.body is not None
    raw = request.get_data(cache=True)
    if not raw.strip():
        if endpoint.body_required:
            raise invalid([{"loc": ["body"], "message": _l("This field is required."), "type": "missing"}])
        raw = b"{}"
    elif request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, detail=_l("Send the body as JSON (Content-Type: application/json)."))
    try:
        json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        raise ApiError(400, code="malformed_json", detail=_l("The body is not valid JSON.")) from None
    try:
        return endpoint.body.model_validate_json(raw, strict=True)
    except pydantic.ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):  # e.g. a lone surrogate
            raise ApiError(400, code="malformed_json", detail=_l("The body is not valid JSON.")) from None
        raise invalid(pydantic_errors(exc, "body")) from None


def json_response(
    model: pydantic.BaseModel | str | None, status: int, headers: dict[str, str] | None = None
) -> Response:
    """The answer; ``model`` may be its JSON already made (serialised once for the ETag and the body)."""
    if model is None and status in (204, 304):  # no body, so no type for one either
        response = current_app.response_class(status=status, headers=headers or {})
        response.headers.pop("Content-Type", None)
        return response
    body = model if isinstance(model, str) else model.model_dump_json() if model is not None else ""
    return current_app.response_class(body, status=status, mimetype="application/json", headers=headers or {})


def _run(endpoint: Endpoint, handler: Callable[..., Any], path: dict[str, Any]) -> Response:
    for value in path.values():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise ApiError(404)
    call = current_call()
    if endpoint.method in WRITE_METHODS and not call.user.can_edit():
        raise ApiError(403, code="read_only_account", detail=_l("A read-only account cannot change anything."))
    if endpoint.editors_only and not call.user.can_edit():
        raise ApiError(403)
    if endpoint.query is not None:
        call.query = parse_query(endpoint.query)
    if endpoint.body is not None:
        call.body = parse_body(endpoint)
    try:
        result = handler(call, **path)
        reply = result if isinstance(result, Reply) else Reply(result, endpoint.status)
        if endpoint.method in WRITE_METHODS:
            db.session.commit()
    except ValidationError as exc:
        raise invalid(operation_errors(exc)) from None
    except PermissionDenied as exc:
        raise refused(exc) from None
    except NotFound:
        raise ApiError(404) from None
    except IntegrityError:  # a concurrent write won a race on a unique key or a reference
        raise ApiError(409, detail=_l("Another change got there first; read the resource again and retry.")) from None
    except DataError:  # a value the checks let through and the database refused: a bug, told as bad input
        current_app.logger.warning("the database refused a value on %s", request.path, exc_info=True)
        raise invalid([{"loc": ["body"], "message": _l("This value is not valid."), "type": "invalid"}]) from None
    for then in reply.after_commit:
        then()
    headers = dict(reply.headers)
    if reply.model is not None and endpoint.conditional:
        body = reply.model.model_dump_json()
        headers["ETag"] = etag_of(body)
        if endpoint.method == "GET" and headers["ETag"] in _if_none_match():
            return json_response(None, 304, headers)
        return json_response(body, reply.status, headers)
    return json_response(reply.model, reply.status, headers)


def _if_none_match() -> set[str]:
    header = request.headers.get("If-None-Match", "")
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}


def endpoint(
    method: str,
    rule: str,
    *,
    name: str,
    tag: str,
    summary: str,
    scope: TokenScope | None = TokenScope.READ,
    query: type[pydantic.BaseModel] | None = None,
    body: type[pydantic.BaseModel] | None = None,
    body_required: bool = True,
    response: type[pydantic.BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    conditional: bool = False,
    editors_only: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare and route one API operation (see the module's docstring)."""
    if scope is None and method in WRITE_METHODS:
        raise ValueError("a write needs a token")

    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        declared = Endpoint(
            name=name,
            method=method,
            rule=rule,
            tag=tag,
            summary=summary,
            description=(handler.__doc__ or "").strip(),
            scope=TokenScope.WRITE if method in WRITE_METHODS else scope,
            query=query,
            body=body,
            body_required=body_required,
            response=response,
            status=status,
            errors=errors,
            conditional=conditional,
            editors_only=editors_only,
        )
        if name in ENDPOINTS:
            raise ValueError(f"two API endpoints are named {name}")
        ENDPOINTS[name] = declared

        def view(**path: Any) -> Response:
            return _run(declared, handler, path)

        view.__name__ = name
        bp.add_url_rule(rule, name, view, methods=[method])
        return handler

    return decorator
