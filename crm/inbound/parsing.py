"""Reading a raw message: headers (RFC 2047 words decoded), addresses, the text and HTML
bodies in whatever charset each part declares (UTF-8, Windows-1256, ISO-8859-6, Latin-1…,
quoted-printable or base64), and the attachments with their RFC 2231 names.

A part whose charset is unknown or lies is decoded with replacement characters and
logged, never silently cut."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from typing import Any

import nh3

from crm.core.time import utcnow

log = logging.getLogger(__name__)

MAX_ID = 300


@dataclass
class ParsedMail:
    message_id: str
    in_reply_to: str
    references: list[str]
    from_address: str
    from_name: str
    to: list[dict[str, str]]
    cc: list[dict[str, str]]
    subject: str
    sent_at: datetime
    text: str = ""
    html: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    is_report: bool = False  # a bounce or another delivery report

    def participants(self) -> list[str]:
        """Every address on the message, lower case, From first."""
        seen: list[str] = []
        for email in [self.from_address, *(p["email"] for p in self.to + self.cc)]:
            if email and email not in seen:
                seen.append(email)
        return seen


def read_message(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):
        value = None
    if value is None:
        raw = message.get_all(name, failobj=[]) if hasattr(message, "get_all") else []
        return str(raw[0]) if raw else ""
    return " ".join(str(value).split())


def clean_id(value: str) -> str:
    """A Message-ID without its angle brackets or spaces (bounded)."""
    return value.strip().strip("<>").strip()[:MAX_ID]


def message_ids(value: str) -> list[str]:
    return [clean_id(part) for part in value.replace(",", " ").split() if clean_id(part)]


def message_id_of(raw: bytes, message: Message | None = None) -> str:
    """The message's Message-ID, or a digest of its bytes when it has none (a second
    delivery of the same bytes is then recognised all the same)."""
    message = message if message is not None else read_message(raw)
    found = message_ids(_header(message, "Message-ID"))
    return found[0] if found else f"sha256-{hashlib.sha256(raw).hexdigest()}@jisr.invalid"


def _addresses(message: Message, name: str) -> list[dict[str, str]]:
    try:
        header = message.get(name)
        addresses = list(getattr(header, "addresses", ()))
    except (ValueError, IndexError, TypeError):
        addresses = []
    found = []
    for address in addresses:
        if isinstance(address, Address) and address.addr_spec and "@" in address.addr_spec:
            found.append({"name": str(address.display_name)[:200], "email": address.addr_spec.lower()[:254]})
    if not found and message.get_all(name):
        for display, email in getaddresses([str(v) for v in message.get_all(name, [])]):
            if "@" in email:
                found.append({"name": display[:200], "email": email.lower()[:254]})
    return found


def decoded_text(part: Message) -> str:
    """A text part's content; an unknown or lying charset is replaced, not dropped."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeDecodeError, AttributeError, ValueError) as exc:
        log.warning("undecodable %s part (%s): decoded with replacements", part.get_content_type(), exc)
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def parse_mail(raw: bytes) -> ParsedMail:
    message = read_message(raw)
    from_list = _addresses(message, "From")
    sender = from_list[0] if from_list else {"name": "", "email": ""}
    try:
        date_header = message.get("Date")
        sent_at = parsedate_to_datetime(str(date_header)) if date_header else utcnow()
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        sent_at = utcnow()
    parsed = ParsedMail(
        message_id=message_id_of(raw, message),
        in_reply_to=(message_ids(_header(message, "In-Reply-To")) or [""])[0],
        references=message_ids(_header(message, "References")),
        from_address=sender["email"],
        from_name=sender["name"],
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        subject=_header(message, "Subject")[:998],
        sent_at=sent_at.astimezone(UTC),
        is_report=message.get_content_type() == "multipart/report",
    )
    _walk_top(message, parsed)
    if not parsed.text and parsed.html:
        parsed.text = html_to_text(parsed.html)
    return parsed


def _walk_top(message: EmailMessage, parsed: ParsedMail) -> None:
    """The message's own parts; an attached message counts as one attachment, its parts
    are not this message's body."""
    index = 0
    stack: list[Message] = [message]
    while stack:
        part = stack.pop(0)
        index += 1
        if part.get_content_type() == "message/rfc822":
            data = part.as_bytes()
            parsed.attachments.append(
                {"index": index, "filename": "message.eml", "content_type": "message/rfc822", "size": len(data)}
            )
            continue
        if part.is_multipart():
            stack = [*part.get_payload(), *stack]  # type: ignore[list-item]
            continue
        _leaf(part, index, parsed)


def _leaf(part: Message, index: int, parsed: ParsedMail) -> None:
    content_type = part.get_content_type()
    filename = part.get_filename()
    if filename or part.get_content_disposition() == "attachment" or not content_type.startswith("text/"):
        payload = part.get_payload(decode=True)
        parsed.attachments.append(
            {
                "index": index,
                "filename": (filename or "attachment")[:200],
                "content_type": content_type,
                "size": len(payload) if isinstance(payload, bytes) else 0,
            }
        )
    elif content_type == "text/plain" and not parsed.text:
        parsed.text = decoded_text(part)
    elif content_type == "text/html" and not parsed.html:
        parsed.html = decoded_text(part)


def part_at(raw: bytes, index: int) -> Message | None:
    """The part numbered ``index`` in :func:`_walk_top`'s order (an attachment to download)."""
    count = 0
    stack: list[Message] = [read_message(raw)]
    while stack:
        part = stack.pop(0)
        count += 1
        if count == index:
            return part
        if part.get_content_type() != "message/rfc822" and part.is_multipart():
            stack = [*part.get_payload(), *stack]  # type: ignore[list-item]
    return None


def html_to_text(html: str) -> str:
    """The words of an HTML body, for a mail that has no text part (nh3 strips the tags)."""
    stripped = nh3.clean(
        html.replace("<br", "\n<br").replace("</p>", "</p>\n"), tags=set(), clean_content_tags={"script", "style"}
    )
    return "\n".join(line.strip() for line in unescape(stripped).splitlines() if line.strip())
