"""A corpus of real-world messages filed on a lead and shown: Arabic in UTF-8 base64, in
Windows-1256 quoted-printable and in ISO-8859-6, French in Latin-1 quoted-printable, RFC
2047 subjects, an RFC 2231 attachment name, a forward with the original attached, and an
HTML mail with scripts, a tracking pixel and ``javascript:`` links."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session, select

from crm.core.events import Event
from crm.documents.models import Document
from crm.inbound.addresses import lead_address
from crm.inbound.models import EmailMessage
from crm.inbound.operations import store_inbound
from crm.inbound.sanitize import clean_mail_html
from tests import inbound_corpus as corpus
from tests.factories import make_lead, make_user
from tests.test_spine import relay_and_consume
from tests.web_helpers import login

SENDER = "Jane Doe <jane@aws.example>"
TO = "officer@agency.example"


def _filed(session: Session, raw: bytes) -> tuple[Any, EmailMessage]:
    owner = make_user(session)
    lead = make_lead(session, owner=owner)
    session.commit()
    assert store_inbound(session, raw, lead_address(lead)) is not None
    session.commit()
    relay_and_consume(session)
    session.expire_all()
    email = session.exec(select(EmailMessage).where(EmailMessage.lead_id == lead.id)).one()
    return owner, email


@pytest.mark.parametrize(
    ("build", "subject", "words"),
    [
        (corpus.arabic_utf8_base64_alternative, corpus.ARABIC_SUBJECT, corpus.ARABIC),
        (corpus.arabic_windows_1256, corpus.ARABIC_SUBJECT, corpus.ARABIC),
        (corpus.arabic_iso_8859_6, corpus.ARABIC_SUBJECT, corpus.ARABIC),
        (corpus.french_latin1_qp, corpus.FRENCH_SUBJECT.replace("—", "-"), corpus.FRENCH),
    ],
)
def test_arabic_and_french_mail_reads_right_in_any_charset(
    session: Session, client: Any, build: Any, subject: str, words: str
) -> None:
    owner, email = _filed(session, build(f"{build.__name__}@aws.example", SENDER, TO))
    assert email.subject == subject
    assert words in email.text
    assert (email.from_name, email.from_address) == ("Jane Doe", "jane@aws.example")
    assert "\ufffd" not in email.text + email.subject
    login(client, owner.email)
    page = client.get(f"/leads/{email.lead_id}/emails/{email.id}").get_data(as_text=True)
    assert subject in page and words in page


def test_attachment_names_in_rfc_2231_and_the_forwarded_original(session: Session, client: Any) -> None:
    owner, email = _filed(session, corpus.with_rfc2231_attachment("att@aws.example", SENDER, TO))
    (attachment,) = email.attachments
    assert attachment["filename"] == corpus.ATTACHMENT_NAME and attachment["content_type"] == "application/pdf"
    login(client, owner.email)
    url = f"/leads/{email.lead_id}/emails/{email.id}"
    assert corpus.ATTACHMENT_NAME in client.get(url).get_data(as_text=True)
    download = client.get(f"{url}/attachments/{attachment['index']}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-1.4")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"{url}/attachments/99").status_code == 404
    # The PDF is also among the lead's documents, with its event; the page links to it.
    (document,) = session.exec(select(Document).where(Document.lead_id == email.lead_id)).all()
    assert (document.file_name, document.content_type) == (corpus.ATTACHMENT_NAME, "application/pdf")
    assert attachment["document_id"] == document.id
    assert f'href="/documents/{document.id}"' in client.get(url).get_data(as_text=True)
    assert client.get(f"/documents/{document.id}").data.startswith(b"%PDF-1.4")
    added = session.exec(select(Event).where(Event.type == "document.added", Event.lead_id == email.lead_id)).all()
    assert len(added) == 1

    original = corpus.arabic_windows_1256("inner@aws.example", SENDER, TO)
    owner, email = _filed(session, corpus.forward_with_original("fwd@agency.example", SENDER, TO, original))
    assert email.text.strip() == "See the message below."  # the original's text is not the forward's
    (attached,) = email.attachments
    assert attached["content_type"] == "message/rfc822" and "document_id" not in attached  # not a document
    client.post("/logout")
    login(client, owner.email)
    inner = client.get(f"/leads/{email.lead_id}/emails/{email.id}/attachments/{attached['index']}")
    assert inner.status_code == 200 and b"Message-ID: <inner@aws.example>" in inner.data


def test_hostile_html_is_shown_without_its_scripts_and_images_wait_for_a_click(session: Session, client: Any) -> None:
    owner, email = _filed(session, corpus.hostile_html("hostile@aws.example", SENDER, TO))
    for forbidden in ("<script", "onload", "onerror", "javascript:", "<iframe", "<form", "<style", "tracker.example"):
        assert forbidden not in email.html, forbidden
    assert email.has_remote_images and 'href="https://aws.example/proposal"' in email.html
    assert "Dear officer" in email.text and "pwned" not in email.text
    login(client, owner.email)
    url = f"/leads/{email.lead_id}/emails/{email.id}"
    page = client.get(url)
    body = page.get_data(as_text=True)
    assert "tracker.example" not in body and "javascript:" not in body and "alert(" not in body
    assert "img-src 'self' data:;" in page.headers["Content-Security-Policy"]
    shown = client.get(f"{url}?images=1")
    assert 'src="https://tracker.example/pixel.gif?u=42"' in shown.get_data(as_text=True).replace("&amp;", "&")
    assert "https:" in shown.headers["Content-Security-Policy"]
    assert "alert(" not in shown.get_data(as_text=True)


def test_the_sanitiser_keeps_direction_and_drops_everything_active() -> None:
    cleaned = clean_mail_html(
        '<div dir="rtl" lang="ar" style="position:fixed" class="x">مرحبا'
        '<a href="JaVaScRiPt:alert(1)">a</a><a href="data:text/html,x">b</a><svg onload="alert(1)"></svg>'
        '<img src="cid:logo@x"><object data="x"></object></div>'
    )
    assert cleaned.html.startswith('<div dir="rtl" lang="ar">مرحبا')
    assert not re.search(r"javascript|data:|svg|onload|cid:|object|style|class", cleaned.html, re.IGNORECASE)
    assert cleaned.remote_images == 0
