"""Rendering an email in its recipient's language and time zone.

Each email is a trio of templates, ``emails/<name>.subject.txt``, ``.txt`` and ``.html``
(the HTML extends ``emails/base.html``, which sets ``dir="rtl"`` for Arabic).  Rendering
happens inside ``force_locale`` in the app context, so a worker renders Arabic for an
Arabic reader; dates are formatted in the reader's zone by the ``local`` filter.

Times, as the templates write them:

- ``local(instant)``: in the reader's own zone, without an offset: it is their clock.  The
  offset ("(UTC-04:00)") is kept only when the wall time happens twice in their zone (the
  hour a daylight-saving change repeats), where the clock alone would be ambiguous.
- ``casablanca(instant)``: in Casablanca's zone; as a zone other than the reader's, always
  with its place and offset ("(Casablanca, UTC+00:00)").  Shown (on its own line) only when ``differs_from_casablanca``.
- ``beside_casablanca(instant)``: for a deadline in a compact place (a table cell, a list
  line): "" when the reader's clock agrees with Casablanca's at that instant, otherwise
  " (21 sept. 2026, 10:00 à Casablanca)".  The partnership's meetings and deadlines are kept
  on Casablanca's clock, so a reader in the United States sees both.

Right-to-left readers: ``arrow`` points in the reading direction ("←" in Arabic, "→"
otherwise), and amounts are isolated so bidi does not reorder "60.000,00 US$": ``ltr(text)``
wraps a fragment in U+2066 … U+2069 (LEFT-TO-RIGHT ISOLATE … POP DIRECTIONAL ISOLATE) in
Arabic.  The text part keeps those characters; in the HTML part each such pair around plain
text becomes ``<span dir="ltr">…</span>``, which mail clients honour (Gmail and Outlook ignore
``<bdi>``).  Names and titles inside a sentence of the HTML part go through ``bdi(text)``: a
span with the direction of the text's first letter.

Dates and times follow ``crm.core.formats`` (one style per language; the reader's clock,
24-hour or 12-hour, comes as ``hour_cycle``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import Markup

from crm.core import formats
from crm.core.i18n import FORMAT_LOCALES, list_separator, text_direction
from crm.core.i18n import gettext as _
from crm.core.time import CASABLANCA, to_local


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=8)
def format_locale(language: str) -> Locale:
    """Babel's number and date conventions for ``language`` (parsed once)."""
    return Locale.parse(FORMAT_LOCALES[language])


LTR_ISOLATE, POP_ISOLATE = "\u2066", "\u2069"
# A left-to-right isolate around plain text (no tag, no other isolate inside).
ISOLATED = re.compile(f"{LTR_ISOLATE}([^{LTR_ISOLATE}\u2067\u2068{POP_ISOLATE}<>]*){POP_ISOLATE}")
BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c"))
LTR_SPAN = r'<span dir="ltr" style="white-space:nowrap;">\1</span>'


@lru_cache(maxsize=4096)  # the same instants recur in the digests of many readers
def format_local(
    instant: datetime,
    zone_name: str,
    language: str,
    fmt: str = "full",
    offset: bool = True,
    hour_cycle: str | None = None,
) -> str:
    """An instant as a reader in ``zone_name`` reads it, e.g. "lun. 21 sept. 2026, 10:00 (UTC+00:00)",
    in the one date and time style of the reader's language (see ``crm.core.formats``);
    ``fmt="full"`` names the weekday.  ``offset=False`` leaves the "(UTC+hh:mm)" out unless
    the wall time occurs twice in the zone."""
    local = to_local(instant, zone_name)
    text = formats.local_text(local, language, hour_cycle, weekday=fmt == "full")
    if not offset and not _repeated(local):
        return text
    return f"{text} ({utc_offset(local)})"


