"""What the app's pages offer, read from their HTML: the forms (each with its fields, by
the address it posts to, filled as an editor would fill them) and the query names of their
links and search forms, for the tests that walk every route."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.route_world import World, client_of, fill, is_api, methods_of, web_rules


class _Forms(HTMLParser):
    """The forms of a page: action, method and fields (name -> (type, first value, options))."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").upper(), "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag in ("input", "textarea", "select") and a.get("name"):
            kind = a.get("type", "text") if tag == "input" else tag
            if kind in ("submit", "button", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a and a["name"] in fields:
                return
            value = a.get("value", "") if kind not in ("checkbox", "radio") or "checked" in a else ""
            fields.setdefault(a["name"], [kind, value, []])
            if kind == "select":
                self._select = a["name"]
        elif tag == "option" and self._select is not None:
            entry = fields[self._select]
            entry[2].append(a.get("value", ""))
            if "selected" in a or not entry[1]:
                entry[1] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def page_forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def query_names(html: str) -> set[str]:
    """Names of the query parameters in the page's own links."""
    return {
        m for href in re.findall(r'href="[^"]*\?([^"#]*)', html) for m in re.findall(r"(?:^|&amp;|&)([\w.-]+)=", href)
    }


@dataclass
class Harvest:
    """What the pages offer: each form's fields by the address it posts to, and the names
    of the query parameters the pages use (their GET forms and their links)."""

    forms: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    query: set[str] = field(default_factory=set)

    def fields_for(self, url: str) -> dict[str, list[Any]] | None:
        return self.forms.get(url)

    def all_names(self) -> set[str]:
        return {name for fields in self.forms.values() for name in fields}


# Pages read once per database kind, user and rows: every test builds the same world (the
# same ids, from an empty database), so the forms its pages offer are the same too.
_HARVESTS: dict[tuple[str, str, str], Harvest] = {}


def harvest(app: Any, who: str, world: World, which: str = "open") -> Harvest:
    """The forms and query names of every page as ``who`` sees them (see :func:`read_pages`)."""
    key = (app.config["DATABASE_URL"].split(":", 1)[0], who, which)
    if key not in _HARVESTS:
        _HARVESTS[key] = read_pages(app, client_of(app, world.emails[who]), world.values(which))
    return _HARVESTS[key]


def read_pages(app: Any, client: Any, values: dict[str, Any]) -> Harvest:
    """GET every page (and submit each of its search and filter forms once, filled in) and
    note the forms and query names found."""
    found = Harvest()
    pages = [
        fill(rule, values)
        for rule in web_rules(app)
        if "GET" in methods_of(rule) and not is_api(rule) and rule.endpoint not in ("static", "vendor")
    ]
    searched: set[str] = set()
    while pages:
        url = pages.pop(0)
        response = client.get(url)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        found.query |= query_names(html)
        for form in page_forms(html):
            action = (form["action"] or url).split("?", 1)[0].split("#", 1)[0]
            if form["method"] != "GET":
                found.forms.setdefault(action, form["fields"])
                continue
            found.query |= set(form["fields"])
            if action not in searched:
                searched.add(action)
                filled = {
                    name: plausible(name, kind, value, options)
                    for name, (kind, value, options) in form["fields"].items()
                }
                pages.append(f"{action}?{urlencode(filled)}")
    return found


# What an editor would type in an empty field of each kind, so that a posted form is valid
# as far as the walk can tell (and a missing check would let the write through).
PLAUSIBLE = {
    "email": "walk@jisr.example",
    "url": "https://93.184.215.14/walk",
    "date": "2026-03-02",
    "datetime-local": "2026-03-02T10:00",
    "number": "1",
    "tel": "+212600000000",
    "password": "Correct-Horse-42-walk",
    "text": "Route walk",
    "textarea": "Route walk",
    "search": "Route walk",
}
PLAUSIBLE_BY_NAME = {"timezone": "Africa/Casablanca", "email": "walk@jisr.example", "website": "https://walk.example"}


def plausible(name: str, kind: str, value: str, options: list[str]) -> str:
    if value:
        return value
    if kind == "select":
        return next((o for o in options if o), "")
    if kind in ("hidden", "checkbox", "radio"):
        return value
    return PLAUSIBLE_BY_NAME.get(name.rsplit("-", 1)[-1], PLAUSIBLE.get(kind, "Route walk"))


def form_body(found: Harvest, url: str) -> dict[str, str]:
    """The form the pages post to ``url``, filled as an editor would fill it."""
    fields = found.fields_for(urlsplit(url).path) or {}
    return {name: plausible(name, kind, value, options) for name, (kind, value, options) in fields.items()}
