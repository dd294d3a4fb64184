"""Languages: Arabic (right-to-left), French and English, all first-class.

The locale is chosen from the logged-in user (the language chosen on the login page for
the rest of that session, ``SESSION_LANGUAGE``, else their saved one), then the ``lang`` cookie, then the
browser's Accept-Language, then the configured default (the JSON API chooses its own:
the caller's Accept-Language, else the token owner's language).  Selectors check for a request
context, so work done in a task (inside ``force_locale``) is never silently rendered in
the default language.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel, get_locale, lazy_gettext
from flask_babel import gettext as _babel_gettext
from flask_babel import ngettext as _babel_ngettext

LANGUAGES = ("ar", "fr", "en")
RTL_LANGUAGES = frozenset({"ar"})
# Babel formats numbers and dates with these regional locales.
FORMAT_LOCALES = {"ar": "ar_MA", "fr": "fr_MA", "en": "en_US"}
LANGUAGE_NAMES = {"ar": "العربية", "fr": "Français", "en": "English"}
SESSION_LANGUAGE = "jisr.language"  # a login session's own language, until the user saves it

babel = Babel()

__all__ = [
    "LANGUAGES",
    "babel",
    "current_language",
    "gettext",
    "lazy_gettext",
    "ngettext",
    "pick_name",
    "text_direction",
]


def gettext(string: str, **variables: Any) -> str:
    """The translation of ``string`` in the current locale (typed wrapper)."""
    return str(_babel_gettext(string, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The plural form for ``num`` in the current locale (Arabic has six)."""
    return str(_babel_ngettext(singular, plural, num, **variables))


def select_locale() -> str:
    if not has_request_context():
        return str(current_app.config.get("BABEL_DEFAULT_LOCALE", "fr"))
    chosen = g.get("jisr_language")  # set by a request that picks its own (the JSON API)
    if chosen in LANGUAGES:
        return str(chosen)
    user = g.get("jisr_user")
    if user is not None and session.get(SESSION_LANGUAGE) in LANGUAGES:
        return str(session[SESSION_LANGUAGE])  # chosen on the login page, not (yet) saved
    if user is not None and getattr(user, "language", None):
        return str(user.language)
    cookie = request.cookies.get("lang")
    if cookie in LANGUAGES:
        return cookie
    best = request.accept_languages.best_match(LANGUAGES)
    return best or str(current_app.config.get("BABEL_DEFAULT_LOCALE", "fr"))


def select_timezone() -> str:
    if has_request_context():
        user = g.get("jisr_user")
        if user is not None and getattr(user, "timezone", None):
            return str(user.timezone)
    return str(current_app.config.get("DEFAULT_TIMEZONE", "Africa/Casablanca"))


def current_language() -> str:
    locale = get_locale()
    language = locale.language if locale is not None else "fr"
    return language if language in LANGUAGES else "fr"


def list_separator(language: str | None = None) -> str:
    """What separates the items of a list in a sentence: the Arabic comma in Arabic."""
    return "، " if (language or current_language()) == "ar" else ", "


def text_direction(language: str | None = None) -> str:
    return "rtl" if (language or current_language()) in RTL_LANGUAGES else "ltr"


def pick_name(obj: Any, language: str | None = None) -> str:
    """The object's ``name_<language>``, falling back to the other languages."""
    language = language or current_language()
    order = [language] + [lang for lang in ("fr", "en", "ar") if lang != language]
    for lang in order:
        value = getattr(obj, f"name_{lang}", None)
        if value:
            return str(value)
    return ""


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(
        text_direction=text_direction,
        current_language=current_language,
        LANGUAGES=LANGUAGES,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        pick_name=pick_name,
    )
