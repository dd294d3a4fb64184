"""A document in a real browser: an officer uploads a signed agreement on a lead, sees it
listed (the section passes axe's WCAG AA checks in Arabic), downloads it as a file, and a
disguised file is refused with the message in Arabic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import document_files as files
from tests.browser.conftest import OFFICER, login, switch_language
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser


def test_an_officer_uploads_lists_and_downloads_a_document_in_arabic(
    new_page: Any, live_server: Any, tmp_path: Path
) -> None:
    from sqlmodel import select

    from crm.core.db import db
    from crm.leads.models import Lead

    with live_server.app.app_context():
        lead_id = db.session.exec(select(Lead.id).where(Lead.confidential == False).order_by(Lead.id)).first()  # noqa: E712
    page = new_page(bypass_csp=True)
    login(page, OFFICER)
    switch_language(page, "ar")
    try:
        page.goto(f"/leads/{lead_id}")
        signed = tmp_path / "اتفاقية موقعة.pdf"
        signed.write_bytes(files.PDF)
        section = page.locator("[data-testid=documents]")
        section.locator("input[type=file]").set_input_files(str(signed))
        with page.expect_navigation():
            section.locator("button", has_text="رفع").click()
        row = section.locator("li[data-document-id]", has_text="اتفاقية موقعة.pdf")
        assert row.count() == 1

        page.add_script_tag(path=str(AXE))
        assert page.evaluate(RUN_AXE) == []

        with page.expect_download() as download:
            row.locator("a").click()
        saved = tmp_path / "downloaded.pdf"
        download.value.save_as(saved)
        assert saved.read_bytes() == files.PDF and download.value.suggested_filename == "اتفاقية موقعة.pdf"

        disguised = tmp_path / "photo.png"
        disguised.write_bytes(files.HTML)
        page.locator("[data-testid=documents] input[type=file]").set_input_files(str(disguised))
        with page.expect_navigation():
            page.locator("[data-testid=documents] button", has_text="رفع").click()
        message = page.locator("[data-testid=document-refused]").inner_text()
        assert "محتوى هذا الملف لا يطابق اسمه" in message and "PNG" in message
    finally:
        switch_language(page, "fr")
