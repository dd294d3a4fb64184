"""An outbound email as it goes over the wire: the envelope and the exact bytes.

The envelope recipient is the ledger row's address, passed to the SMTP server as the one
``RCPT TO``; it is never read back from a header, so no display name can add or drop a
recipient.  The top-level headers are written here rather than by the standard library's
folding, which (with the default policy) RFC 2047-encodes any long header, URLs included
(``List-Unsubscribe`` would reach mail clients as ``=?utf-8?q?=3Chttps…?=``), and can drop
the space between two encoded words of an Arabic subject.  So:

- URL and identifier headers (``List-Unsubscribe``, ``Message-ID``…) are ASCII and go out
  exactly as given, on one line;
- text (a subject, a display name) that is plain ASCII goes out as it is, folded only at
  its spaces; anything else is encoded whole as UTF-8 encoded words, each space inside a
  word, so that decoding gives back exactly the original;
- an address header is a display name and one address, the name encoded as above (a
  Latin name beside an Arabic one stays part of the name, never a comment).

The MIME body (text, HTML, inline images, attachments) is built by ``EmailMessage``, which
handles it well.
"""

from __future__ import annotations

import base64
import email.policy
import re
import unicodedata
from dataclasses import dataclass
from email.charset import Charset
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from typing import Any

import idna

MAX_LINE = 78  # RFC 5322's "should"; a line never exceeds its "must" of 998
HARD_LINE = 998
CRLF = "\r\n"

# Headers whose values are ASCII tokens or URLs, written verbatim.
VERBATIM = frozenset(
    {"list-unsubscribe", "list-unsubscribe-post", "list-id", "message-id", "in-reply-to", "references"}
)
# Characters that never belong in a name: controls (C0, C1, DEL), format characters
# (bidi embeddings, overrides and isolates, zero-width spaces, BOM…) except the joiners
# that Arabic and Persian spelling needs, and line or paragraph separators.
_JOINERS = {"\u200c", "\u200d"}
_LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def strip_name(value: str) -> str:
    """A name as one clean line: control and invisible format characters removed, runs of
    white space (line breaks included) made one space."""
    kept = []
    for char in value:
        category = unicodedata.category(char)
        if char in _JOINERS or category not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            kept.append(char)
        elif _LINE_BREAKS.match(char) or char == "\t":
            kept.append(" ")
    return " ".join("".join(kept).split())


def has_line_break(value: str) -> bool:
    return bool(_LINE_BREAKS.search(value))


def one_line(value: str) -> str:
    """Header text on one line with single spaces: a CR/LF in a lead title cannot start a
    new header.  Other characters (Arabic, bidi isolates around a name) are kept."""
    return " ".join(_LINE_BREAKS.sub(" ", value).replace("\x00", " ").split())


class BadAddress(ValueError):
    """Not one plain address that an SMTP server can be given as a recipient."""


_LOCAL_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")


def wire_address(address: str) -> tuple[str, bool]:
    """``address`` as it goes into ``RCPT TO`` and the ``To`` header, and whether the server
    must speak SMTPUTF8 for it (a local part outside ASCII).  The domain is IDNA-encoded.
    Raises :class:`BadAddress` for anything but exactly one ``local@domain``."""
    if not address or any(c.isspace() or c in '<>,;:"()[]\\' or ord(c) < 32 for c in address):
        raise BadAddress(address)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in local or len(address) > 254:
        raise BadAddress(address)
    try:
        ascii_domain = domain if domain.isascii() else idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise BadAddress(address) from None
    if local.isascii():
        if not _LOCAL_ATOM.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
            raise BadAddress(address)
        return f"{local}@{ascii_domain}", False
    return f"{local}@{ascii_domain}", True


def _plain(value: str) -> bool:
    """Text that may go out as it is: printable ASCII that no reader takes for an encoded word."""
    return value.isascii() and value.isprintable() and "=?" not in value


def _fold_at_spaces(name: str, value: str) -> str:
    """Plain ASCII folded before spaces; unfolding (removing CRLF) gives it back exactly."""
    lines: list[str] = []
    line = ""
    room = MAX_LINE - len(name) - 2
    for n, word in enumerate(value.split(" ")):
        piece = word if n == 0 else " " + word
        if line and len(line) + len(piece) > room:
            lines.append(line)
            line, room = piece, MAX_LINE
        else:
            line += piece
    lines.append(line)
    return CRLF.join(lines)


def encode_text(name: str, value: str) -> str:
    """A header's text, decodable back to exactly ``value``."""
    if _plain(value):
        return _fold_at_spaces(name, value)
    return Header(value, "utf-8", header_name=name).encode(linesep=CRLF, maxlinelen=MAX_LINE)


