"""The OpenAPI 3.1 document, built from the endpoint declarations and their pydantic
models, so it cannot drift from what the API does: every operation, its parameters, its
body, its answers (errors included) and the bearer security scheme."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from crm.api.framework import ENDPOINTS, WRITE_METHODS, Endpoint
from crm.api.schemas.common import PageEnvelope, Problem
from crm.core.db import MAX_ID

TAGS = [
    ("leads", "Partnership leads between a Moroccan and a US organisation; stage moves."),
    ("followups", "Dated next steps on leads; their owners are reminded."),
    ("activities", "Notes, calls, emails and meetings logged on leads."),
    ("organisations", "Moroccan institutions and US firms and agencies."),
    ("contacts", "People at the organisations."),
    ("missions", "Trade missions and delegation visits."),
    ("meetings", "Meetings, where leads are born."),
    ("subscriptions", "Periodic digests by email; sending one now."),
    ("events", "The feed of every recorded change."),
    ("users", "The users of the app, and the caller."),
    ("sectors", "The themes leads and organisations are about."),
]

INTRODUCTION = """\
Jisr's JSON API reads and changes the same leads, follow-ups, organisations, missions and
digests as the web pages, with the same rules: what a user may not see on a page does not
exist for their token (404), and a read-only account or a read token cannot write (403).

Authentication: send a token, made on your settings page or with
`flask --app wsgi crm tokens create`, as `Authorization: Bearer jisr_…`. A write token
also reads. Expired and revoked tokens, and tokens of deactivated users, answer 401.

Errors answer `application/problem+json` with a stable `code`; bad input answers 422
with the fields in error, each with its path (["body", "title"], ["query", "limit"]) and a
message in the caller's language (Accept-Language: ar, fr or en; else the token owner's).

Lists take `limit` (at most 100), filters and a `sort` from an allow-list (a leading `-`
sorts descending), and are read page after page with a cursor: each page gives
`next_cursor` and `previous_cursor` (null when there is no such page), and the `Link`
header names the same pages (rel="next", rel="prev"). Send `cursor=<next_cursor>` with
the same sort to read on: every row comes once, in order, even while rows are added, and
a page costs the same however far into the list it is. A cursor is opaque and signed; one
that was changed, or made for another list or order, answers 422. `page` still works, but
beyond the first page it is deprecated: a deep page by number costs as much as every page
before it. `cursor` and a `page` beyond 1 together answer 422.

`total` counts the rows on every page: exactly up to a bound (1000 by default, then
`total_exact` is true), beyond it the database's estimate (`total_exact` false), so that
a list never reads a whole table to count it. The event feed has a cursor of its own (`after`).

Single resources carry an ETag. Send it back in If-Match with PATCH, DELETE or a stage
move: if the resource changed meanwhile, the change is refused with 412 (and the current
ETag). Without If-Match the change applies, last writer wins, as on the web pages.
If-None-Match on a read answers 304 when nothing changed.

