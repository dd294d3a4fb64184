"""Every kind of email Jisr sends, rendered by the real rendering code in Arabic, French and
English, opened in Chromium at a phone's width (375 px) and at the layout's full width
(600 px): nothing is wider than the screen, nothing sticks out to the left (where mail
clients clip right-to-left mail) or to the right.  Photographed for review under
``test-artefacts/screenshots/email-<kind>-<language>-<width>.png``."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

LANGUAGES = ["ar", "fr", "en"]
WIDTHS = [375, 600]
KINDS = ["reminder", "team-escalation", "digest", "password-link", "import-report", "webhook-disabled"]
# A long, unbroken address: it must wrap rather than widen the mail.
LONG_URL = "https://partners.example.org/hooks/jisr/" + "x" * 60 + "/receive?token=" + "a1b2c3" * 8
# The elements whose box leaves the viewport ``limit`` pixels wide, on either side.
OUTSIDE = """limit => [...document.querySelectorAll('body *')]
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > limit + 1 || r.left < -1); })
    .slice(0, 8)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().left)
        + '..' + Math.round(e.getBoundingClientRect().right) + ' ' + (e.textContent || '').trim().slice(0, 40))"""

Renderer = Callable[[str], str]


def _reminder(language: str) -> str:
    from crm.followups.mails import render_reminder
    from tests.test_email_snapshots import _item

    # Read in New York: the due time in the reader's zone, and Casablanca's beside it.
    item = _item(language, "America/New_York")
    email, _said = render_reminder(item, item.owner, "overdue-3", datetime(2026, 9, 24, 16, 0, tzinfo=UTC))
    return email.html


def _team_escalation(language: str) -> str:
    from crm.accounts.models import Language, Role, User
    from crm.core.time import to_utc
    from crm.followups.mails import OverdueLine, render_team_escalation
    from tests.test_email_snapshots import _item

    lines = []
    for n, days in enumerate([3, 12, 4, 130]):
        item = _item(language, "Africa/Casablanca")
        item.owner.name = "Leïla Benjelloun-Alaoui"
        item.followup.id, item.lead.id = 100 + n, 200 + n
        item.followup.title = f"Send the signed memorandum of understanding to the embassy ({n + 1})"
        due = datetime(2026, 9, 24, 10, 0) - timedelta(days=days)
        item.followup.due_local, item.followup.due_at = due, to_utc(due, "Africa/Casablanca")
        lines.append(OverdueLine(item, days))
    reader = User(
        id=9,
        email="boss@jisr.example",
        name="Nadia Alaoui",
        password_hash="x",
        role=Role.ADMIN,
        language=Language(language),
        timezone="America/Chicago",
    )
    return render_team_escalation(reader, lines).html


def _plain(name: str, language: str, **context: Any) -> str:
    from crm.core.emails import render_email

    return render_email(name, language=language, timezone="America/New_York", **context).html


def _password_link(language: str) -> str:
    return _plain(
        "password_link",
        language,
        reason="invitation",
        actor_name="Nadia Alaoui",
        link="https://jisr.example.org/password/" + "Zm9vYmFy" * 12,
        days=3,
        email="leila.benjelloun-alaoui@ministere-industrie-commerce.gov.ma",
    )


def _import_report(language: str) -> str:
    from crm.exchange.models import DataImport, ImportKind

    data_import = DataImport(
        id=42,
        kind=ImportKind.LEADS,
        author_id=1,
        filename="export_leads_mission_houston_novembre_2026_version_finale_corrigee.xlsx",
        file_format="xlsx",
    )
    counts = {"create": 120, "update": 14, "unchanged": 3, "error": 2}
    return _plain(
        "import_report",
        language,
        data_import=data_import,
        completed=True,
        counts=counts,
        failure="",
        import_kind="leads",
    )


def _webhook_disabled(language: str) -> str:
    from crm.core.text import isolate

    return _plain("webhook_disabled", language, url=isolate(LONG_URL), failures=12, endpoint_id=5)


@pytest.fixture(scope="module")
def emails(tmp_path_factory: pytest.TempPathFactory, instance_root: Path) -> Iterator[dict[tuple[str, str], str]]:
    """The HTML part of every kind in every language, the digest's chart inlined as the
    real PNG it is sent with (so the picture has its real size)."""
    from crm.core.db import db
    from crm.core.migrate import upgrade
    from crm.digests.compile import compile_digest
    from crm.digests.models import Cadence
    from crm.digests.periods import latest_due_period
    from crm.digests.render import render_digest
    from tests.digest_helpers import SEND_AT, prepare_week

    url = f"sqlite:///{tmp_path_factory.mktemp('email-layout') / 'jisr.sqlite'}"
    upgrade(url)
    app = make_test_app(url)
    app.config["BASE_URL"] = "https://jisr.example.org"
    rendered: dict[tuple[str, str], str] = {}
    makers: dict[str, Renderer] = {
        "reminder": _reminder,
        "team-escalation": _team_escalation,
        "password-link": _password_link,
        "import-report": _import_report,
        "webhook-disabled": _webhook_disabled,
    }
    with app.app_context():
        week = prepare_week(db.session, language="ar", lead_count=6)
        period = latest_due_period(SEND_AT, Cadence.WEEKLY, "Africa/Casablanca", 0, 8)
        digest = compile_digest(db.session, week.subscription, period, now=SEND_AT)
        for language in LANGUAGES:
            for kind, make in makers.items():
                rendered[kind, language] = make(language)
            mail = render_digest(digest, week.subscription, language)
            png = base64.b64encode(mail.chart.data).decode()
            html = mail.email.html.replace(f"cid:{mail.chart.cid}", f"data:image/png;base64,{png}")
            assert "cid:" not in html
            rendered["digest", language] = html
        db.session.rollback()
    app.extensions["jisr.db"][0].dispose()
    yield rendered


@pytest.fixture(scope="module")
def mail_page(browser: Any) -> Iterator[Any]:
    """A page with no network: an email's HTML is loaded with ``set_content``."""
    context = browser.new_context(viewport={"width": 600, "height": 800}, java_script_enabled=True)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_email_fits_the_screen(
    emails: dict[tuple[str, str], str], mail_page: Any, kind: str, language: str, width: int
) -> None:
    html = emails[kind, language]
    assert re.search(rf'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}"', html)
    mail_page.set_viewport_size({"width": width, "height": 800})
    mail_page.set_content(html, wait_until="load")
    if kind == "digest":  # the chart is there, decoded, at most as wide as the mail
        natural = mail_page.eval_on_selector("img", "img => img.complete ? img.naturalWidth : 0")
        assert natural > 0
        assert mail_page.eval_on_selector("img", "img => img.getBoundingClientRect().width") <= width
    scroll_width = mail_page.evaluate("document.documentElement.scrollWidth")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    mail_page.screenshot(path=str(SCREENSHOTS / f"email-{kind}-{language}-{width}.png"), full_page=True)
    assert scroll_width <= width + 1, f"{kind} in {language} is {scroll_width} px wide at {width} px"
    assert mail_page.evaluate(OUTSIDE, width) == []