def encode_mailbox(name: str, display_name: str, address: str) -> str:
    """``display name <address>`` with the name quoted (ASCII) or encoded as one UTF-8
    encoded word.  One word, because readers disagree about the space between two encoded
    words of a name (RFC 2047 drops it; Python's parser keeps it); the address goes on a
    continuation line when the name is long, and a name too long for a line is shortened."""
    display_name = strip_name(display_name)
    while display_name:
        if _plain(display_name):
            text = formataddr((display_name, address))  # quotes specials, escapes \ and "
            if len(name) + 2 + len(text) <= HARD_LINE:
                return text
        else:
            word = Charset("utf-8").header_encode(display_name)
            if len(name) + 2 + len(word) <= HARD_LINE:
                separator = " " if len(name) + 2 + len(word) + len(address) + 3 <= MAX_LINE else CRLF + " "
                return f"{word}{separator}<{address}>"
        display_name = display_name[: len(display_name) * 9 // 10].rstrip()
    return address


def verbatim(name: str, value: str) -> str:
    if not (value.isascii() and value.isprintable()) or len(name) + 2 + len(value) > HARD_LINE:
        raise ValueError(f"{name}: not a one-line ASCII value")
    return value


@lru_cache(maxsize=8)
def parse_sender(sender: str) -> tuple[str, str]:
    """``MAIL_FROM`` ("Jisr <jisr@example.org>" or a bare address) as (name, address)."""
    display_name, address = parseaddr(sender)
    if not address or "@" not in address:
        raise BadAddress(sender)
    return display_name, wire_address(address)[0]


@dataclass(frozen=True)
class WireMessage:
    """What an SMTP client hands over: the envelope and the message's bytes."""

    envelope_from: str
    envelope_to: str
    data: bytes
    smtputf8: bool = False

    def as_bytes(self) -> bytes:
        return self.data


def _body(text: str, html: str, attachments: list[dict[str, str]]) -> EmailMessage:
    body = EmailMessage()
    body.set_content(text)
    if html:
        body.add_alternative(html, subtype="html")
        html_part = body.get_body(("html",))
        for item in attachments:
            if item.get("cid") and isinstance(html_part, EmailMessage):
                # multipart/related around the HTML: the image shows inline, not as a file.
                maintype, subtype = item["content_type"].split("/", 1)
                html_part.add_related(
                    base64.b64decode(item["data"]),
                    maintype=maintype,
                    subtype=subtype,
                    cid=f"<{item['cid']}>",
                    filename=item["filename"],
                    disposition="inline",
                )
    for item in attachments:
        if item.get("cid") and html:
            continue
        maintype, subtype = item["content_type"].split("/", 1)
        body.add_attachment(
            base64.b64decode(item["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=item["filename"],
            params=_type_params(item["content_type"]),
        )
    return body


def _type_params(content_type: str) -> dict[str, str]:
    """Parameters a part's ``Content-Type`` needs besides its type: an iCalendar file is
    UTF-8 text published for information (RFC 6047), so that Outlook shows "Add to
    calendar" and every client reads its accents right."""
    if content_type.lower() == "text/calendar":
        return {"charset": "utf-8", "method": "PUBLISH"}
    return {}


def compose(
    *,
    sender: str,
    recipient: str,
    recipient_name: str,
    subject: str,
    message_id: str,
    date: Any,
    language: str,
    text: str,
    html: str = "",
    attachments: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> WireMessage:
    """One message to exactly ``recipient``; raises :class:`BadAddress` if it is not one
    plain address."""
    to_address, smtputf8 = wire_address(recipient)
    sender_name, from_address = parse_sender(sender)
    extra = dict(headers or {})
    # A message a person wrote (from a lead's page) says so; everything else is automatic.
    written = extra.pop("Auto-Submitted", "") == "no"
    lines = [
        ("From", encode_mailbox("From", sender_name, from_address)),
        ("To", encode_mailbox("To", recipient_name, to_address)),
        ("Subject", encode_text("Subject", one_line(subject))),
        ("Date", format_datetime(date)),
        ("Message-ID", verbatim("Message-ID", message_id)),
        ("Auto-Submitted", "no" if written else "auto-generated"),
    ]
    for name, value in extra.items():
        lowered = name.lower()
        if lowered == "reply-to":  # one plain address (a lead's logging address), never a list
            reply_to, _utf8 = wire_address(value)
            lines.append(("Reply-To", encode_mailbox("Reply-To", "", reply_to)))
            continue
        if lowered in ("from", "to", "cc", "bcc", "subject", "date", "message-id", "sender"):
            continue  # never from data: these are the ledger's
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", name):
            raise ValueError(f"not a header name: {name!r}")
        lines.append((name, verbatim(name, value) if lowered in VERBATIM else encode_text(name, one_line(value))))
    lines.append(("Content-Language", verbatim("Content-Language", language)))
    head = "".join(f"{name}: {value}{CRLF}" for name, value in lines).encode("utf-8" if smtputf8 else "ascii")
    body = _body(text, html, attachments or []).as_bytes(policy=email.policy.SMTP)
    return WireMessage(from_address, to_address, head + body, smtputf8)
