"""Every user-facing string is translated into Arabic and French, plural forms included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "crm" / "translations"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return pot


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_catalogue_translates_every_extracted_string(template: Path, language: str) -> None:
    with template.open("rb") as f:
        pot = read_po(f)
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        po = read_po(f, locale=language)
    problems = []
    for message in pot:
        if not message.id:
            continue
        translated = po.get(message.id)
        if translated is None:
            problems.append(f"missing: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif isinstance(translated.string, tuple):
            if len(translated.string) != po.num_plurals or not all(translated.string):
                problems.append(f"plural forms incomplete: {message.id!r}")
        elif not translated.string:
            problems.append(f"untranslated: {message.id!r}")
        elif translated.string == message.id and " " in message.id.strip():
            problems.append(f"copied from English: {message.id!r}")
    assert not problems, "\n".join(problems)


def test_arabic_has_six_plural_forms() -> None:
    with (CATALOGUES / "ar" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        po = read_po(f, locale="ar")
    assert po.num_plurals == 6


def test_arabic_plurals_render_by_number(app) -> None:  # type: ignore[no-untyped-def]
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("ar"):
        rendered = [ngettext("%(num)d lead", "%(num)d leads", n) for n in (0, 1, 2, 3, 11, 100)]
    assert rendered == ["لا توجد فرص", "فرصة واحدة", "فرصتان", "3 فرص", "11 فرصة", "100 فرصة"]


def test_the_kept_catalogue_follows_force_locale_and_refresh(app) -> None:  # type: ignore[no-untyped-def]
    """A page keeps its catalogue for its thousand ``_()``; a mail sent from it in its
    recipient's language (``force_locale``), the page after it, and a changed language
    (``refresh``) each get their own, in Python and in templates."""
    from flask import g, render_template_string
    from flask_babel import force_locale, refresh

    from crm.core.i18n import current_language, gettext, ngettext

    def said() -> tuple[str, str, str, str]:
        page = render_template_string('{{ _("Leads") }}|{{ ngettext("%(num)d lead", "%(num)d leads", 2) }}')
        return current_language(), gettext("Leads"), ngettext("%(num)d lead", "%(num)d leads", 2), page

    with app.test_request_context(headers={"Accept-Language": "ar"}):
        arabic = said()
        assert arabic[0] == "ar" and arabic[1] != "Leads" and arabic[3] == f"{arabic[1]}|{arabic[2]}"
        with force_locale("fr"):
            french = said()
            assert french[0] == "fr" and french[3] == f"{french[1]}|{french[2]}"
            assert french[1] not in (arabic[1], "Leads")
            with force_locale("en"):
                assert said() == ("en", "Leads", "2 leads", "Leads|2 leads")
            assert said() == french
        assert said() == arabic
        g.jisr_language = "fr"  # a request that chooses its own (the JSON API), then refreshes
        refresh()
        assert said() == french
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert said() == ("en", "Leads", "2 leads", "Leads|2 leads")
