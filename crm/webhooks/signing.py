"""Webhook signatures: how a receiver knows a delivery comes from Jisr and is fresh.

Each delivery carries ``Jisr-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is
HMAC-SHA256, keyed with the endpoint's signing secret (the whole ``whsec_…`` string as
UTF-8), of the bytes ``"<t>." + body``.  During the day after a secret is rotated the
header carries a second ``v1=`` made with the previous secret, so a receiver can switch
secrets without losing deliveries.

A receiver verifies it like this (or calls :func:`verify_signature`)::

    t, signatures = parse "t=…" and every "v1=…" of the header
    expected = hmac_sha256(secret, f"{t}.".encode() + raw_body).hexdigest()
    accept if any(compare_digest(expected, s) for s in signatures)
           and abs(now - t) <= 300 seconds

It must compare in constant time, use the raw body bytes as received (not re-encoded
JSON), and reject old timestamps so that a captured delivery cannot be replayed later.
``Jisr-Delivery`` stays the same across retries: a receiver that stores it can ignore a
delivery it has already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

SIGNATURE_HEADER = "Jisr-Signature"
EVENT_HEADER = "Jisr-Event"
DELIVERY_HEADER = "Jisr-Delivery"
DEFAULT_TOLERANCE = 300  # seconds
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that makes leaked secrets recognisable, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    message = f"{timestamp}.".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secrets_in_use: Iterable[str], timestamp: int, body: bytes) -> str:
    """``t=…,v1=…[,v1=…]``: one ``v1`` per secret (the current one first)."""
    parts = [f"t={timestamp}"] + [f"v1={sign(secret, timestamp, body)}" for secret in secrets_in_use]
    return ",".join(parts)


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within
    ``tolerance`` seconds of ``now`` (the receiver's clock)."""
    if not header or not secret:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdecimal():  # not isdigit(): "²" is a digit that int() refuses
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    raw = body.encode("utf-8") if isinstance(body, str) else body
    expected = sign(secret, timestamp, raw)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
