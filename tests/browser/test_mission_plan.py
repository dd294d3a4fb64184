"""A mission planned in a real browser: two legs in two zones, delegates with their roles
chosen with the pickers, meetings on the legs, and the conflict warning on saving, on the
mission page and on the agenda (axe-clean in Arabic and French)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import OFFICER, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser


def _pick(page: Any, field: str, typed: str, shown: str) -> None:
    control = page.locator(f"#{field}-ts-control")
    control.scroll_into_view_if_needed()
    control.focus()
    control.press_sequentially(typed, delay=30)
    page.wait_for_function(
        "([field, text]) => document.querySelector(`#${field}-ts-dropdown .option.active`)?.textContent.includes(text)",
        arg=[field, shown],
    )
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def _log_meeting(page: Any, mission_url: str, title: str, leg: str, wall: str) -> None:
    page.goto(f"{mission_url}/meetings/new")
    page.fill("[data-testid=meeting-title]", title)
    page.select_option("[data-testid=meeting-leg]", label=leg)
    page.fill("[data-testid=meeting-starts-local]", wall)
    page.fill("[data-testid=meeting-duration]", "60")
    _pick(page, "contact_ids", "Amrani", "Amrani")
    page.locator("[data-testid=meeting-save]").click()
    page.wait_for_url(f"**{mission_url}")


def test_a_mission_with_two_legs_roles_and_a_conflict(new_page: Any, console: Any) -> None:
    page = new_page(bypass_csp=True)  # axe-core is injected as a script
    login(page, OFFICER)
    switch_language(page, "fr")
    page.goto("/missions/new")
    page.fill("[data-testid=mission-name-input]", "Cloud mission 2027")
    page.fill("[data-testid=mission-name-ar]", "بعثة الحوسبة السحابية 2027")
    page.fill("[data-testid=mission-starts-on]", "2027-03-08")
    page.fill("[data-testid=mission-ends-on]", "2027-03-12")
    rows = page.locator("[data-testid=mission-place]")
    for index, (name, zone, first, last) in enumerate(
        (
            ("Houston, Texas", "America/Chicago", "2027-03-08", "2027-03-10"),
            ("San Francisco", "America/Los_Angeles", "2027-03-11", "2027-03-12"),
        )
    ):
        row = rows.nth(index)
        row.locator(f"#places-{index}-name").fill(name)
        row.locator(f"#places-{index}-timezone").fill(zone)
        row.locator("[data-testid=leg-starts-on]").fill(first)
        row.locator("[data-testid=leg-ends-on]").fill(last)
    _pick(page, "head_ids", "Amrani", "Amrani")
    _pick(page, "delegate_ids", "Alaoui", "Alaoui")
    page.locator("[data-testid=mission-save]").click()
    page.wait_for_url("**/missions/*")
    mission_url = urlparse(page.url).path
    assert page.locator("[data-testid=mission-leg]").count() == 2
    assert page.locator("[data-testid=delegate-role]").inner_text() == "Chef de délégation"

    _log_meeting(page, mission_url, "Oracle cloud", "Houston, Texas (America/Chicago)", "2027-03-09T10:00")
    assert page.locator("[data-testid=conflict]").count() == 0
    _log_meeting(page, mission_url, "Microsoft Azure", "Houston, Texas (America/Chicago)", "2027-03-09T10:30")
    warning = page.locator("main .alert[role=status]").filter(has_text="Microsoft Azure").first
    assert "Microsoft Azure" in warning.inner_text()
    assert page.locator("[data-testid=conflict][data-kind=double_booked]").count() == 1

    page.locator("[data-testid=mission-agenda]").first.click()
    page.wait_for_url("**/agenda")
    assert page.locator("[data-testid=agenda-conflict]").count() == 2
    assert page.locator("[data-testid=agenda-day-leg]").first.inner_text() == "Houston, Texas"
    # The demo officer lives in Casablanca: each meeting shows the officer's time beside it.
    assert page.locator("[data-testid=agenda-viewer-time]").count() == 2
    for lang in ("ar", "fr"):
        switch_language(page, lang)
        page.add_script_tag(path=str(AXE))
        assert page.evaluate(RUN_AXE) == [], lang
        screenshot(page, f"mission-agenda-{lang}")
        for path in (mission_url, f"{mission_url}/edit"):
            page.goto(path)
            page.add_script_tag(path=str(AXE))
            assert page.evaluate(RUN_AXE) == [], (lang, path)
        screenshot(page, f"mission-form-{lang}")
        page.goto(f"{mission_url}/agenda")
    assert page.evaluate("document.documentElement.dir") == "ltr"
    console.assert_clean()
