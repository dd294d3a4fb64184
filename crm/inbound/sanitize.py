"""Mail HTML made safe to show inside a page of Jisr, with nh3 (an allow-list HTML parser,
never a regular expression): no script, style, event handler, form or frame survives,
links are http, https or mailto only, and a remote image keeps no address unless the
reader asked to load them (a tracking pixel then never calls home on open)."""

from __future__ import annotations

from dataclasses import dataclass

import nh3

TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "*": {"dir", "lang", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
}
DROPPED_WITH_CONTENT = {"script", "style", "title", "noscript", "template", "iframe", "object", "svg", "math"}
SCHEMES = {"http", "https", "mailto"}


@dataclass(frozen=True)
class CleanHtml:
    html: str
    remote_images: int


def _is_remote(value: str) -> bool:
    return value.strip().lower().startswith(("http://", "https://", "//"))


def clean_mail_html(html: str, *, load_images: bool = False) -> CleanHtml:
    """``html`` with only what may be shown; remote image addresses kept only with
    ``load_images`` (then counted all the same)."""
    remote = 0

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal remote
        if tag == "img" and attribute == "src":
            if not _is_remote(value):
                return None  # cid: and data: parts are not shown inline
            remote += 1
            return value if load_images else None
        return value

    cleaned = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=keep,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer nofollow",
        # A held-back image shows nothing: it is marked decorative, hidden from screen readers.
        set_tag_attribute_values={"a": {"target": "_blank"}, **({} if load_images else {"img": {"alt": ""}})},
        strip_comments=True,
    )
    return CleanHtml(cleaned, remote)
