"""IMAP polling, for offices whose mail system cannot route a domain to Jisr: a shared
mailbox that officers copy (Exchange, Gmail) is read by UID, from beat.

The place reached is kept per mailbox as (UIDVALIDITY, last UID), and moved forward in
the same transaction as each stored message: a poller killed half-way starts again after
the last message it stored, and a message read twice is refused by the inbound ledger's
unique key anyway.  When the server changes UIDVALIDITY (a rebuilt mailbox), the UIDs
mean nothing any more: the mailbox is read again from the start, and the ledger skips
what it already holds.  The mailbox is opened read-only: Jisr never changes it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sqlmodel import Field, Session, SQLModel

from crm.config import ConfigError
from crm.inbound.addresses import domain, parse_address
from crm.inbound.operations import store_inbound
from crm.inbound.parsing import read_message

log = logging.getLogger(__name__)
BATCH = 50
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")


class ImapCursor(SQLModel, table=True):
    """How far a mailbox was read."""

    __tablename__ = "imap_cursor"

    mailbox: str = Field(primary_key=True, max_length=300)  # user@host:port/folder
    uid_validity: int = Field(default=0)
    last_uid: int = Field(default=0)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    username: str
    password: str
    folder: str
    ssl: bool

    @property
    def mailbox(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"[:300]

    @property
    def address(self) -> str:
        """The mailbox's own address (where a message names no logging address)."""
        return (self.username if "@" in self.username else f"{self.username}@{self.host}").lower()


def parse_imap_url(value: str) -> ImapSettings:
    """``imaps://user:password@host:993/INBOX`` (``imap://`` without TLS, for a server on
    the same machine)."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ConfigError("INBOUND_IMAP_URL: malformed URL") from None
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username or parts.password is None:
        raise ConfigError("INBOUND_IMAP_URL: expected imaps://user:password@host:993/INBOX")
    return ImapSettings(
        host=parts.hostname,
        port=port or (993 if parts.scheme == "imaps" else 143),
        username=unquote(parts.username),
        password=unquote(parts.password),
        folder=unquote(parts.path.strip("/")) or "INBOX",
        ssl=parts.scheme == "imaps",
    )


def logging_addresses(raw: bytes) -> list[str]:
    """The logging addresses a copied message names (a Bcc leaves no trace but in the
    server's Delivered-To or X-Original-To)."""
    message = read_message(raw)
    found: list[str] = []
    for name in RECIPIENT_HEADERS:
        for value in message.get_all(name, []):
            for address in getattr(value, "addresses", ()):
                email = str(address.addr_spec).lower()
                if email.endswith("@" + domain()) and parse_address(email) and email not in found:
                    found.append(email)
    return found


def poll_mailbox(session: Session, settings: ImapSettings) -> int:
    """Store the mailbox's new messages; the number stored.  Commits after each one."""
    stored = 0
    from imapclient import IMAPClient  # the poller's alone: web workers never load it

    with IMAPClient(settings.host, port=settings.port, ssl=settings.ssl, timeout=30) as client:
        client.login(settings.username, settings.password)
        selected = client.select_folder(settings.folder, readonly=True)
        validity = int(selected[b"UIDVALIDITY"])
        cursor = session.get(ImapCursor, settings.mailbox) or ImapCursor(mailbox=settings.mailbox)
        if cursor.uid_validity != validity:
            if cursor.uid_validity:
                log.warning("UIDVALIDITY of %s changed: reading it again", settings.mailbox)
            cursor.uid_validity, cursor.last_uid = validity, 0
            session.add(cursor)
            session.commit()
        uids = sorted(u for u in client.search(["UID", f"{cursor.last_uid + 1}:*"]) if u > cursor.last_uid)
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if isinstance(raw, bytes):
                    for address in logging_addresses(raw) or [settings.address]:
                        if store_inbound(session, raw, address, via="imap") is not None:
                            stored += 1
                cursor.last_uid = uid
                session.add(cursor)
                session.commit()
    return stored
