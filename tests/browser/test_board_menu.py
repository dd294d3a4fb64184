"""The board's one "move to" form in a real browser: no card carries a form until its
"Move to…" is pressed, the form then opens in that card only (one at a time), Escape
closes it and gives the focus back, and moving with it redraws the board with the card
in its new column, in Arabic on a phone and in French on a desk."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import OFFICER, Console, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE
from tests.browser.test_pickers import SIZES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("lang", "size"), [("ar", "phone"), ("fr", "desk")])
def test_the_one_move_form_opens_in_a_card_and_moves_it(new_page: Any, console: Console, lang: str, size: str) -> None:
    page = new_page(viewport=SIZES["desk"])
    login(page, OFFICER)
    switch_language(page, lang)
    page.set_viewport_size(SIZES[size])
    page.goto("/pipeline?column=identified")
    cards = page.locator("section.board-column[data-stage=identified] li.board-card")
    assert cards.count() >= 2
    assert page.locator("#board form.board-move").count() == 0  # only in the <template>
    assert page.locator("#board template#board-move-menu").count() == 1
    first, second = cards.nth(0).get_attribute("data-lead-id"), cards.nth(1).get_attribute("data-lead-id")

    page.locator(f"#card-{first} [data-testid=move-open]").click()
    select = page.locator(f"select#move-{first}")
    assert select.evaluate("s => s.value") == "identified"
    assert page.evaluate("document.activeElement.id") == f"move-{first}"
    assert page.locator(f"label[for=move-{first}]").inner_text().strip() != ""
    # Another card's menu closes the first: one form on the page at a time.
    page.locator(f"#card-{second} [data-testid=move-open]").click()
    assert page.locator("#board form.board-move").count() == 1 and select.count() == 0
    page.keyboard.press("Escape")
    assert page.locator("#board form.board-move").count() == 0
    assert page.evaluate("document.activeElement.id") == f"move-open-{second}"

    # There and back, so that the demo data stays as it was.
    for origin, stage in (("identified", "on_hold"), ("on_hold", "identified")):
        if size == "phone":  # one column at a time: show the card's own
            page.locator(f"a.board-switch[data-stage={origin}]").click()
        page.locator(f"#card-{first} [data-testid=move-open]").click()
        if stage == "on_hold":
            screenshot(page, f"board-move-menu-{lang}-{size}")
        page.locator(f"select#move-{first}").select_option(stage)
        with page.expect_response(lambda r: r.request.method == "POST" and "/move" in r.url) as answer:
            page.locator(f"#card-{first} [data-testid=move-button]").click()
        assert answer.value.status == 200
        page.locator(f"section.board-column[data-stage={stage}] li.board-card[data-lead-id='{first}']").wait_for(
            state="attached"
        )
        if size == "desk":  # the moved card's "Move to…" has the focus (on a phone its column is not shown)
            page.wait_for_function("id => document.activeElement?.id === id", arg=f"move-open-{first}")
        else:  # the phone keeps showing the column it showed
            assert page.locator("#board").get_attribute("data-shown") == origin
        assert page.locator("#board form.board-move").count() == 0
        assert page.locator("#board template#board-move-menu").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    console.assert_clean()


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_board_with_a_move_form_open_passes_axe(new_page: Any, lang: str) -> None:
    page = new_page(bypass_csp=True, viewport=SIZES["desk"])
    login(page, OFFICER)
    switch_language(page, lang)
    page.goto("/pipeline")
    card = page.locator("li.board-card").first
    card.locator("[data-testid=move-open]").click()
    card.locator("form.board-move select").wait_for()
    page.add_script_tag(path=str(AXE))
    problems = page.evaluate(RUN_AXE)
    assert problems == [], "\n".join(f"{p['rule']} ({p['impact']}) {p['help']} at {p['where']}" for p in problems)
