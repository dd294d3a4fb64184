"""PDFs: Arabic is shaped and ordered right to left, and text can be read back out."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jinja2 import ChoiceLoader, DictLoader

from crm.core.pdf import isolates, no_network, pdf_response, render_pdf


def pdftotext(data: bytes, tmp_path: Path) -> str:
    source = tmp_path / "document.pdf"
    source.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True).stdout


BODY = """{% extends "pdf/base.html" %}{% block body %}
<h1>{{ title }}</h1><p>{{ bdi("Oracle") }} — {{ day|day }} — {{ 900000|money("MAD") }}</p>
{% endblock %}"""


@pytest.mark.parametrize(("language", "title"), [("ar", "بعثة المغرب الرقمية"), ("fr", "Mission numérique du Maroc")])
def test_a_document_reads_back_in_logical_order(app: Any, tmp_path: Path, language: str, title: str) -> None:
    app.jinja_env.loader = ChoiceLoader([DictLoader({"pdf/sample.html": BODY}), app.jinja_env.loader])
    with app.test_request_context("/", headers={"Accept-Language": language}):
        data = render_pdf("pdf/sample.html", title=title, day=date(2024, 2, 21))
    assert data.startswith(b"%PDF-")
    text = pdftotext(data, tmp_path)
    assert title in text  # shaped Arabic comes back as the same letters, in reading order
    # The amount's digits stay in one group ("900.000" in Arabic, "900 000" in French).
    assert "Oracle" in text and "2024" in text and re.search(r"900[.\s\u202f]000", text), text


def test_a_document_loads_nothing_from_the_network() -> None:
    fetcher = no_network()
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher("http://127.0.0.1:9/tracker.png")
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher("file:///etc/passwd")
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"


def test_the_download_names_itself_in_any_script(app: Any) -> None:
    with app.test_request_context("/"):
        response = pdf_response(b"%PDF-1.7", "تقرير البعثة.pdf")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''%D8%AA%D9%82%D8%B1%D9%8A%D8%B1" in disposition
    assert response.mimetype == "application/pdf"


def test_bdi_becomes_unicode_isolates() -> None:
    assert isolates('<bdi class="fmt" dir="ltr">1 200</bdi> <bdi>أ</bdi>') == (
        "<bdi>\u20661 200\u2069</bdi> <bdi>\u2068أ\u2069</bdi>"
    )
