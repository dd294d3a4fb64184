"""Right-to-left text that never breaks, measured in Chromium: where each character of a
date, an amount, a zone, a Latin name in an Arabic page and a French sentence in an
Arabic page is drawn.  Without the isolation (``<bdi>``, ``dir="auto"``) the bidi
algorithm reorders them: a date's day jumps past its year, a French sentence's full stop
goes to its start, two Latin names in an Arabic list read left to right."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from tests.browser.conftest import OFFICER, LiveServer, login, screenshot, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser

FRENCH_SENTENCE = "Rencontres à Houston avec وكالة الاختبار."
ARABIC_SENTENCE = "لقاءات في هيوستن مع Acme Robotics."

# Each drawn character of an element: its text and the centre of its box.
CHARACTERS = """el => {
    const out = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.data.length; i++) {
            if (!node.data[i].trim()) continue;
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const box = range.getBoundingClientRect();
            if (box.width > 0) out.push({c: node.data[i], x: box.left + box.width / 2, y: box.top + box.height / 2});
        }
    }
    return out;
}"""


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> dict[str, int]:
    """A mission with a meeting in Houston, a Latin delegate and organisation, sentences in
    both scripts, and a lead worth 900 000 MAD, owned by the demo officer."""
    from sqlmodel import select

    from crm.accounts.models import User
    from crm.core.db import db
    from crm.missions.operations import create_mission, log_meeting
    from crm.organisations.operations import create_contact
    from tests.factories import make_lead, make_organisation

    with live_server.app.app_context():
        session = db.session
        officer = session.exec(select(User).where(User.email == OFFICER)).one()
        ma = make_organisation(session, "MA", name_ar="وكالة الاختبار", name_fr="Agence du test")
        us = make_organisation(session, "US", name_en="Acme Robotics")
        delegate = create_contact(session, organisation_id=us.id, name="Amina Tazi")
        places = [{"name": "Houston, Texas", "timezone": "America/Chicago"}]
        french = create_mission(
            session,
            name="Mission Houston",
            starts_on=date(2024, 2, 19),
            ends_on=date(2024, 2, 23),
            places=places,
            description=FRENCH_SENTENCE,
            delegate_ids=[delegate.id],
        )
        arabic = create_mission(
            session,
            name="بعثة هيوستن",
            starts_on=date(2024, 2, 19),
            ends_on=date(2024, 2, 23),
            description=ARABIC_SENTENCE,
        )
        log_meeting(
            session,
            title="Robotics briefing",
            starts_local=datetime(2024, 2, 21, 8, 30),
            timezone="America/Chicago",
            mission_id=french.id,
            organisation_ids=[ma.id, us.id],
        )
        lead = make_lead(
            session,
            owner=officer,
            title="Robotics pilot",
            ma_organisation_id=ma.id,
            us_organisation_id=us.id,
            estimated_value=Decimal("900000.00"),
            currency="MAD",
        )
        session.commit()
        return {"mission": int(french.id or 0), "arabic_mission": int(arabic.id or 0), "lead": int(lead.id or 0)}


def characters(page: Any, selector: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.locator(selector).first.evaluate(CHARACTERS)
    assert found, f"nothing drawn in {selector}"
    return found


def xs_of(chars: list[dict[str, Any]], text: str) -> list[float]:
    """The x of each character of ``text`` where it first occurs, in the logical order."""
    joined = "".join(c["c"] for c in chars)
    compact = text.replace(" ", "")
    at = joined.find(compact)
    assert at >= 0, f"{text!r} not in {joined!r}"
    return [c["x"] for c in chars[at : at + len(compact)]]


def left_to_right(xs: list[float]) -> bool:
    return all(a < b for a, b in pairwise(xs))


def test_dates_zones_and_names_stay_in_order_in_arabic_and_french(new_page: Any, world: dict[str, int]) -> None:
    page = new_page(locale="ar")
    login(page, OFFICER)
    switch_language(page, "ar")
    try:
        page.goto(f"/missions/{world['mission']}")
        # The meeting in Houston, for a viewer in Casablanca: "21 فبراير 2024، 08:30 (شيكاغو، UTC−06:00)".
        cell = characters(page, "[data-testid=meeting-local-time]")
        for number in ("2024", "08:30", "UTC−06:00"):
            assert left_to_right(xs_of(cell, number)), number  # digits and punctuation in place
        assert min(xs_of(cell, "21")) > max(xs_of(cell, "2024"))  # read right to left: the day first
        assert max(xs_of(cell, "UTC−06:00")) < min(xs_of(cell, "08:30"))  # the zone after the time
        # Two Latin names in an Arabic list: each reads left to right, the list right to left.
        delegates = characters(page, "[data-testid=mission-delegates] li")
        assert left_to_right(xs_of(delegates, "Amina Tazi")) and left_to_right(xs_of(delegates, "Acme Robotics"))
        assert min(xs_of(delegates, "Amina")) > max(xs_of(delegates, "Robotics"))
        # A French sentence in an Arabic page keeps its full stop at its end, on the right.
        sentence = characters(page, "main p[dir=auto]")
        assert sentence[-1]["c"] == "." and sentence[-1]["x"] == max(c["x"] for c in sentence)
        screenshot(page, "bidi-mission-ar")

        page.goto(f"/leads/{world['lead']}")
        amount = characters(page, "#lead-value")
        assert left_to_right(xs_of(amount, "900.000"))
        symbol = [c["x"] for c in amount if c["c"] in "دم"]
        assert symbol and max(symbol) < min(xs_of(amount, "900.000"))  # the number, then its currency

        switch_language(page, "fr")
        page.goto(f"/missions/{world['mission']}")
        cell = characters(page, "[data-testid=meeting-local-time]")
        text = "".join(c["c"] for c in cell)
        assert text == "21fév.2024,08:30(Chicago,UTC−06:00)"
        assert left_to_right([c["x"] for c in cell])  # one left-to-right line
        sentence = characters(page, "main p[dir=auto]")
        assert sentence[-1]["c"] == "." and sentence[-1]["x"] == max(c["x"] for c in sentence)
        arabic_name = xs_of(sentence, "وكالة الاختبار")
        assert min(arabic_name) > max(xs_of(sentence, "Houston"))  # inside the sentence, in its place
        screenshot(page, "bidi-mission-fr")

        # An Arabic sentence in a French page: its full stop at its end, on the left.
        page.goto(f"/missions/{world['arabic_mission']}")
        sentence = characters(page, "main p[dir=auto]")
        assert sentence[-1]["c"] == "." and sentence[-1]["x"] == min(c["x"] for c in sentence)
        assert left_to_right(xs_of(sentence, "Acme Robotics"))

        page.goto(f"/leads/{world['lead']}")
        amount = characters(page, "#lead-value")
        assert "".join(c["c"] for c in amount) == "900\u202f000MAD" or "".join(c["c"] for c in amount) == "900000MAD"
        assert left_to_right([c["x"] for c in amount])
    finally:
        switch_language(page, "fr")  # the demo officer's own language, for the other tests


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_mission_page_passes_the_wcag_aa_checks(new_page: Any, world: dict[str, int], lang: str) -> None:
    page = new_page(bypass_csp=True)
    login(page, OFFICER)
    switch_language(page, lang)
    try:
        problems = []
        for path in (f"/missions/{world['mission']}", f"/missions/{world['arabic_mission']}", "/organisations"):
            response = page.goto(path)
            assert response is not None and response.status == 200
            page.add_script_tag(path=str(AXE))
            problems += [{"page": path, **v} for v in page.evaluate(RUN_AXE)]
    finally:
        switch_language(page, "fr")
    assert problems == [], problems
