"""Phone first, checked in a real browser on a 390 x 844 phone (mobile viewport, touch) and a
1366 x 768 desk, in Arabic and French: the lead list's first card on the first screen, no
page wider than the window, one board column at a time with a stage switcher (pointer,
keyboard, no JavaScript), the lead page's sticky quick actions, 44-px touch targets and
axe-core's WCAG 2.1 AA checks on the pages laid out here. Screenshots of the lead list, a
lead, the board and the dashboard in both sizes go to ``test-artefacts/screenshots/``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import ADMIN, Console, LiveServer, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE, _violations
from tests.browser.test_screens import _wait_for_charts

pytestmark = pytest.mark.browser

LANGUAGES = ["ar", "fr"]
SIZES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desk": {"viewport": {"width": 1366, "height": 768}},
}
SHOWCASE_LEAD = "Cloud migration proposal for ADD"
# The pages that must never scroll sideways; "{lead}" is the showcase lead's id. One line
# per page: a new page joins the check with one more line.
PAGES = [
    "/today",
    "/leads",
    "/leads?stage=proposal",
    "/leads/{lead}",
    "/leads/{lead}/edit",
    "/leads/new",
    "/pipeline",
    "/pipeline?column=proposal",
    "/followups",
    "/organisations",
    "/organisations/{organisation}",
    "/contacts",
    "/contacts/{contact}",
    "/missions",
    "/missions/{mission}",
    "/dashboard",
    "/search?q=ADD",
    "/settings",
    "/digests/subscriptions",
    "/imports",
    "/notifications",
    "/admin/users",
    "/admin/activity",
    "/admin/webhooks",
    "/admin/api-tokens",
    "/admin/status",
    "/admin/outbox",
    "/admin/pipeline",
]
# The pages laid out for the phone here, checked with axe-core at both sizes.
CHANGED_PAGES = ["/leads", "/leads/{lead}", "/pipeline", "/pipeline?column=negotiation"]
TOUCH = 44
# The elements that stick out of the window sideways.
TOO_WIDE = """() => [...document.querySelectorAll('body *')]
    .filter(e => { const r = e.getBoundingClientRect();
        return r.width > 0 && (r.right > innerWidth + 1 || r.left < -1); })
    .slice(0, 8)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.'))"""
# The board columns a reader can see.
SHOWN_COLUMNS = """() => [...document.querySelectorAll('#board section.board-column')]
    .filter(c => c.checkVisibility()).map(c => c.dataset.stage)"""
# Visible controls matching a selector that are lower (or narrower) than a touch target.
SMALL_TARGETS = """([selector, size]) => [...document.querySelectorAll(selector)]
    .filter(e => e.checkVisibility())
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.height < size - .5 || r.width < size - .5)
    .map(([e, r]) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} "${e.textContent.trim().slice(0, 30)}"`
        + ` ${Math.round(r.width)}x${Math.round(r.height)}`)"""
# The same markup as macros.pager: the demo data has no list long enough for a pager.
PAGER = """() => document.querySelector('main').insertAdjacentHTML('beforeend',
    '<nav aria-label="Pages" id="pager-probe"><ul class="pagination flex-wrap">'
    + '<li class="page-item"><a class="page-link" href="?page=1">1</a></li>'
    + '<li class="page-item disabled"><span class="page-link">2 / 3</span></li>'
    + '<li class="page-item"><a class="page-link" href="?page=3">3</a></li></ul></nav>')"""


@pytest.fixture(scope="module")
def ids(live_server: LiveServer) -> dict[str, int]:
    """The showcase lead and one demo record of each kind whose page is checked."""
    from sqlmodel import select

    from crm.core.db import db
    from crm.leads.models import Lead
    from crm.missions.models import Mission
    from crm.organisations.models import Contact, Organisation

    with live_server.app.app_context():
        found = {
            name: db.session.exec(select(model.id).order_by(model.id)).first()  # type: ignore[attr-defined]
            for name, model in (("organisation", Organisation), ("contact", Contact), ("mission", Mission))
        }
        found["lead"] = db.session.exec(select(Lead.id).where(Lead.title == SHOWCASE_LEAD)).one()
    return {name: int(value) for name, value in found.items()}


