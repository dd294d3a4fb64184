"""A leads file without a partnership type column, imported in French and in Arabic: the
mapping page asks for the value for all rows (the field named in the reader's language),
the officer picks one, and the preview accepts every row, each saying its value is the
default.  The mapping page passes axe-core's WCAG 2.1 AA checks."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import OFFICER, Console, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE
from tests.browser.test_dashboard_charts import language_back

pytestmark = pytest.mark.browser

ROWS = [
    ["Titre", "Organisme marocain", "Entreprise américaine"],
    ["Plateforme de données ouvertes", "ADD", "Oracle"],
    ["منصة الحوسبة السحابية الوطنية", "ADD", "Oracle"],
    ["Formation des formateurs cloud", "ADD", "Oracle"],
]
SAID = {
    "fr": {"field": "Type de partenariat", "choice": "Formation et compétences", "note": "par défaut"},
    "ar": {"field": "نوع الشراكة", "choice": None, "note": "افتراضية"},
}


def _csv() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(ROWS)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def restore_language(new_page: Callable[..., Any]) -> Any:
    """The demo officer's language is French again after the test."""
    yield
    language_back(new_page, OFFICER, "fr")


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_a_file_without_the_partnership_type_is_given_one_for_all_rows(
    new_page: Callable[..., Any], console: Console, restore_language: None, lang: str
) -> None:
    page = new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    login(page, OFFICER)
    if page.locator("html").get_attribute("lang") != lang:
        switch_language(page, lang)
    page.goto("/imports")
    page.select_option("#kind", "leads")
    page.set_input_files("#file", files=[{"name": "pistes.csv", "mimeType": "text/csv", "buffer": _csv()}])
    with page.expect_navigation():
        page.locator("[data-testid=import-upload] button[type=submit]").click()
    assert "/mapping" in page.url
    # The page asks for the missing field's value, naming the field in the reader's language.
    choice = page.locator("#default-partnership_type")
    label = page.locator("label[for=default-partnership_type]")
    assert label.inner_text().strip() == SAID[lang]["field"]
    assert page.get_by_test_id("default-needed").is_visible()
    assert choice.get_attribute("aria-describedby") == "default-partnership_type-help"
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(RUN_AXE) == []
    choice.select_option("training_and_skills")
    if SAID[lang]["choice"]:
        assert choice.locator("option:checked").inner_text().strip() == SAID[lang]["choice"]
    screenshot(page, f"import-defaults-{lang}-mapping")
    with page.expect_navigation():
        page.get_by_test_id("to-preview").click()
    assert page.url.endswith("/preview")
    counts = {key: page.locator(f"[data-count={key}]").inner_text() for key in ("create", "error")}
    assert counts == {"create": "3", "error": "0"}, counts
    assert page.get_by_test_id("rejection-warning").count() == 0
    assert SAID[lang]["field"] in page.get_by_test_id("preview-defaults").inner_text()
    rows = page.locator("[data-testid=import-rows] tbody tr")
    assert rows.count() == 3
    for i in range(3):
        assert SAID[lang]["note"] in rows.nth(i).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    screenshot(page, f"import-defaults-{lang}-preview")
    console.assert_clean()
