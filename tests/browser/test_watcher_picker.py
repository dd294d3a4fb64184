"""The lead page's "add a watcher" control in a real browser: the lead's owner types a
colleague's name (an Arabic name in the Arabic interface, a Latin one in the French),
chooses it with the keyboard and adds the watcher without leaving the page; without
JavaScript the same select and button still add one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import OFFICER, LiveServer, login, screenshot, switch_language
from tests.browser.test_pickers import SIZES, pick

pytestmark = pytest.mark.browser

FIELD = "watcher-user_id"


def _fresh_lead(live_server: LiveServer, title: str) -> int:
    """A lead the demo officer owns, nobody watching it yet (between two demo
    organisations, so that the other tests' lists of organisations stay as they were)."""
    from sqlmodel import select

    from crm.accounts.models import User
    from crm.core.db import db
    from crm.organisations.models import Organisation
    from tests.factories import make_lead

    with live_server.app.app_context():
        officer = db.session.exec(select(User).where(User.email == OFFICER)).one()
        ma, us = (
            db.session.exec(select(Organisation.id).where(Organisation.acronym == a)).one() for a in ("ADD", "AWS")
        )
        lead = make_lead(db.session, owner=officer, title=title, ma_organisation_id=ma, us_organisation_id=us)
        db.session.commit()
        return int(lead.id)


def _user_id(live_server: LiveServer, email: str) -> int:
    from sqlmodel import select

    from crm.accounts.models import User
    from crm.core.db import db

    with live_server.app.app_context():
        return int(db.session.exec(select(User).where(User.email == email)).one().id)


@pytest.mark.parametrize(
    ("lang", "size", "typed", "shown", "email"),
    [
        ("ar", "phone", "عمر الادريسي", "عمر الإدريسي", "viewer@jisr.example"),  # hamza typed without it
        ("ar", "desk", "عمر", "عمر الإدريسي", "viewer@jisr.example"),
        ("fr", "desk", "hayes", "Jonathan Hayes", "programme@jisr.example"),
        ("fr", "phone", "Jonathan", "Jonathan Hayes", "programme@jisr.example"),
    ],
)
def test_the_owner_adds_a_watcher_by_typing_a_name(
    new_page: Any, console: Any, live_server: LiveServer, lang: str, size: str, typed: str, shown: str, email: str
) -> None:
    lead_id = _fresh_lead(live_server, f"Watcher picker {lang} {size}")
    watcher = _user_id(live_server, email)
    page = new_page(viewport=SIZES["desk"])
    login(page, OFFICER)
    switch_language(page, lang)
    page.set_viewport_size(SIZES[size])
    page.goto(f"/leads/{lead_id}")
    control = page.locator(f"#{FIELD}-ts-control")
    assert control.get_attribute("role") == "combobox"
    assert page.locator(f"select#{FIELD}").get_attribute("aria-hidden") == "true"
    pick(page, FIELD, typed, shown)
    assert page.locator(f"#{FIELD}").evaluate("s => s.value") == str(watcher)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/watchers")) as answer:
        page.locator("#add-watcher button").click()
    assert answer.value.status == 200
    added = page.locator(f"[data-testid=lead-watchers] [data-watcher-id='{watcher}']")
    added.wait_for()
    assert shown in added.inner_text()
    # After the swap the fresh form has its picker again, once.
    page.locator(f"#{FIELD}-ts-control").wait_for()
    assert page.locator("#add-watcher .ts-wrapper").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, f"watcher-picker-{lang}-{size}")
    console.assert_clean()


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_without_javascript_the_select_still_adds_a_watcher(new_page: Any, live_server: LiveServer, lang: str) -> None:
    lead_id = _fresh_lead(live_server, f"Watcher without JavaScript {lang}")
    watcher = _user_id(live_server, "programme@jisr.example")
    page = new_page(java_script_enabled=False, viewport=SIZES["desk"])
    login(page, OFFICER)
    switch_language(page, lang)
    page.set_viewport_size(SIZES["phone"])
    page.goto(f"/leads/{lead_id}")
    assert page.locator(f"#{FIELD}-ts-control").count() == 0
    page.locator(f"select#{FIELD}").select_option(str(watcher))
    page.locator("#add-watcher button").click()
    page.wait_for_url(f"**/leads/{lead_id}")
    assert page.locator(f"[data-testid=lead-watchers] [data-watcher-id='{watcher}']").count() == 1
