"""A hostile HTML mail filed on a lead, opened in Chromium: no script of it runs, no dialog
opens and no request leaves for another host until the reader asks for the images; the
lead page offers its address with a working copy button."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from tests.browser.conftest import OFFICER, LiveServer, login, switch_language
from tests.inbound_corpus import arabic_utf8_base64_alternative, hostile_html

pytestmark = pytest.mark.browser


def _file(live_server: LiveServer, raw: bytes) -> tuple[int, int]:
    from crm.accounts.models import User
    from crm.core.db import db
    from crm.inbound.addresses import lead_address
    from crm.inbound.models import EmailMessage
    from crm.inbound.operations import file_received, store_inbound
    from crm.leads.models import Lead

    with live_server.app.app_context():
        session = db.session
        officer = session.exec(select(User).where(User.email == OFFICER)).one()
        lead = session.exec(select(Lead).where(Lead.owner_id == officer.id).order_by(Lead.id)).first()
        assert lead is not None
        mail = store_inbound(session, raw, lead_address(lead))
        if mail is None:  # stored by an earlier test of this session
            from crm.inbound.parsing import message_id_of

            email = session.exec(select(EmailMessage).where(EmailMessage.message_id == message_id_of(raw))).one()
        else:
            session.flush()
            filed = file_received(session, mail)
            assert filed is not None
            email = filed
        session.commit()
        return int(lead.id or 0), int(email.id or 0)


def test_a_hostile_mail_runs_nothing_and_calls_nowhere_until_asked(page: Any, live_server: LiveServer) -> None:
    lead_id, email_id = _file(live_server, hostile_html("browser-hostile@aws.example", "x@aws.example", OFFICER))
    dialogs: list[str] = []
    elsewhere: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.route(
        lambda url: not url.startswith(live_server.url),
        lambda route: (elsewhere.append(route.request.url), route.abort()),
    )
    login(page, OFFICER)
    page.goto(f"/leads/{lead_id}/emails/{email_id}")
    body = page.locator("[data-testid=email-body]")
    assert "Dear officer" in body.inner_text()
    page.wait_for_load_state("networkidle")
    assert dialogs == [] and elsewhere == []
    assert page.title() != "pwned"
    assert body.locator("script, iframe, form, img[src]").count() == 0
    assert body.locator("a[href^='javascript']").count() == 0

    page.locator("[data-testid=load-images]").click()
    page.wait_for_load_state("networkidle")
    assert [u for u in elsewhere if "tracker.example" in u], elsewhere  # now, and only now, asked for
    assert dialogs == []


def test_the_lead_page_shows_its_address_and_its_arabic_mail(page: Any, live_server: LiveServer) -> None:
    lead_id, email_id = _file(
        live_server, arabic_utf8_base64_alternative("browser-ar@aws.example", "Omar <omar@aws.example>", OFFICER)
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, OFFICER)
    page.goto(f"/leads/{lead_id}")
    address = page.locator("#lead-logging-address").inner_text()
    assert address.startswith(f"lead-{lead_id}.") and address.endswith("@inbound.localhost")
    copy = page.locator("button[data-copy=lead-logging-address]")
    copy.click()
    assert page.evaluate("navigator.clipboard.readText()") == address
    page.locator(f"a[href='/leads/{lead_id}/emails/{email_id}']").click()
    assert page.locator("[data-testid=email-subject]").inner_text() == "مقترح الشراكة السحابية"
    assert "هيوستن" in page.locator("[data-testid=email-body]").inner_text()


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_mail_pages_pass_the_wcag_aa_checks(new_page: Any, live_server: LiveServer, lang: str) -> None:
    from tests.browser.test_accessibility import AXE, _violations

    assert AXE.exists(), "axe-core is missing: run `npm ci` (make test does)"
    lead_id, email_id = _file(live_server, hostile_html("axe@aws.example", "x@aws.example", OFFICER))
    page = new_page(bypass_csp=True)
    page.route(lambda url: not url.startswith(live_server.url), lambda route: route.abort())
    login(page, OFFICER)
    switch_language(page, lang)
    problems: list[dict[str, Any]] = []
    for path in (f"/leads/{lead_id}", f"/leads/{lead_id}/emails/{email_id}", "/mail/to-file", "/settings"):
        problems += _violations(page, path)
    switch_language(page, "fr")
    assert problems == [], "\n".join(
        f"{p['page']}: {p['rule']} ({p['impact']}) {p['help']} at {p['where']}" for p in problems
    )
