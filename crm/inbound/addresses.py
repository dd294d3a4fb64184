"""Logging addresses: one per user (``user-12.<token>@…``) and one per lead
(``lead-311.<token>@…``) on ``INBOUND_DOMAIN``.

The token is an HMAC of the owner's kind and id under a key derived from the secret key:
nobody can guess another lead's address from their own, yet no row has to be written
(or read) to show an address, so a list of leads costs nothing more and a page view
writes nothing.  Fifty bits of token against an SMTP service that refuses an unknown
recipient in the dialogue make guessing hopeless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from flask import current_app
from sqlmodel import Session

from crm.accounts.models import User
from crm.leads.models import Lead

Kind = Literal["lead", "user"]
TOKEN_LENGTH = 10
_LOCAL = re.compile(r"^(lead|user)-([1-9][0-9]{0,12})\.([a-z2-7]{" + str(TOKEN_LENGTH) + r"})$")


@lru_cache(maxsize=8)
def _derived(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"jisr inbound address", hashlib.sha256).digest()


def _key() -> bytes:
    """The addresses' key, derived from the secret key once per process (a list shows fifty)."""
    return _derived(str(current_app.config["SECRET_KEY"]))


def token(kind: Kind, owner_id: int) -> str:
    return _token(_key(), kind, owner_id)


@lru_cache(maxsize=4096)
def _token(key: bytes, kind: Kind, owner_id: int) -> str:
    digest = hmac.digest(key, f"{kind}:{owner_id}".encode(), "sha256")
    # Base32 writes each 5 bytes as 8 letters: the first 10 bytes give the first 16.
    return base64.b32encode(digest[:10]).decode("ascii").lower()[:TOKEN_LENGTH]


def domain() -> str:
    return str(current_app.config.get("INBOUND_DOMAIN") or "inbound.localhost")


def address_of(kind: Kind, owner_id: int) -> str:
    return f"{kind}-{owner_id}.{token(kind, owner_id)}@{domain()}"


def lead_address(lead: Lead | int) -> str:
    return address_of("lead", lead if isinstance(lead, int) else int(lead.id or 0))


def user_address(user: User | int) -> str:
    return address_of("user", user if isinstance(user, int) else int(user.id or 0))


@dataclass(frozen=True)
class Recipient:
    kind: Kind
    owner_id: int
    address: str


def parse_address(address: str) -> Recipient | None:
    """The owner an address names, if its token is right (whether the owner exists is
    :func:`resolve`'s question)."""
    text = address.strip().strip("<>").lower()
    local, _, host = text.rpartition("@")
    if host != domain():
        return None
    match = _LOCAL.match(local)
    if match is None:
        return None
    kind: Kind = "lead" if match.group(1) == "lead" else "user"
    owner_id = int(match.group(2))
    if not hmac.compare_digest(match.group(3), token(kind, owner_id)):
        return None
    return Recipient(kind, owner_id, text)


def resolve(session: Session, address: str) -> Recipient | None:
    """The recipient if mail to ``address`` is accepted now: a lead that exists, or an
    active user."""
    recipient = parse_address(address)
    if recipient is None:
        return None
    if recipient.kind == "lead":
        return recipient if session.get(Lead, recipient.owner_id) is not None else None
    user = session.get(User, recipient.owner_id)
    return recipient if user is not None and user.is_active else None
