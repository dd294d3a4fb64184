"""Every route of the app, read from its URL map, fed with garbage: ids no row can have in
the address; and wrong types, huge numbers, negative and zero ids, 10,000-character strings,
NUL bytes, invalid UTF-8, unknown choices, impossible dates and missing fields in its query
string and its form.  The answer is never a 5xx; a refused request says why and writes
nothing (the row counts of every table are the same after it)."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from tests.route_pages import Harvest, form_body, harvest
from tests.route_world import (
    WRITE_METHODS,
    Walk,
    build_world,
    client_of,
    fill,
    is_api,
    methods_of,
    report,
    web_rules,
)
from tests.test_routes_guarded import PUBLIC

GARBAGE = {
    "word": "abc",
    "huge": "99999999999999999999",
    "negative": "-1",
    "zero": "0",
    "digit int() refuses": "\u00b2",
    "long": "x" * 10_000,
    "nul": "a\x00b",
    "long with a NUL": "x" * 10_000 + "\x00",
    "not a number": "NaN",
    "impossible date": "2026-02-30",
    "impossible time": "2026-02-30T25:61",
}
INVALID_UTF8 = "%ff%fe%C3%28"
# The garbage that can get past each kind of field's own checks (a checkbox is on whatever
# it sends); any other input is text.
BY_KIND = {
    "select": ("huge", "digit int() refuses", "nul"),
    "checkbox": ("word",),
    "radio": ("word",),
    "number": ("word", "huge", "negative", "not a number"),
    "date": ("impossible date", "word"),
    "datetime-local": ("impossible time", "impossible date"),
    "hidden": ("long", "nul", "huge", "digit int() refuses"),
}
TEXT_GARBAGE = ("long", "nul", "digit int() refuses")
QUERY_GARBAGE = ("huge", "digit int() refuses", "long with a NUL", "impossible date")
# Query names that pages use only in states the world does not reach: a list longer than
# one page links to its other pages, a long timeline to its older events.
ONLY_IN_LONGER_LISTS = {"page", "before"}
BAD_IDS = (0, 2**31, 2**63, 10**20)
BAD_NAMES = {"NUL": "%00", "invalid UTF-8": INVALID_UTF8, "long": "x" * 10_000}
# Posts that undo the world (and the admin's own session): sent after the others.
LAST = re.compile(r"delete|cancel|deactivate|revert|remove|unwatch|revoke|reset_password|done")
READABLE = re.compile(r'invalid-feedback|role="alert"|class="lead"')


def _check(walk: Walk, method: str, url: str, label: str, response: Any) -> None:
    """A refused request writes nothing and says why."""
    if response.status_code < 400 or response.status_code >= 500:
        return
    if walk.written:
        walk.complain("refused but wrote", method, url, label, response, walk.written)
    elif not _readable(response):
        walk.complain("no readable message", method, url, label, response)


def _readable(response: Any) -> bool:
    if response.mimetype in ("application/problem+json", "application/json"):
        body = response.get_json(silent=True) or {}
        return bool(body.get("detail") or body.get("title"))
    return response.mimetype == "text/html" and bool(READABLE.search(response.get_data(as_text=True)))


def _form_variants(found: Harvest, url: str) -> list[tuple[str, Any]]:
    """Bodies for a post to ``url``, each with what is wrong in it: nothing sent; each field
    alone missing or wrong, the others as an editor fills them; invalid UTF-8.  Without a
    form on any page, every known field name wrong at once."""
    fields = {k: v for k, v in (found.fields_for(url) or {}).items() if not k.endswith("csrf_token")}  # CSRF is off
    base = form_body(found, url)
    variants: list[tuple[str, Any]] = [("nothing", {})]
    for name in sorted(fields):
        if re.search(r"-[1-9]\d*-", name):
            continue  # a repeated row (a mission's second place) is checked as its first
        if fields[name][0] not in ("checkbox", "radio"):  # an unticked box is not sent anyway
            variants.append((f"without {name}", {k: v for k, v in base.items() if k != name}))
        for key in BY_KIND.get(fields[name][0], TEXT_GARBAGE):
            variants.append((f"{name}={key}", {**base, name: GARBAGE[key]}))
    names = sorted(fields)
    if not fields:
        names = sorted(found.all_names())
        variants += [(f"all={key}", dict.fromkeys(names, value)) for key, value in GARBAGE.items()]
    variants.append(("invalid UTF-8", "&".join(f"{name}={INVALID_UTF8}" for name in names)))
    return variants


def _ordered(rules: list[Any]) -> list[Any]:
    return sorted(rules, key=lambda r: bool(LAST.search(r.endpoint)))


def test_ids_no_row_can_have_and_names_nothing_has_in_the_address_are_404(app: Any, session: Session) -> None:
    world = build_world(session)
    admin = Walk(session, client_of(app, world.emails["admin"]))
    api = Walk(session, client_of(app, None), world.bearer("admin"))
    for rule in web_rules(app):
        bad_urls = [
            (f"{name}={bad}", fill(rule, {**world.values(), name: bad}))
            for name in re.findall(r"<int:(\w+)>", rule.rule)
            for bad in BAD_IDS
        ]
        bad_urls += [
            (f"{name}={label}", fill(rule, {**world.values(), name: "BAD"}).replace("BAD", text))
            for name in set(rule.arguments) - set(re.findall(r"<int:(\w+)>", rule.rule))
            for label, text in BAD_NAMES.items()
        ]
        for label, url in bad_urls:
            for method in methods_of(rule):
                walk = api if is_api(rule) else admin
                response = walk.send(method, url, label, **({"json": {}} if is_api(rule) else {}))
                if response.status_code != 404 or walk.written:
                    walk.complain("not a 404", method, url, label, response, walk.written)
    assert admin.sent + api.sent > 300
    assert not admin.wrong + api.wrong, report(admin.wrong + api.wrong)


def _api_query_names(app: Any) -> dict[str, list[str]]:
    """The query parameters of each GET of the API, from its OpenAPI document."""
    document = client_of(app, None).get("/api/v1/openapi.json").get_json()
    return {
        path: [p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "query"]
        for path, operations in document["paths"].items()
        if "get" in operations
    }


def test_garbage_in_query_strings_never_gives_a_5xx(app: Any, session: Session) -> None:
    world = build_world(session)
    found = harvest(app, "admin", world)
    assert {"stage", "sector", "period", "format", "q", "organisation"} <= found.query, sorted(found.query)
    web = Walk(session, client_of(app, world.emails["admin"]))
    api = Walk(session, client_of(app, None), world.bearer("admin"))
    api_names = _api_query_names(app)
    for rule in web_rules(app):
        if "GET" not in methods_of(rule) or rule.endpoint in ("static", "vendor"):
            continue
        url = fill(rule, world.values())
        if is_api(rule):
            walk, names = api, api_names.get(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), [])
        else:
            walk, names = web, sorted(found.query | ONLY_IN_LONGER_LISTS)
        for key in QUERY_GARBAGE:
            _check(walk, "GET", url, key, walk.send("GET", url, key, query_string=dict.fromkeys(names, GARBAGE[key])))
        query = "&".join(f"{name}={INVALID_UTF8}" for name in names)
        _check(walk, "GET", url, "invalid UTF-8", walk.send("GET", f"{url}?{query}", "invalid UTF-8"))
    assert web.sent + api.sent > 400
    assert not web.wrong + api.wrong, report(web.wrong + api.wrong)


def test_garbage_in_forms_never_gives_a_5xx_nor_a_partial_write(app: Any, session: Session) -> None:
    world = build_world(session)
    found = harvest(app, "admin", world)
    walk = Walk(session, client_of(app, world.emails["admin"]))
    anonymous = client_of(app, None)
    tokens = {
        "admin_users.set_password": world.public["set_password"],
        "digests.unsubscribe_link": world.public["unsubscribe"],
        "checkins.answer": world.public["checkin_answer"],
        "checkins.stop": world.public["checkin_stop"],
    }
    for rule in _ordered(web_rules(app)):
        if is_api(rule) or rule.endpoint == "accounts.logout":
            continue  # the API's bodies are JSON (below); logging out would end the walk
        # A public route as the stranger holding its link; the others as an administrator.
        client = anonymous if rule.endpoint in PUBLIC else None
        url = fill(rule, {**world.values(), "token": tokens.get(rule.endpoint, "")})
        for method in sorted(set(methods_of(rule)) & set(WRITE_METHODS)):
            for label, body in _form_variants(found, url):
                kind = {"content_type": "application/x-www-form-urlencoded"} if isinstance(body, str) else {}
                _check(walk, method, url, label, walk.send(method, url, label, client=client, data=body, **kind))
    assert walk.sent > 500
    assert not walk.wrong, report(walk.wrong)


def test_garbage_in_api_bodies_is_a_4xx_problem(app: Any, session: Session) -> None:
    world = build_world(session)
    walk = Walk(session, client_of(app, None), world.bearer("admin"))
    bodies: list[dict[str, Any]] = [
        {"data": b"\xff\xfe{", "content_type": "application/json"},
        {"data": "title=abc", "content_type": "application/x-www-form-urlencoded"},
        {"json": []},
        {"json": "abc"},
        {"json": {"title": "a\x00b", "name": "a\x00b", "body": "a\x00b", "lead_id": 10**20}},
        {"json": {"lead_id": -1, "organisation_id": 0, "due_local": "2026-02-30T10:00:00", "stage": "nowhere"}},
    ]
    for rule in _ordered(web_rules(app)):
        if not is_api(rule) or rule.endpoint in PUBLIC:
            continue
        url = fill(rule, world.values())
        for method in sorted(set(methods_of(rule)) & set(WRITE_METHODS)):
            for n, body in enumerate(bodies):
                _check(walk, method, url, f"body {n}", walk.send(method, url, f"body {n}", **body))
    assert walk.sent > 100
    assert not walk.wrong, report(walk.wrong)
