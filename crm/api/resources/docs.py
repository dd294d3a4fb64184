"""``/openapi.json`` and ``/docs``: the API described, for programs and for people.

The reading page is rendered here from the OpenAPI document itself (no script, no CDN,
nothing the strict CSP would refuse), in the reader's language and direction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import jsonify, render_template
from markupsafe import Markup, escape

from crm.api.framework import bp
from crm.api.openapi import TAGS, document_copy, openapi_document

METHOD_COLOURS = {"get": "primary", "post": "success", "patch": "warning", "delete": "danger"}


@dataclass
class TypePart:
    text: str
    anchor: str | None = None


@dataclass
class Row:
    name: str
    type: list[TypePart]
    required: bool
    description: str
    rules: list[str]
    where: str = ""


@dataclass
class Operation:
    id: str
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Row]
    body: list[TypePart] | None
    body_required: bool
    responses: list[tuple[str, str, list[TypePart] | None]]

    @property
    def colour(self) -> str:
        return METHOD_COLOURS.get(self.method, "secondary")


@dataclass
class Component:
    name: str
    description: str
    values: list[Any] = field(default_factory=list)
    properties: list[Row] = field(default_factory=list)


def type_parts(schema: dict[str, Any]) -> list[TypePart]:
    """A schema told in a few words, with links to the named schemas."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [TypePart(name, f"schema-{name}")]
    if "anyOf" in schema:
        parts: list[TypePart] = []
        for index, option in enumerate(schema["anyOf"]):
            if index:
                parts.append(TypePart(" | "))
            parts += type_parts(option)
        return parts
    kind = schema.get("type", "any")
    if kind == "array":
        return [TypePart("array of "), *type_parts(schema.get("items", {}))]
    if "enum" in schema:
        return [TypePart(" | ".join(str(v) for v in schema["enum"]))]
    label = str(kind)
    if schema.get("format"):
        label += f" ({schema['format']})"
    return [TypePart(label)]


RULES = (
    ("minLength", "≥ {} chars"),
    ("maxLength", "≤ {} chars"),
    ("minimum", "≥ {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minItems", "≥ {} items"),
    ("maxItems", "≤ {} items"),
    ("pattern", "{}"),
    ("default", "default {}"),
)


def rules_of(schema: dict[str, Any]) -> list[str]:
    found = []
    for option in [schema, *schema.get("anyOf", [])]:
        for key, text in RULES:
            if key in option:
                value = option[key]
                found.append(text.format(value if not isinstance(value, bool) else str(value).lower()))
    return found


def _operation(path: str, method: str, op: dict[str, Any], doc: dict[str, Any]) -> Operation:
    parameters = [
        Row(
            name=p["name"],
            type=type_parts(p["schema"]),
            required=p.get("required", False),
            description=p.get("description", ""),
            rules=rules_of(p["schema"]),
            where=p["in"],
        )
        for p in op.get("parameters", [])
    ]
    body = op.get("requestBody")
    responses = []
    for code, answer in op["responses"].items():
        if "$ref" in answer:
            answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        content = answer.get("content", {})
        schema = next(iter(content.values()))["schema"] if content else None
        responses.append((code, answer.get("description", ""), type_parts(schema) if schema else None))
    return Operation(
        id=op["operationId"],
        method=method,
        path=path,
        summary=op.get("summary", ""),
        description=op.get("description", ""),
        parameters=parameters,
        body=type_parts(body["content"]["application/json"]["schema"]) if body else None,
        body_required=bool(body and body.get("required")),
        responses=responses,
    )


def _component(name: str, schema: dict[str, Any]) -> Component:
    required = set(schema.get("required", []))
    return Component(
        name=name,
        description=schema.get("description", ""),
        values=list(schema.get("enum", [])),
        properties=[
            Row(
                name=prop_name,
                type=type_parts(prop),
                required=prop_name in required,
                description=prop.get("description", ""),
                rules=rules_of(prop),
            )
            for prop_name, prop in schema.get("properties", {}).items()
        ],
    )


def docs_context() -> dict[str, Any]:
    doc = openapi_document()
    by_tag: dict[str, list[Operation]] = {name: [] for name, _ in TAGS}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append(_operation(path, method, op, doc))
    return {
        "doc": doc,
        "tags": [(name, text, by_tag.get(name, [])) for name, text in TAGS],
        "components": [_component(name, schema) for name, schema in sorted(doc["components"]["schemas"].items())],
    }


@bp.route("/openapi.json")
def openapi_json() -> Any:
    return jsonify(document_copy())


@bp.route("/docs")
def docs() -> Any:
    return render_template("api/docs.html", **docs_context())


@bp.app_template_filter("api_text")
def api_text(text: str) -> Markup:
    """Plain text of the document as HTML paragraphs, with `code` spans."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        pieces = paragraph.replace("\n", " ").split("`")
        html = "".join(
            str(Markup("<code>{}</code>").format(piece)) if index % 2 else str(escape(piece))
            for index, piece in enumerate(pieces)
        )
        paragraphs.append(f"<p>{html}</p>")
    return Markup("".join(paragraphs))  # noqa: S704 - every piece is escaped above