def _repeated(local: datetime) -> bool:
    """True when this wall time happens twice in its zone (a daylight-saving fall-back)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


utc_offset = formats.utc_offset


def in_other_zone(instant: datetime, zone_name: str, language: str, hour_cycle: str | None = None) -> str:
    """An instant on the clock of a zone other than the reader's, which it names:
    "lun. 21 sept. 2026, 10:00 (Casablanca, UTC+00:00)"."""
    text = format_local(instant, zone_name, language, offset=False, hour_cycle=hour_cycle)
    return f"{text} ({formats.zone_label(instant, zone_name, language)})"


def differs_from_casablanca(instant: datetime, zone_name: str) -> bool:
    return to_local(instant, zone_name).utcoffset() != to_local(instant, CASABLANCA).utcoffset()


def beside_casablanca(instant: datetime, zone_name: str, language: str, hour_cycle: str | None = None) -> str:
    """ " (21 sept. 2026, 10:00 à Casablanca)" for a reader whose clock differs then, else ""."""
    if not differs_from_casablanca(instant, zone_name):
        return ""
    moment = format_local(instant, CASABLANCA, language, "short", offset=False, hour_cycle=hour_cycle)
    beside = _("%(moment)s in Casablanca", moment=moment)  # outside the f-string, for the extractor
    return f" ({beside})"


def isolate_ltr(text: str, language: str) -> str:
    """``text`` (an amount, a code) kept left to right inside a right-to-left sentence.  The
    marks Babel puts into Arabic numbers (U+200E, U+200F, U+061C) are dropped: inside a
    left-to-right isolate they would turn the figures' run right to left again."""
    if not text or text_direction(language) != "rtl":
        return text
    return f"{LTR_ISOLATE}{text.translate(BIDI_MARKS)}{POP_ISOLATE}"


def spans_for_isolates(html: str) -> str:
    """The HTML part with its left-to-right isolates (in the body) as ``<span dir="ltr">``."""
    head, marker, body = html.partition("<body")
    return head + marker + ISOLATED.sub(LTR_SPAN, body) if marker else html


def isolate_html(text: Any) -> Markup:
    """User text (a name, a title) inside a sentence of the HTML part: in a ``<span>`` with its
    own direction, so an Arabic name in a French sentence (or a Latin one in Arabic) keeps
    the words and the punctuation around it in place.  Mail clients drop ``<bdi>`` and
    ``dir="auto"``; a ``span`` with an explicit ``dir`` is honoured."""
    value = "" if text is None else str(text)
    if not value:
        return Markup("")
    direction = formats.first_strong_direction(value)
    return Markup('<span dir="{}" style="unicode-bidi:isolate;">{}</span>').format(direction, value)


def render_email(
    name: str, *, language: str, timezone: str, hour_cycle: str | None = None, **context: Any
) -> RenderedEmail:
    base_url = current_app.config["BASE_URL"]
    rtl = text_direction(language) == "rtl"
    with force_locale(language):
        ctx = {
            **context,
            "language": language,
            "direction": text_direction(language),
            # French puts a (non-breaking) space before a colon.
            "colon": "\u00a0:" if language == "fr" else ":",
            "comma": list_separator(language),
            "timezone": timezone,
            "base_url": base_url,
            "local": lambda instant, fmt="full": format_local(
                instant, timezone, language, fmt, offset=False, hour_cycle=hour_cycle
            ),
            "casablanca": lambda instant: in_other_zone(instant, CASABLANCA, language, hour_cycle),
            "differs_from_casablanca": lambda instant: differs_from_casablanca(instant, timezone),
            "beside_casablanca": lambda instant: beside_casablanca(instant, timezone, language, hour_cycle),
            "bdi": isolate_html,
            "arrow": "←" if rtl else "→",
            "ltr": lambda text: isolate_ltr(str(text), language),
        }
        subject = " ".join(render_template(f"emails/{name}.subject.txt", **ctx).split())
        ctx["subject"] = subject
        text = render_template(f"emails/{name}.txt", **ctx)
        html = spans_for_isolates(render_template(f"emails/{name}.html", **ctx))
    return RenderedEmail(subject, text.strip() + "\n", html)
