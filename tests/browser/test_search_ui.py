"""The navbar's search in a real browser, in Arabic and in French: an acronym and an
Arabic name written with the article both list the organisation's leads, each once,
named in the reader's language; the results page passes axe-core's WCAG 2.1 AA checks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import OFFICER, LiveServer, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
# ADD's Arabic name is "وكالة التنمية الرقمية"; typed with the article on the first word.
WITH_ARTICLE = "الوكالة الرقمية"


@pytest.fixture(scope="module")
def add(live_server: LiveServer) -> dict[str, Any]:
    """ADD, and the ids of the leads the demo officer sees through it (newest first)."""
    from sqlmodel import col, or_, select

    from crm.accounts.models import User
    from crm.core.db import db
    from crm.leads.models import Lead
    from crm.leads.queries import visible_to
    from crm.organisations.models import Organisation

    with live_server.app.app_context():
        org = db.session.exec(select(Organisation).where(Organisation.acronym == "ADD")).one()
        officer = db.session.exec(select(User).where(User.email == OFFICER)).one()
        leads = db.session.exec(
            select(Lead.id)
            .where(or_(Lead.ma_organisation_id == org.id, Lead.us_organisation_id == org.id), visible_to(officer))
            .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())
        ).all()
        return {"id": org.id, "name_ar": org.name_ar, "name_fr": org.name_fr, "leads": [int(i) for i in leads]}


def _search(page: Any, query: str) -> None:
    box = page.locator("#nav-search-q")
    box.fill(query)
    with page.expect_navigation(wait_until="load"):
        box.press("Enter")
    assert "/search?q=" in page.url


def _lead_ids(page: Any) -> list[int]:
    items = page.locator("[data-testid=search-leads] [data-testid=search-result][data-kind=lead]")
    return [int(items.nth(i).get_attribute("data-id")) for i in range(items.count())]


def _axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return found


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_acronym_and_an_arabic_name_with_the_article_list_the_leads(
    new_page: Any, add: dict[str, Any], lang: str
) -> None:
    assert add["leads"], "the demo has leads with ADD"
    assert AXE.exists(), "axe-core is missing: run `npm ci` (make test does)"
    page = new_page(viewport=DESKTOP, bypass_csp=True)  # CSP set aside only to inject axe-core
    login(page, OFFICER)
    switch_language(page, lang)
    try:
        for query in ("ADD", WITH_ARTICLE):
            _search(page, query)
            assert page.locator("html").get_attribute("lang") == lang
            shown = _lead_ids(page)
            assert shown == add["leads"][:20], query  # every lead of ADD, newest first, each once
            org = page.locator(f"[data-testid=search-result][data-kind=organisation][data-id='{add['id']}']")
            assert org.count() == 1
            name = org.locator("[data-testid=search-organisation-name]").inner_text()
            expected = add["name_ar"] if lang == "ar" else add["name_fr"]
            assert name == f"ADD — {expected}", name
            # Each organisation name and acronym is isolated from the text around it.
            assert org.locator("bdi").first.inner_text() == "ADD"
            first_lead = page.locator("[data-testid=search-leads] [data-testid=search-result]").first
            assert first_lead.locator("[data-testid=search-lead-organisations] bdi").count() >= 2
            assert page.locator("#search-page-q").input_value() == query
            count = page.locator("#search-leads-group [data-testid=search-group-count]").inner_text()
            assert count.strip() != ""
            no_sideways = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert no_sideways
            problems = _axe(page)
            assert problems == [], f"{lang} {query}: {problems}"
        screenshot(page, f"search-{lang}-desktop")
    finally:
        switch_language(page, "fr")  # the demo officer's own language again, for the other tests


def test_the_results_fit_a_phone(new_page: Any, add: dict[str, Any]) -> None:
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    login(page, OFFICER)
    page.goto("/search?q=" + WITH_ARTICLE)
    assert _lead_ids(page) == add["leads"][:20]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "search-fr-phone")