Requests are limited per token and minute. Every answer tells the budget left
(X-RateLimit-Limit, X-RateLimit-Remaining, and X-RateLimit-Reset in Unix seconds); a
request beyond it answers 429 with Retry-After."""

DESCRIPTIONS = {
    200: "The resource.",
    201: "Created; Location names the new resource.",
    202: "Accepted: queued for sending.",
    204: "Done; there is nothing more to answer.",
    304: "Not modified since the ETag given in If-None-Match.",
    400: "The body is not valid JSON.",
    401: "No token, or a token that does not work.",
    403: "The token or its account may not do this.",
    404: "There is no such resource, or the caller may not see it.",
    409: "A conflicting change (or, for a digest, already sent).",
    412: "If-Match names an older version: read again and retry.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "Invalid input: the fields in error, with their paths.",
    429: "Too many requests with this token: retry after Retry-After seconds.",
}


def _clean(schema: Any) -> Any:
    """Drop pydantic's generated titles (the names say it) from a schema tree."""
    if isinstance(schema, dict):
        return {k: _clean(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or has a value: ``null`` is not one."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if "anyOf" in schema and len(options) == 1:
        merged = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**options[0], **merged}
    return schema


def _models(endpoints: list[Endpoint]) -> list[tuple[type[BaseModel], Any]]:
    found: dict[tuple[type[BaseModel], str], None] = {(Problem, "serialization"): None}
    for ep in endpoints:
        for model, mode in ((ep.query, "validation"), (ep.body, "validation"), (ep.response, "serialization")):
            if model is not None:
                found[(model, mode)] = None
    return list(found)


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(dict(prop))
        description = prop.pop("description", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        if prop.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _errors(ep: Endpoint) -> list[int]:
    codes = {401, 403, 429, *ep.errors}
    if ep.query is not None:
        codes.add(422)
    if ep.body is not None:
        codes.update({400, 413, 415, 422})
    if ep.path_parameters:
        codes.add(404)
    if ep.method in WRITE_METHODS:
        codes.update({409, 422})
        if ep.conditional and ep.path_parameters:
            codes.add(412)
    return sorted(codes)


def _operation(ep: Endpoint, refs: dict[Any, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name in ep.path_parameters
    ]
    if ep.query is not None:
        name = refs[(ep.query, "validation")]["$ref"].rsplit("/", 1)[-1]
        parameters += _query_parameters(schemas[name])
    if ep.conditional and ep.method == "GET":
        parameters.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "The ETag you hold: 304 if the resource has not changed since.",
                "schema": {"type": "string"},
            }
        )
    if ep.conditional and ep.method in WRITE_METHODS and ep.path_parameters:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "The ETag you last read: the change is refused (412) if the resource changed since. "
                "Optional: without it the change applies.",
                "schema": {"type": "string"},
            }
        )
    operation: dict[str, Any] = {
        "operationId": ep.name,
        "summary": ep.summary,
        "tags": [ep.tag],
        "parameters": parameters,
    }
    if ep.description:
        operation["description"] = ep.description
    if ep.body is not None:
        operation["requestBody"] = {
            "required": ep.body_required,
            "content": {"application/json": {"schema": refs[(ep.body, "validation")]}},
        }
    success: dict[str, Any] = {"description": DESCRIPTIONS.get(ep.status, "Done.")}
    if ep.response is not None:
        success["content"] = {"application/json": {"schema": refs[(ep.response, "serialization")]}}
    headers: dict[str, Any] = {}
    if ep.conditional:
        headers["ETag"] = {"description": "The version of this representation.", "schema": {"type": "string"}}
    if ep.status == 201:
        headers["Location"] = {"description": "The new resource.", "schema": {"type": "string"}}
    if ep.response is not None and issubclass(ep.response, PageEnvelope):
        success["description"] = "One page of the list; Link names the pages beside it."
        headers["Link"] = {
            "description": 'The next and previous pages (RFC 8288): <address>; rel="next", <address>; rel="prev". '
            "Absent on a lone page.",
            "schema": {"type": "string"},
        }
    if headers:
        success["headers"] = headers
    responses: dict[str, Any] = {str(ep.status): success}
    if ep.conditional and ep.method == "GET":
        responses["304"] = {
            "description": DESCRIPTIONS[304],
            "headers": {"ETag": {"schema": {"type": "string"}}},
        }
    for code in _errors(ep):
        responses[str(code)] = {"$ref": f"#/components/responses/Problem{code}"}
    operation["responses"] = responses
    return operation


def _problem_responses(codes: set[int]) -> dict[str, Any]:
    found = {}
    for code in sorted(codes):
        response: dict[str, Any] = {
            "description": DESCRIPTIONS.get(code, "An error."),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if code == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if code == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        found[f"Problem{code}"] = response
    return found


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document (built once per process: it depends only on the code)."""
    import crm.api.resources  # noqa: F401 - every endpoint declared before it is described

    endpoints = sorted(ENDPOINTS.values(), key=lambda e: (e.path, e.method))
    refs, defs = models_json_schema(_models(endpoints), ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = _clean(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, refs, schemas)
    for ep in endpoints:  # query models are parameters, not bodies
        if ep.query is not None:
            schemas.pop(refs[(ep.query, "validation")]["$ref"].rsplit("/", 1)[-1], None)
    codes = {int(code) for path in paths.values() for op in path.values() for code in op["responses"]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Jisr API", "version": "1.0.0", "description": INTRODUCTION},
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": _problem_responses({c for c in codes if c >= 400}),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "jisr_<prefix>_<secret>",
                    "description": "An API token from the settings page or `crm tokens create`.",
                }
            },
        },
        "security": [{"bearerAuth": []}],
    }


def document_copy() -> dict[str, Any]:
    return copy.deepcopy(openapi_document())
