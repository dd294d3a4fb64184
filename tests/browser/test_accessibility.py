"""Every main page, in Arabic and in French, passes axe-core's WCAG 2.1 A and AA checks
(contrast, labels, names, landmarks, language) in a real browser.

axe-core is a pinned development package (``npm ci`` installs it; it is never served):
the test injects it into the page, so the page's own Content Security Policy is set
aside for these pages only.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ADMIN, ROOT, LiveServer, login, switch_language

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
    .then(result => result.violations.map(v => ({
        rule: v.id, impact: v.impact, help: v.help,
        where: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
    })))"""


@pytest.fixture(scope="module")
def records(live_server: LiveServer) -> dict[str, int]:
    """One demo record of each kind whose page is checked."""
    from sqlmodel import select

    from crm.core.db import db
    from crm.digests.models import Subscription
    from crm.leads.models import Lead
    from crm.missions.models import Mission
    from crm.organisations.models import Contact, Organisation

    with live_server.app.app_context():
        first = {
            model.__name__: db.session.exec(select(model.id).order_by(model.id)).first()  # type: ignore[attr-defined]
            for model in (Lead, Organisation, Contact, Mission, Subscription)
        }
    return {name: int(value) for name, value in first.items()}


def _pages(ids: dict[str, int]) -> list[str]:
    return [
        "/leads",
        f"/leads/{ids['Lead']}",
        "/leads/new",
        "/pipeline",
        f"/pipeline/{ids['Lead']}/move",
        "/followups",
        "/notifications",
        "/organisations",
        f"/organisations/{ids['Organisation']}",
        "/contacts",
        f"/contacts/{ids['Contact']}",
        "/missions",
        f"/missions/{ids['Mission']}",
        "/dashboard",
        "/search?q=ADD",
        "/digests/subscriptions",
        f"/digests/subscriptions/{ids['Subscription']}/preview",
        "/imports",
        "/settings",
        "/admin/users",
        "/admin/activity",
        "/admin/webhooks",
        "/admin/api-tokens",
        "/admin/status",
    ]


def _violations(page: Any, path: str) -> list[dict[str, Any]]:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [{"page": path, **v} for v in found]


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_main_pages_pass_the_wcag_aa_checks(new_page: Any, records: dict[str, int], lang: str) -> None:
    assert AXE.exists(), "axe-core is missing: run `npm ci` (make test does)"
    page = new_page(bypass_csp=True)
    problems = _violations(page, "/login") + _violations(page, "/password/forgotten")
    login(page, ADMIN)
    switch_language(page, lang)
    for path in _pages(records):
        problems += _violations(page, path)
    switch_language(page, "en")  # the demo admin's own language again, for the other tests
    assert problems == [], "\n".join(
        f"{p['page']}: {p['rule']} ({p['impact']}) {p['help']} at {p['where']}" for p in problems
    )
