"""The main screens in Arabic and French, photographed for review under
``test-artefacts/screenshots/``, and the same screens on a 375-px-wide phone: no sideways
scrolling of the page, and the main heading in view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import ADMIN, Console, LiveServer, login, screenshot, switch_language

pytestmark = pytest.mark.browser

LANGUAGES = ["ar", "fr"]
PHONE_WIDTH = 375
DESKTOP_WIDTH = 1280  # the page fixture's viewport
SHOWCASE_LEAD = "Cloud migration proposal for ADD"
# The first elements of the page that stick out of a viewport ``limit`` pixels wide.
TOO_WIDE = """limit => [...document.querySelectorAll('body *')]
    .filter(e => { const r = e.getBoundingClientRect(); return r.right > limit + 1 || r.left < -1; })
    .slice(0, 8)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.'))"""


@pytest.fixture(scope="module")
def showcase_lead_id(live_server: LiveServer) -> int:
    """A demo lead with activities, follow-ups and stage changes on its page."""
    from sqlmodel import select

    from crm.core.db import db
    from crm.leads.models import Lead

    with live_server.app.app_context():
        lead = db.session.exec(select(Lead).where(Lead.title == SHOWCASE_LEAD)).one()
        return int(lead.id)


def _screens(lead_id: int) -> dict[str, str]:
    return {
        "leads": "/leads",
        "lead": f"/leads/{lead_id}",
        "pipeline": "/pipeline",
        "dashboard": "/dashboard",
        "new-mission": "/missions/new",
        "activity-log": "/admin/activity",
        "settings": "/settings",
        "delete-lead": f"/leads/{lead_id}/delete",
    }


def _wait_for_charts(page: Any) -> None:
    """Chart.js has drawn every canvas of the dashboard (it animates; screenshots wait)."""
    page.wait_for_function(
        "[...document.querySelectorAll('canvas[data-chart]')].every(c => window.Chart && window.Chart.getChart(c))"
    )
    page.evaluate("Object.values(window.Chart.instances).forEach(c => { c.stop(); c.update('none'); })")


def _check_page(page: Any, lang: str) -> None:
    html = page.locator("html")
    assert html.get_attribute("lang") == lang
    assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    assert page.locator("main h1").first.is_visible()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_main_screens_render_in_each_language_without_sideways_scrolling(
    page: Any, console: Console, showcase_lead_id: int, lang: str
) -> None:
    login(page, ADMIN)
    switch_language(page, lang)
    for name, path in _screens(showcase_lead_id).items():
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        _check_page(page, lang)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= DESKTOP_WIDTH + 1, f"{path} is {width}px wide: {page.evaluate(TOO_WIDE, DESKTOP_WIDTH)}"
        if name == "dashboard":
            _wait_for_charts(page)
        screenshot(page, f"{lang}-{name}")
    console.assert_clean()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_administration_menu_opens_inside_the_window_and_leads_to_its_pages(
    page: Any, console: Console, lang: str
) -> None:
    login(page, ADMIN)
    switch_language(page, lang)
    page.goto("/leads")
    page.get_by_test_id("nav-admin").click()
    item = page.get_by_test_id("nav-webhooks")
    item.wait_for(state="visible")
    menu = page.locator(".navbar .dropdown-menu.show").bounding_box()
    assert menu is not None and menu["x"] >= 0 and menu["x"] + menu["width"] <= DESKTOP_WIDTH + 1, menu
    screenshot(page, f"{lang}-admin-menu")
    item.click()
    page.wait_for_url("**/admin/webhooks**")
    _check_page(page, lang)
    console.assert_clean()


def test_dashboard_charts_have_data(page: Any, console: Console) -> None:
    """Every chart of the demo dashboard is drawn with at least one non-zero value."""
    login(page, ADMIN)
    page.goto("/dashboard")
    _wait_for_charts(page)
    totals = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('canvas[data-chart]')].map(c => [
            c.dataset.chart,
            window.Chart.getChart(c).data.datasets.flatMap(d => d.data).reduce((a, b) => a + Number(b), 0),
        ]))"""
    )
    assert totals and all(total > 0 for total in totals.values()), totals
    console.assert_clean()


def test_chart_numbers_are_grouped_as_the_tables_group_them(page: Any, console: Console) -> None:
    """French groups thousands with a narrow no-break space in the tables (Babel); the
    charts' axes say the same, whatever locale data the browser carries."""
    login(page, ADMIN)
    switch_language(page, "fr")
    page.goto("/dashboard")
    _wait_for_charts(page)
    ticks = page.evaluate(
        """() => Object.values(window.Chart.getChart(document.querySelector('canvas[data-chart="pipeline-value"]'))
            .scales).flatMap(s => s.ticks.map(t => String(t.label)))"""
    )
    big = [t for t in ticks if sum(c.isdigit() for c in t) > 4]
    assert big and all("\u202f" in t and "." not in t for t in big), ticks
    console.assert_clean()


@pytest.fixture
def phone(new_page: Callable[..., Any]) -> Any:
    """A page on a 375-px-wide phone screen (mobile viewport, touch)."""
    return new_page(
        viewport={"width": PHONE_WIDTH, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_screens_fit_a_375_px_phone(phone: Any, console: Console, showcase_lead_id: int, lang: str) -> None:
    login(phone, ADMIN)
    # On a phone the navbar is collapsed: the language buttons are behind the menu button.
    phone.locator("button.navbar-toggler").click()
    phone.locator("#nav.show").wait_for()
    switch_language(phone, lang)
    problems = []
    for name, path in _screens(showcase_lead_id).items():
        phone.goto(path)
        _check_page(phone, lang)
        if name == "dashboard":
            _wait_for_charts(phone)
        screenshot(phone, f"mobile-{lang}-{name}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE_WIDTH + 1:
            wide = phone.evaluate(TOO_WIDE, PHONE_WIDTH)
            problems.append(f"{path}: the page is {width}px wide; too wide: {wide}")
        heading = phone.locator("main h1").first
        box = heading.bounding_box()
        if not heading.is_visible() or box is None or box["x"] < -1 or box["x"] + box["width"] > PHONE_WIDTH + 1:
            problems.append(f"{path}: the main heading is not in view ({box})")
    assert problems == []
    console.assert_clean()
