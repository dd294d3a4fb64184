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
from flask.globals import _cv_app  # the application context's own variable, behind ``g``
from flask_babel import Babel, get_locale, get_timezone, get_translations, lazy_gettext

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


def context_globals() -> Any:
    """The application context's ``g`` itself (None outside one), without the proxy's cost:
    a page reads it for every date and translated word."""
    app_context = _cv_app.get(None)
    return None if app_context is None else app_context.g


def _babel_context() -> Any:
    """Flask-Babel's per-context record (``g._flask_babel``: the locale it chose, or the
    one ``force_locale`` put there); None outside a context or before Flask-Babel made it."""
    found = context_globals()
    return None if found is None else found.__dict__.get("_flask_babel")


def _locale() -> Any:
    """The current locale: Flask-Babel's, read straight from its record when it has chosen
    it (every call of a page after the first)."""
    found = getattr(_babel_context(), "babel_locale", None)
    return found if found is not None else get_locale()


def translations() -> Any:
    """The current locale's catalogue.  A page asks for it a thousand times (each ``_()``);
    Flask-Babel finds it through the context proxies and the locale's name each time.  It is
    kept here beside the locale it belongs to, so a ``force_locale`` (a mail in its
    recipient's language) or a ``refresh`` (a changed language) is never answered from the
    wrong one."""
    record = _babel_context()
    locale = getattr(record, "babel_locale", None)
    if locale is None:
        return get_translations()
    kept = record.__dict__.get("jisr_translations")
    if kept is not None and kept[0] is locale:
        return kept[1]
    found = get_translations()
    record.jisr_translations = (locale, found)
    return found


def gettext(string: str, **variables: Any) -> str:
    """The translation of ``string`` in the current locale (as Flask-Babel's ``gettext``)."""
    text = translations().ugettext(string)
    return str(text if not variables else text % variables)


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The plural form for ``num`` in the current locale (Arabic has six)."""
    variables.setdefault("num", num)
    return str(translations().ungettext(singular, plural, num) % variables)


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


def current_zone_name() -> str:
    """The viewer's time zone (Flask-Babel's choice, :func:`select_timezone`)."""
    zone = getattr(_babel_context(), "babel_tzinfo", None)
    return str(zone if zone is not None else get_timezone())


def current_language() -> str:
    locale = _locale()
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
    # The templates' ``_()`` and ``ngettext()`` find the catalogue the quick way (above);
    # newstyle as Flask-Babel installs them (variables escaped, ``num`` given).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(
        text_direction=text_direction,
        current_language=current_language,
        LANGUAGES=LANGUAGES,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        pick_name=pick_name,
    )
