"""Pipeline economics in a real browser, in Arabic and French, on a desk and on a phone: the
totals under the lead list and on the board's columns, the figure converted at the reference
rate marked approximate, and the administrators' settings page (axe-clean)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ADMIN, OFFICER, LiveServer, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser

SIZES = {"desk": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def reference_rate(live_server: LiveServer) -> None:
    """The demo with a reference rate of 1 USD = 10.05 MAD, set as an administrator sets it."""
    from sqlmodel import select

    from crm.accounts.models import User
    from crm.core.db import db
    from crm.pipeline.operations import set_reference_rate

    with live_server.app.app_context():
        admin = db.session.exec(select(User).where(User.email == ADMIN)).one()
        set_reference_rate(db.session, "10.05", actor=admin)
        db.session.commit()


def _language_of(live_server: LiveServer, email: str) -> str:
    from sqlmodel import select

    from crm.accounts.models import User
    from crm.core.db import db

    with live_server.app.app_context():
        return str(db.session.exec(select(User.language).where(User.email == email)).one())


def _fits(page: Any, locator: Any, size: dict[str, int]) -> None:
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    assert box["x"] >= -1 and box["x"] + box["width"] <= size["width"] + 1, box
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("language", ["ar", "fr"])
def test_totals_under_the_list_and_on_the_board(
    new_page: Any, live_server: LiveServer, reference_rate: None, language: str, size: str
) -> None:
    viewport = SIZES[size]
    own = _language_of(live_server, OFFICER)
    page = new_page(viewport=SIZES["desk"])
    login(page, OFFICER)
    switch_language(page, language)  # from the desk's navbar, then the phone's size
    page.set_viewport_size(viewport)
    try:
        _check_totals(page, viewport, language, size)
    finally:
        page.set_viewport_size(SIZES["desk"])
        switch_language(page, own)  # the officer's own language again, for the other tests


def _check_totals(page: Any, viewport: dict[str, int], language: str, size: str) -> None:
    page.goto("/leads")
    totals = page.locator("[data-testid=lead-totals]")
    _fits(page, totals, viewport)
    assert int(totals.get_attribute("data-count") or 0) > 0
    assert totals.locator("[data-testid^=totals-value-]").count() >= 1
    converted = totals.locator("[data-testid=totals-converted-MAD] [data-testid=approx-MAD]").first
    assert converted.is_visible()
    assert converted.inner_text().startswith("≈")
    title = converted.get_attribute("title") or ""
    assert "USD" in title and "MAD" in title and "10" in title
    screenshot(page, f"economics-list-totals-{language}-{size}")

    page.goto("/pipeline")
    columns = page.locator("[data-testid=column-totals]")
    assert columns.count() == 8
    shown = [columns.nth(i) for i in range(columns.count()) if columns.nth(i).is_visible()]
    assert shown, "no column shows its totals"
    # The board's own width is the layout's business; the totals stay inside their column.
    column = page.locator("section.board-column:has([data-testid^=column-totals-])").first
    column.scroll_into_view_if_needed()
    outer, inner = column.bounding_box(), column.locator("[data-testid=column-totals]").bounding_box()
    assert outer is not None and inner is not None and inner["height"] > 0
    assert outer["x"] - 1 <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
    screenshot(page, f"economics-board-totals-{language}-{size}")


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_the_settings_page_is_accessible_and_saves_the_rate(
    new_page: Any, live_server: LiveServer, reference_rate: None, language: str
) -> None:
    own = _language_of(live_server, ADMIN)
    page = new_page(viewport=SIZES["desk"], bypass_csp=True)  # axe-core is injected into the page
    login(page, ADMIN)
    switch_language(page, language)
    try:
        _check_settings(page, language)
    finally:
        switch_language(page, own)


def _check_settings(page: Any, language: str) -> None:
    response = page.goto("/admin/pipeline")
    assert response is not None and response.status == 200
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(RUN_AXE)
    assert violations == [], violations
    screenshot(page, f"economics-settings-{language}")

    page.goto("/admin/pipeline")
    page.fill("[data-testid=stage-probability-proposal]", "150")
    page.locator("[data-testid=save-pipeline-settings]").click()
    page.wait_for_load_state("load")
    error = page.locator(".invalid-feedback").first
    assert error.is_visible()
    expected = {"ar": "أدخل عددًا صحيحًا من 0 إلى 100.", "fr": "Saisissez un nombre entier de 0 à 100."}[language]
    assert error.inner_text().strip() == expected

    page.goto("/admin/pipeline")
    page.fill("[data-testid=reference-rate]", "10.05")
    page.locator("[data-testid=save-pipeline-settings]").click()
    page.wait_for_url("**/admin/pipeline")
    assert page.locator("[data-testid=reference-rate]").input_value() == "10.05"
    assert page.locator("[data-testid=reference-rate-current]").inner_text().count("USD") == 1
