"""The post-mission report in a real browser: one click from the mission page, the language
switch, the PDF downloaded and read back (the Arabic mission name and the mission page's
figures), and axe-core's WCAG 2.1 AA checks on the report in Arabic and in French."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ADMIN, OFFICER, LiveServer, login, switch_language
from tests.browser.test_accessibility import AXE, _violations

pytestmark = pytest.mark.browser

MISSION_AR = "بعثة التحول الرقمي إلى تكساس وكاليفورنيا"


@pytest.fixture(scope="module")
def arabic_mission(live_server: LiveServer) -> int:
    """A mission named in Arabic, in Houston and Silicon Valley: three meetings with demo
    organisations, two leads (one signed) born in them."""
    from sqlmodel import select

    from crm.accounts.models import User
    from crm.core.db import db
    from crm.leads.models import Stage
    from crm.leads.operations import create_lead, move_lead_to_stage
    from crm.missions.operations import create_mission, log_meeting
    from crm.organisations.models import Country, Organisation

    with live_server.app.app_context():
        officer = db.session.exec(select(User).where(User.email == OFFICER)).one()
        ma = db.session.exec(select(Organisation).where(Organisation.country == Country.MA)).first()
        us = db.session.exec(select(Organisation).where(Organisation.country == Country.US)).first()
        assert ma is not None and us is not None
        mission = create_mission(
            db.session,
            name=MISSION_AR,
            starts_on=datetime(2025, 3, 2).date(),
            ends_on=datetime(2025, 3, 12).date(),
            places=[
                {"name": "Houston, Texas", "timezone": "America/Chicago"},
                {"name": "Silicon Valley", "timezone": "America/Los_Angeles"},
            ],
            actor=officer,
        )
        meetings = [
            log_meeting(
                db.session,
                title=f"Round table {n}",
                starts_local=when,
                timezone=zone,
                mission_id=mission.id,
                organisation_ids=[ma.id, us.id],
                actor=officer,
            )
            for n, (when, zone) in enumerate(
                [
                    (datetime(2025, 3, 3, 10), "America/Chicago"),
                    (datetime(2025, 3, 4, 15), "America/Chicago"),
                    (datetime(2025, 3, 10, 9), "America/Los_Angeles"),
                ]
            )
        ]
        for n, meeting in enumerate(meetings[:2]):
            lead = create_lead(
                db.session,
                title=f"Report lead {n}",
                ma_organisation_id=ma.id,
                us_organisation_id=us.id,
                partnership_type="technology_partnership",
                meeting_id=meeting.id,
                owner_id=officer.id,
                actor=officer,
            )
            if n == 0:
                move_lead_to_stage(db.session, lead, Stage.AGREEMENT_SIGNED, actor=officer)
        db.session.commit()
        return int(mission.id or 0)


def _pdf_text(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    text = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u064b-\u0652]", "", text)
    return " ".join(text.split())


def test_the_report_is_one_click_from_the_mission_page_and_its_pdf_reads_back(
    page: Any, arabic_mission: int, tmp_path: Path
) -> None:
    login(page, OFFICER)
    page.goto(f"/missions/{arabic_mission}")
    figures = {
        key: page.locator(f"[data-testid=score-{key}]").get_attribute("data-value")
        for key in ("meetings", "leads", "on-time", "signed")
    }
    assert figures["meetings"] == "3" and figures["leads"] == "2" and figures["signed"] == "1"
    page.locator("[data-testid=mission-report]").first.click()
    page.wait_for_url(f"**/missions/{arabic_mission}/report")
    page.locator("[data-testid=report-lang-ar]").click()
    page.wait_for_url("**/report?lang=ar")
    article = page.locator("article[data-testid=mission-report]")
    assert article.get_attribute("dir") == "rtl" and article.get_attribute("lang") == "ar"
    assert page.locator("[data-testid=report-mission-name]").inner_text().strip() == MISSION_AR
    for key, value in figures.items():
        assert page.locator(f"[data-testid=report-{key}]").get_attribute("data-value") == value
    # Right to left, a bar ends at the right of its cell.
    cell = page.locator("[data-testid=report-legs] td.bar-cell").first.bounding_box()
    filled = page.locator("[data-testid=report-legs] svg.report-bar rect:nth-child(2)").first.bounding_box()
    assert cell and filled and abs((filled["x"] + filled["width"]) - (cell["x"] + cell["width"])) < 12

    with page.expect_download() as download:
        page.locator("[data-testid=report-pdf]").click()
    target = tmp_path / "report.pdf"
    download.value.save_as(target)
    assert download.value.suggested_filename.endswith(".pdf")
    text = _pdf_text(target)
    assert MISSION_AR in text
    # Right to left, each line of the scorecard reads its figure, then its label.
    labels = {
        "meetings": "الاجتماعات المنعقدة",
        "leads": "الفرص المنشأة",
        "signed": "اتفاقيات موقعة",
    }
    for key, label in labels.items():
        assert re.search(rf"(?<![\d.]){figures[key]} {label}", text), (key, text[:500])
    assert "Houston, Texas" in text and "Silicon Valley" in text


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_report_passes_the_wcag_aa_checks(new_page: Any, arabic_mission: int, lang: str) -> None:
    assert AXE.exists(), "axe-core is missing: run `npm ci` (make test does)"
    page = new_page(bypass_csp=True)
    login(page, ADMIN)
    switch_language(page, lang)
    other = "fr" if lang == "ar" else "ar"
    problems = []
    for path in (f"/missions/{arabic_mission}/report", f"/missions/{arabic_mission}/report?lang={other}"):
        problems += _violations(page, path)
    switch_language(page, "en")  # the demo admin's own language again, for the other tests
    assert problems == [], "\n".join(
        f"{p['page']}: {p['rule']} ({p['impact']}) {p['help']} at {p['where']}" for p in problems
    )
