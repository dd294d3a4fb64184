"""Today in a real browser, in Arabic and French, on a 1366×768 screen and a 390×844 phone:
an officer lands on it after login, closes a follow-up with the next one scheduled and
snoozes another; no page scrolls sideways, the row actions are big enough to touch on a
phone, axe-core finds nothing; and a new officer, in Arabic on a phone, goes from the
login page to "done, the next one scheduled" well within 30 seconds."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser

SIZES = {"desk": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
LOCALES = {"ar": "ar-MA", "fr": "fr-FR"}
_seq = itertools.count(1)


def _officer_with_followups(live_server: LiveServer, language: str) -> tuple[str, int, int]:
    """A new officer (saved language ``language``) with a lead and two overdue follow-ups."""
    from crm.core.db import db
    from crm.core.time import to_local, utcnow
    from tests.factories import PASSWORD, make_followup, make_lead, make_user

    email = f"today{next(_seq)}-{language}@jisr.example"
    with live_server.app.app_context():
        officer = make_user(db.session, email=email, name="Nadia Alaoui", language=language)
        lead = make_lead(db.session, owner=officer, title="Cloud training for the agency")
        wall = to_local(utcnow() - timedelta(hours=3), "Africa/Casablanca").replace(
            tzinfo=None, second=0, microsecond=0
        )
        first = make_followup(db.session, lead, wall, title="Send the proposal")
        second = make_followup(db.session, lead, wall + timedelta(minutes=30), title="Call the US partner")
        db.session.commit()
        ids = (int(first.id or 0), int(second.id or 0))
    assert PASSWORD
    return email, *ids


def _state(live_server: LiveServer, followup_id: int) -> tuple[str, datetime]:
    from crm.core.db import db
    from crm.followups.models import FollowUp

    with live_server.app.app_context():
        followup = db.session.get(FollowUp, followup_id)
        assert followup is not None
        return followup.status.value, followup.due_local


def _next_of(live_server: LiveServer, followup_id: int) -> Any:
    from sqlmodel import col, select

    from crm.core.db import db
    from crm.followups.models import FollowUp

    with live_server.app.app_context():
        done = db.session.get(FollowUp, followup_id)
        assert done is not None
        return db.session.exec(
            select(FollowUp)
            .where(FollowUp.lead_id == done.lead_id, col(FollowUp.id) > followup_id)
            .order_by(col(FollowUp.id).desc())
        ).first()


def _log_in(page: Any, email: str, lang: str) -> None:
    from tests.factories import PASSWORD

    page.goto("/login")
    if page.evaluate("document.documentElement.lang") != lang:
        toggler = page.locator("nav .navbar-toggler")
        if toggler.is_visible():  # a phone: the languages are in the collapsed menu
            toggler.click()
            page.locator(f"nav form button[name=language][value={lang}]").wait_for(state="visible")
        switch_language(page, lang)
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/today")


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide in a {width[1]} px window"


def _touch_targets(page: Any, row: Any) -> None:
    for target in row.locator(".today-btn").all():
        if target.is_visible():
            box = target.bounding_box()
            assert box is not None and box["height"] >= 44, f"{target.inner_text()!r}: {box}"


@pytest.mark.parametrize("size", ["desk", "phone"])
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_today_lands_closes_with_the_next_and_snoozes(
    new_page: Any, live_server: LiveServer, lang: str, size: str
) -> None:
    email, first, second = _officer_with_followups(live_server, lang)
    phone = size == "phone"
    page = new_page(viewport=SIZES[size], locale=LOCALES[lang], is_mobile=phone, has_touch=phone, bypass_csp=True)
    _log_in(page, email, lang)
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.locator("[data-group=overdue] [data-testid=today-row]").count() == 2
    badge = page.locator("#nav-today-count .badge")
    assert badge.inner_text() in ("2", "٢")
    _no_sideways_scroll(page)
    row = page.locator(f'[data-followup-id="{first}"]')
    if phone:
        _touch_targets(page, row)
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(RUN_AXE) == []
    screenshot(page, f"today-{lang}-{size}")

    # Done + the next one: the form is prefilled a week later at the same hour.
    row.locator("[data-testid=today-next] summary").click()
    due = row.locator(f"#n{first}-due_local").input_value()
    status, was = _state(live_server, first)
    assert datetime.fromisoformat(due).time() == was.time().replace(second=0)
    if phone:
        _touch_targets(page, row)
    _no_sideways_scroll(page)
    row.locator("[data-testid=today-next-submit]").click()
    page.locator("[data-testid=today-message]").wait_for()
    assert _state(live_server, first)[0] == "done"
    nxt = _next_of(live_server, first)
    assert nxt is not None and nxt.due_local == datetime.fromisoformat(due) and nxt.status.value == "open"
    assert page.locator("#nav-today-count .badge").count() == 1  # one left overdue

    # Snooze the other to tomorrow: it leaves the overdue group, the badge goes.
    other = page.locator(f'[data-followup-id="{second}"]')
    other.locator("[data-testid=today-snooze] summary").click()
    if phone:
        _touch_targets(page, other)
    _no_sideways_scroll(page)
    other.locator("[data-testid=today-snooze-day]").click()
    page.wait_for_function("() => !document.querySelector('#nav-today-count .badge')")
    status, due_local = _state(live_server, second)
    assert status == "open" and due_local.date() > datetime.now().date() - timedelta(days=1)
    assert page.locator("[data-group=overdue]").count() == 0
    _no_sideways_scroll(page)


def test_a_new_officer_in_arabic_on_a_phone_closes_and_schedules_the_next_in_seconds(
    new_page: Any, live_server: LiveServer
) -> None:
    """From the login page (the officer's account and phone say French; they tap Arabic
    there) to "done, the next one scheduled", without sideways scrolling, well under 30 s."""
    email, first, _second = _officer_with_followups(live_server, "fr")
    page = new_page(viewport=SIZES["phone"], locale="fr-FR", is_mobile=True, has_touch=True)
    started = time.monotonic()
    _log_in(page, email, "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.locator("[data-testid=keep-language]").is_visible()  # offered, not forced
    _no_sideways_scroll(page)
    row = page.locator(f'[data-followup-id="{first}"]')
    row.locator("[data-testid=today-next] summary").click()
    _no_sideways_scroll(page)
    row.locator("[data-testid=today-next-submit]").click()
    page.locator("[data-testid=today-message]").wait_for()
    elapsed = time.monotonic() - started
    _no_sideways_scroll(page)
    assert _state(live_server, first)[0] == "done" and _next_of(live_server, first) is not None
    assert elapsed < 15, f"the journey took {elapsed:.1f} s"
    print(f"login to done + next on a phone in Arabic: {elapsed:.1f} s")
    # Keeping Arabic saves it as the officer's language.
    with page.expect_navigation():
        page.locator("[data-testid=keep-language-yes]").click()
    assert page.locator("[data-testid=keep-language]").count() == 0
    from crm.accounts.models import User
    from crm.accounts.operations import find_user_by_email
    from crm.core.db import db

    with live_server.app.app_context():
        user = find_user_by_email(db.session, email)
        assert isinstance(user, User) and user.language.value == "ar"