@pytest.fixture
def open_as_admin(new_page: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Opens a page of the given size, logged in as the demo admin, in the given language;
    the admin's own language (English) is restored afterwards for the other tests."""
    opened: list[Any] = []

    def open_page(size: str, lang: str, **options: Any) -> Any:
        page = new_page(**SIZES[size], **options)
        login(page, ADMIN)
        _switch(page, size, lang)
        opened.append((page, size))
        return page

    yield open_page
    for page, size in opened[:1]:
        page.goto("/leads")
        _switch(page, size, "en")


def _switch(page: Any, size: str, lang: str) -> None:
    if size == "phone":  # the language buttons are behind the menu button
        page.locator("button.navbar-toggler").click()
        page.locator("#nav.show").wait_for()
    switch_language(page, lang)


def _photograph(page: Any, name: str) -> None:
    """The last step on a page: Playwright's screenshot leaves an empty style attribute on
    the inputs, which htmx would copy when it next swaps them (a CSP violation)."""
    screenshot(page, name)


def _height(page: Any) -> int:
    return int(page.evaluate("window.innerHeight"))


def _box(locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return dict(box)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_first_lead_is_on_the_first_screen(open_as_admin: Any, console: Console, lang: str, size: str) -> None:
    page = open_as_admin(size, lang)
    page.goto("/leads")
    first = page.get_by_test_id("lead-card").first
    top = _box(first)["y"]
    navbar = _box(page.locator("nav.navbar"))
    assert navbar["y"] + navbar["height"] <= top < _height(page), (top, navbar)
    assert first.is_visible() and first.locator("a.lead-link").is_visible()
    if size == "phone":
        # A compact card, not a table row: title, the two organisations, stage, next follow-up.
        assert first.evaluate("tr => getComputedStyle(tr).display") == "flex"
        assert not page.locator("#lead-table thead").is_visible()
        for shown in ("lc-title", "lc-ma", "lc-us", "lc-stage", "lc-due"):
            assert first.locator(f"td.{shown}").is_visible(), shown
        for hidden in ("lc-owner", "lc-value", "lc-updated"):
            assert not first.locator(f"td.{hidden}").is_visible(), hidden
        # The filters are folded behind their button, which opens them.
        assert not page.locator("#lead-filters").is_visible()
        toggle = page.get_by_test_id("filters-toggle")
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        page.locator("#f-stage").wait_for(state="visible")
        assert toggle.get_attribute("aria-expanded") == "true"
    else:
        assert first.evaluate("tr => getComputedStyle(tr).display") == "table-row"
        assert page.locator("#lead-table thead").is_visible()
        assert page.locator("#lead-filters").is_visible()
        assert not page.get_by_test_id("filters-toggle").is_visible()
    # Filtering counts the active filters on the button (htmx answers only the results).
    page.locator("#f-stage").select_option("proposal")
    page.wait_for_url(re.compile(r"/leads\?stage=proposal"))
    expected = "(1 actif)" if lang == "fr" else "(1 مفعّل)"
    page.wait_for_function("text => document.getElementById('filters-label').textContent.includes(text)", arg=expected)
    assert page.locator("tr.lead-card .stage-proposal").count() == page.get_by_test_id("lead-card").count() > 0
    page.goto("/leads")
    _photograph(page, f"leads-{lang}-{size}")
    console.assert_clean()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_page_scrolls_sideways(
    open_as_admin: Any, console: Console, ids: dict[str, int], lang: str, size: str
) -> None:
    page = open_as_admin(size, lang)
    problems = []
    for template in PAGES:
        path = template.format(**ids)
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        wide, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if wide > window:
            problems.append(f"{path}: {wide}px wide in a {window}px window: {page.evaluate(TOO_WIDE)}")
        if path == "/dashboard":
            _wait_for_charts(page)
            _photograph(page, f"dashboard-{lang}-{size}")
    assert problems == []
    console.assert_clean()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_board_shows_one_stage_at_a_time_on_a_phone(open_as_admin: Any, console: Console, lang: str) -> None:
    page = open_as_admin("phone", lang)
    page.goto("/pipeline")
    switcher = page.get_by_test_id("board-switcher")
    assert switcher.is_visible()
    assert page.evaluate(SHOWN_COLUMNS) == ["identified"]  # the first stage with leads
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    links = switcher.locator("a.board-switch")
    assert links.count() == 8
    # Every stage is listed with its count, the shown one marked as current.
    counts = page.locator("section.board-column [data-testid=column-count]").all_inner_texts()
    assert [link.locator(".badge").inner_text() for link in links.all()] == counts
    assert switcher.locator("a[aria-current=true]").get_attribute("data-stage") == "identified"

    # Pointer: the chosen stage's column replaces the other, and the URL names it.
    switcher.locator("a[data-stage=proposal]").click()
    assert page.evaluate(SHOWN_COLUMNS) == ["proposal"]
    assert page.url.endswith("?column=proposal")
    assert switcher.locator("a[aria-current=true]").get_attribute("data-stage") == "proposal"

    # Keyboard: the arrow keys follow the reading direction (left is forward in Arabic).
    switcher.locator("a[data-stage=proposal]").focus()
    page.keyboard.press("ArrowLeft" if lang == "ar" else "ArrowRight")
    assert page.evaluate(SHOWN_COLUMNS) == ["negotiation"]
    assert page.evaluate("document.activeElement.dataset.stage") == "negotiation"
    page.keyboard.press("ArrowRight" if lang == "ar" else "ArrowLeft")
    page.keyboard.press("Home")
    assert page.evaluate(SHOWN_COLUMNS) == ["identified"]
    page.keyboard.press("Tab")  # from the first link to the second, then Enter follows it
    page.keyboard.press("Enter")
    assert page.evaluate(SHOWN_COLUMNS) == ["contacted"]
    assert "column=contacted" in page.url

    # Moving a card keeps the shown column in view; the card counts in its new column.
    card = page.locator("section.board-column[data-stage=contacted] li.board-card").first
    lead_id = card.get_attribute("data-lead-id")
    held = int(page.locator("a.board-switch[data-stage=on_hold] .badge").inner_text())
    for shown, stage, count in (("contacted", "on_hold", held + 1), ("on_hold", "contacted", held)):  # there and back
        switcher.locator(f"a[data-stage={shown}]").click()
        page.locator(f"#card-{lead_id} [data-testid=move-open]").click()
        page.locator(f"select#move-{lead_id}").select_option(stage)
        page.locator(f"#card-{lead_id} [data-testid=move-button]").click()
        page.locator(f"li.board-card[data-lead-id='{lead_id}'][data-stage={stage}]").wait_for(state="attached")
        assert page.evaluate(SHOWN_COLUMNS) == [shown]
        assert page.locator("a.board-switch[data-stage=on_hold] .badge").inner_text() == str(count)
    page.goto("/pipeline")
    _photograph(page, f"board-{lang}-phone")
    console.assert_clean()


def test_the_stage_switcher_works_without_javascript(new_page: Callable[..., Any]) -> None:
    page = new_page(**SIZES["phone"], java_script_enabled=False)
    login(page, ADMIN)
    page.goto("/pipeline")
    with page.expect_navigation():
        page.get_by_test_id("board-switcher").locator("a[data-stage=negotiation]").click()
    assert "column=negotiation" in page.url
    assert page.evaluate(SHOWN_COLUMNS) == ["negotiation"]
    assert (
        page.get_by_test_id("board-switcher").locator("a[aria-current=true]").get_attribute("data-stage")
        == "negotiation"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_desk_board_keeps_its_columns(open_as_admin: Any, console: Console, lang: str) -> None:
    page = open_as_admin("desk", lang)
    page.goto("/pipeline?column=proposal")
    assert len(page.evaluate(SHOWN_COLUMNS)) == 8
    assert not page.get_by_test_id("board-switcher").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    _photograph(page, f"board-{lang}-desk")
    console.assert_clean()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_quick_actions_stay_at_hand_on_the_lead_page(
    open_as_admin: Any, console: Console, ids: dict[str, int], lang: str, size: str
) -> None:
    page = open_as_admin(size, lang)
    page.goto(f"/leads/{ids['lead']}")
    bar = page.get_by_test_id("lead-actionbar")
    assert bar.evaluate("e => getComputedStyle(e).position") == "sticky"
    if size == "phone":  # on top: before the lead's facts
        assert _box(bar)["y"] + _box(bar)["height"] <= _box(page.locator("#lead-facts"))["y"]
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("window.scrollY > 300")
    box = _box(bar)
    assert -1 <= box["y"] <= 1 and bar.is_visible(), box
    for testid, details, field in (
        ("bar-stage", "#action-stage", "#stage-stage"),
        ("bar-followup", "#action-followup", "#followup-title"),
        ("bar-note", "#action-log", "#activity-body"),
    ):
        bar.get_by_test_id(testid).click()
        assert page.locator(details).evaluate("d => d.open")
        page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=field[1:])
        # The form comes into view (scrolling smoothly) below the bar, not under it.
        page.wait_for_function(
            """([bar, details]) => {
                const top = document.querySelector(details).getBoundingClientRect().top;
                return document.querySelector(bar).getBoundingClientRect().bottom - 1 <= top && top < innerHeight;
            }""",
            arg=["[data-testid=lead-actionbar]", details],
        )
        assert -1 <= _box(bar)["y"] <= 1
    # The bar's follow-up form is the existing htmx form: scheduling redraws the page part.
    page.get_by_test_id("bar-followup").click()
    page.locator("#followup-title").fill(f"Phone check {lang} {size}")
    page.locator("#followup-due_local").fill("2031-05-04T09:00")
    page.get_by_test_id("schedule-followup").click()
    done = page.locator("#lead-followups li[data-followup-id]", has_text=f"Phone check {lang} {size}")
    done.wait_for()
    done.get_by_test_id("followup-cancel").click()  # the demo lead stays as it was
    done.wait_for(state="detached")
    assert page.get_by_test_id("lead-actionbar").is_visible()
    page.goto(f"/leads/{ids['lead']}")
    _photograph(page, f"lead-{lang}-{size}")
    console.assert_clean()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_touch_targets_are_44_px_on_a_phone(
    open_as_admin: Any, console: Console, ids: dict[str, int], lang: str
) -> None:
    page = open_as_admin("phone", lang)
    checks = {
        "/leads": ["main .btn", "#lead-table tr.lead-card"],
        f"/leads/{ids['lead']}": ["main .btn", "main summary", "[data-testid=lead-actionbar] a"],
        "/pipeline": ["main .btn", "a.board-switch", "a.board-card-title", "main select"],
        "/organisations": ["main .btn", "main table td a"],
        f"/missions/{ids['mission']}": ["main .btn", "main li > a"],
        "/admin/activity": ["main .btn", "main summary"],
    }
    problems = []
    for path, selectors in checks.items():
        page.goto(path)
        for selector in selectors:
            assert page.locator(selector).count() > 0, f"{path}: nothing matches {selector}"
            problems += [f"{path} {selector}: {small}" for small in page.evaluate(SMALL_TARGETS, [selector, TOUCH])]
    # The whole lead card is its title link's target.
    page.goto("/leads")
    card = page.get_by_test_id("lead-card").first
    box = _box(card)
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('a')?.className ?? ''",
        [box["x"] + box["width"] - 12, box["y"] + box["height"] - 8],
    )
    assert "lead-link" in hit, hit
    # The pager's links.
    page.evaluate(PAGER)
    problems += page.evaluate(SMALL_TARGETS, ["#pager-probe .page-link", TOUCH])
    # The navbar: its toggler, and once open its links and buttons.
    problems += page.evaluate(SMALL_TARGETS, [".navbar-toggler", TOUCH])
    page.locator("button.navbar-toggler").click()
    page.locator("#nav.show").wait_for()
    page.wait_for_function("!document.querySelector('#nav.collapsing')")
    problems += page.evaluate(SMALL_TARGETS, ["#nav .nav-link, #nav .btn, .navbar-brand", TOUCH])
    assert problems == []
    # The opened menu fits the window: nothing sticks out sideways.
    assert page.evaluate(TOO_WIDE) == []
    console.assert_clean()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_phone_layout_passes_the_wcag_aa_checks(
    open_as_admin: Any, ids: dict[str, int], lang: str, size: str
) -> None:
    assert AXE.exists(), "axe-core is missing: run `npm ci` (make test does)"
    page = open_as_admin(size, lang, bypass_csp=True)
    problems = []
    for template in CHANGED_PAGES:
        problems += _violations(page, template.format(**ids))
    if size == "phone":  # the filters, once unfolded
        page.goto("/leads")
        page.get_by_test_id("filters-toggle").click()
        page.locator("#f-stage").wait_for(state="visible")
        page.mouse.move(1, 1)  # off the toggle, whose colours then ease back: axe reads them settled
        page.wait_for_function("document.getAnimations().length === 0")
        page.add_script_tag(path=str(AXE))
        problems += [{"page": "/leads (filters open)", **v} for v in page.evaluate(RUN_AXE)]
    assert problems == [], "\n".join(
        f"{p['page']}: {p['rule']} ({p['impact']}) {p['help']} at {p['where']}" for p in problems
    )
