"""The lead list's sort control on a phone (390 x 844), in Arabic and French: the desk
table's headers are hidden behind the cards, so a small form offers the same orders; it
re-sorts the cards in place (htmx), keeps the filters, stays on the first screen with the
first card, and works without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Console, screenshot
from tests.browser.test_phone import SIZES, SMALL_TARGETS, TOUCH, _box, _height
from tests.browser.test_phone import open_as_admin as open_as_admin  # the fixture

pytestmark = pytest.mark.browser

ORDERS = ["title", "stage", "owner", "value", "next_due", "updated"]  # the desk table's sortable headers


def _titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("tr.lead-card a.lead-link").all_inner_texts()]


def _server_order(page: Any, query: str) -> list[str]:
    """The titles in the order the server sorts ``query`` (the desk's header links)."""
    other = page.context.new_page()
    other.goto(f"/leads?{query}")
    titles = _titles(other)
    other.close()
    return titles


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_phone_sorts_the_cards_with_the_desk_orders(open_as_admin: Any, console: Console, lang: str) -> None:
    page = open_as_admin("phone", lang)
    page.goto("/leads?stage=proposal&stage=negotiation&stage=identified&stage=contacted")
    control = page.get_by_test_id("lead-sort")
    assert control.is_visible()
    assert page.locator("#sort-by option").evaluate_all("os => os.map(o => o.value)") == ORDERS
    labels = page.locator("#sort-by option").all_inner_texts()
    desk = [t.strip() for t in page.locator("#lead-table thead a.sort-link").all_text_contents()]
    assert [t.strip() for t in labels] == desk  # the same words as the desk's headers
    # Small enough that the first card is still on the first screen, big enough to touch.
    first = _box(page.get_by_test_id("lead-card").first)
    assert first["y"] < _height(page)
    assert page.evaluate(SMALL_TARGETS, ["[data-testid=lead-sort] select, [data-testid=lead-sort] .btn", TOUCH]) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    for sort, order in (("title", "asc"), ("value", "desc"), ("next_due", "asc")):
        # Each change re-sorts at once (htmx); the second waits for the first's answer.
        for select, value in (("#sort-by", sort), ("#sort-order", order)):
            if page.locator(select).evaluate("s => s.value") != value:
                # Mark the control: the answer swaps in a new form, and the next change must
                # reach the new one, not the one being replaced.
                page.locator(select).evaluate("s => { s.dataset.before = '1'; }")
                with page.expect_response(
                    lambda r: "/leads?" in r.url and r.request.headers.get("hx-request") == "true"
                ):
                    page.locator(select).select_option(value)
                page.wait_for_function(
                    "id => !document.getElementById(id)?.dataset.before"
                    " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')",
                    arg=select[1:],
                )
        page.wait_for_url(re.compile(rf"sort={sort}&order={order}"))
        page.wait_for_function(
            "([s, o]) => document.getElementById('sort-by')?.value === s"
            " && document.getElementById('sort-order')?.value === o",
            arg=[sort, order],
        )
        assert "stage=proposal" in page.url and "stage=identified" in page.url  # the filters stay
        query = page.url.split("?", 1)[1]
        assert _titles(page) == _server_order(page, query), (sort, order)
    console.assert_clean()
    # Last: a full-page screenshot leaves empty style attributes on the inputs, which htmx
    # would then copy onto the swapped ones (and the page's CSP refuse).
    screenshot(page, f"leads-sort-{lang}-phone")


def test_the_sort_control_works_without_javascript(new_page: Callable[..., Any]) -> None:
    from tests.browser.conftest import ADMIN, login

    page = new_page(**SIZES["desk"], java_script_enabled=False)
    login(page, ADMIN)
    page.set_viewport_size(SIZES["phone"]["viewport"])
    page.goto("/leads?stage=proposal&stage=identified")
    page.locator("#sort-by").select_option("title")
    page.locator("#sort-order").select_option("desc")
    with page.expect_navigation():
        page.get_by_test_id("apply-sort").click()
    assert "sort=title" in page.url and "order=desc" in page.url and "stage=proposal" in page.url
    titles = _titles(page)
    assert titles == _server_order(page, "stage=proposal&stage=identified&sort=title&order=desc") and len(titles) > 1


def test_the_desk_keeps_its_sortable_headers_only(open_as_admin: Any) -> None:
    page = open_as_admin("desk", "fr")
    page.goto("/leads")
    assert not page.get_by_test_id("lead-sort").is_visible()
    assert page.locator("#lead-table thead a.sort-link").count() == len(ORDERS)
