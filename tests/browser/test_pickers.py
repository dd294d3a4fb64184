"""The type-ahead pickers in a real browser, in Arabic and French, on a desk and a phone:
typing in the lead form's organisation picker, choosing with the keyboard only, saving;
creating an organisation from the picker through the duplicate warning; the settings'
time-zone picker; axe-core clean with a picker open."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.browser.conftest import OFFICER, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser

SIZES = {"desk": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
CASES = [(lang, size) for lang in ("ar", "fr") for size in SIZES]


def _officer(new_page: Any, lang: str, size: str) -> Any:
    page = new_page(viewport=SIZES["desk"])
    login(page, OFFICER)
    switch_language(page, lang)
    page.set_viewport_size(SIZES[size])
    return page


def _control(page: Any, field: str) -> Any:
    """The picker's text box (Tom Select's combobox) of the select named ``field``."""
    return page.locator(f"#{field}-ts-control")


def _type(page: Any, field: str, text: str) -> Any:
    control = _control(page, field)
    control.scroll_into_view_if_needed()
    control.focus()
    control.press_sequentially(text, delay=30)
    dropdown = page.locator(f"#{field}-ts-dropdown")
    return dropdown


def _enter_when_active(page: Any, field: str, text: str) -> None:
    """Press Enter once the option the keyboard is on holds ``text``."""
    page.wait_for_function(
        "([field, text]) => document.querySelector(`#${field}-ts-dropdown .option.active`)?.textContent.includes(text)",
        arg=[field, text],
    )
    page.keyboard.press("Enter")


def _save_settings(page: Any) -> None:
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/settings")) as answer:
        page.locator("main form button[type=submit]").first.click()
    assert answer.value.status in (200, 302, 303), answer.value.status
    page.wait_for_load_state()


def pick(page: Any, field: str, typed: str, shown: str) -> None:
    """Type in a picker and choose, with Enter, the option that shows ``shown``."""
    _type(page, field, typed)
    _enter_when_active(page, field, shown)


def _no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_an_organisation_is_found_by_typing_and_chosen_with_the_keyboard(
    new_page: Any, console: Any, lang: str, size: str
) -> None:
    page = _officer(new_page, lang, size)
    page.goto("/leads/new")
    page.fill("#title", f"Picker lead {lang} {size}")
    # The Arabic name, typed with the letter variants folded, finds the agency "ADD".
    dropdown = _type(page, "ma_organisation_id", "وكاله التنميه")
    option = dropdown.locator(".option", has_text="ADD")
    option.first.wait_for()
    assert page.locator("#ma_organisation_id-ts-control").get_attribute("role") == "combobox"
    assert page.locator("#ma_organisation_id-ts-control").get_attribute("aria-expanded") == "true"
    _enter_when_active(page, "ma_organisation_id", "ADD")
    chosen = page.locator("#ma_organisation_id").evaluate("s => s.value")
    assert chosen
    # The US side: an acronym in Latin letters, in any case.
    _type(page, "us_organisation_id", "oracle")
    page.locator("#us_organisation_id-ts-dropdown .option", has_text=re.compile("Oracle|أوراكل")).first.wait_for()
    _enter_when_active(page, "us_organisation_id", "أوراكل" if lang == "ar" else "Oracle")
    _no_sideways_scroll(page)
    screenshot(page, f"picker-lead-form-{lang}-{size}")
    page.locator("[data-testid=save-lead]").click()
    page.wait_for_url(re.compile(r".*/leads/\d+$"))
    body = page.locator("main").inner_text()
    assert "ADD" in body and ("Oracle" in body or "أوراكل" in body)
    console.assert_clean()


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_an_organisation_is_created_from_the_picker_after_the_duplicate_warning(
    new_page: Any, console: Any, lang: str
) -> None:
    page = _officer(new_page, lang, "desk")
    page.goto("/leads/new")
    # A name that exists: the warning offers the existing one, which is chosen.
    _type(page, "ma_organisation_id", "Agence du Digital")
    create = page.locator("#ma_organisation_id-ts-dropdown .create")
    create.wait_for()
    create.click()
    panel = page.locator("[data-testid=picker-panel]")
    panel.wait_for()
    panel.locator("button.btn-primary", has_text="ADD").click()
    assert page.locator("#ma_organisation_id option:checked").inner_text().startswith("ADD")
    # A new name: created at once, and chosen.
    name = f"Nouvelle agence {uuid.uuid4().hex[:6]}"
    _type(page, "us_organisation_id", name)
    page.locator("#us_organisation_id-ts-dropdown .create").click()
    page.wait_for_function(
        "name => document.querySelector('#us_organisation_id option:checked')?.textContent === name", arg=name
    )
    console.assert_clean()


@pytest.mark.parametrize(("lang", "size"), CASES)
def test_the_time_zone_is_chosen_by_typing_with_its_offset(new_page: Any, lang: str, size: str) -> None:
    page = _officer(new_page, lang, size)
    page.goto("/settings")
    assert re.match(r"Africa/Casablanca \(UTC[+-]\d\d:\d\d\)", page.locator("#timezone option:checked").inner_text())
    _type(page, "timezone", "new york")
    option = page.locator("#timezone-ts-dropdown .option", has_text="America/New_York")
    option.wait_for()
    assert re.search(r"\(UTC-0[45]:00\)", option.inner_text())
    _enter_when_active(page, "timezone", "America/New_York")
    _no_sideways_scroll(page)
    screenshot(page, f"picker-settings-zone-{lang}-{size}")
    _save_settings(page)
    page.goto("/settings")
    assert page.locator("#timezone").evaluate("s => s.value") == "America/New_York"
    # Back to the demo officer's own zone, for the other tests.
    _type(page, "timezone", "casablanca")
    _enter_when_active(page, "timezone", "Africa/Casablanca")
    _save_settings(page)


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_lead_form_with_a_picker_open_passes_axe(new_page: Any, lang: str) -> None:
    page = new_page(bypass_csp=True, viewport=SIZES["desk"])
    login(page, OFFICER)
    switch_language(page, lang)
    page.goto("/leads/new")
    _type(page, "ma_organisation_id", "ADD")
    page.locator("#ma_organisation_id-ts-dropdown .option", has_text="ADD").first.wait_for()
    page.wait_for_function("() => !document.querySelector('.ts-wrapper.loading')")
    page.add_script_tag(path=str(AXE))
    problems = page.evaluate(RUN_AXE)
    assert problems == [], "\n".join(f"{p['rule']} ({p['impact']}) {p['help']} at {p['where']}" for p in problems)
