"""Rendering an email in its recipient's language and time zone.

Each email is a trio of templates, ``emails/<name>.subject.txt``, ``.txt`` and ``.html``
(the HTML extends ``emails/base.html``, which sets ``dir="rtl"`` for Arabic).  Rendering
happens inside ``force_locale`` in the app context, so a worker renders Arabic for an
Arabic reader; dates are formatted in the reader's zone by the ``local`` filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from flask import current_app, render_template
from flask_babel import force_locale

from crm.core.i18n import FORMAT_LOCALES, list_separator, text_direction
from crm.core.time import CASABLANCA, to_local, zone


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=8)
def format_locale(language: str) -> Locale:
    """Babel's number and date conventions for ``language`` (parsed once)."""
    return Locale.parse(FORMAT_LOCALES[language])


@lru_cache(maxsize=4096)  # the same instants recur in the digests of many readers
def format_local(instant: datetime, zone_name: str, language: str, fmt: str = "full") -> str:
    """An instant as a reader in ``zone_name`` reads it, e.g. "lundi 21 septembre 2026, 10:00 (UTC+00:00)",
    with the date, the time and the separator between them as the reader's language writes them."""
    locale = format_locale(language)
    local = to_local(instant, zone_name)
    date_text = format_date(local, "full" if fmt == "full" else "medium", locale=locale)
    time_text = format_time(local, "HH:mm", tzinfo=zone(zone_name), locale=locale)
    text = locale.datetime_formats["medium"].format(time_text, date_text)
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{text} (UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"


def differs_from_casablanca(instant: datetime, zone_name: str) -> bool:
    return to_local(instant, zone_name).utcoffset() != to_local(instant, CASABLANCA).utcoffset()


def render_email(name: str, *, language: str, timezone: str, **context: Any) -> RenderedEmail:
    base_url = current_app.config["BASE_URL"]
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
            "local": lambda instant, fmt="full": format_local(instant, timezone, language, fmt),
            "casablanca": lambda instant, fmt="full": format_local(instant, CASABLANCA, language, fmt),
            "differs_from_casablanca": lambda instant: differs_from_casablanca(instant, timezone),
        }
        subject = " ".join(render_template(f"emails/{name}.subject.txt", **ctx).split())
        ctx["subject"] = subject
        text = render_template(f"emails/{name}.txt", **ctx)
        html = render_template(f"emails/{name}.html", **ctx)
    return RenderedEmail(subject, text.strip() + "\n", html)
