"""Signed, expiring one-click links (itsdangerous) whose page must still say, once the link
is too old, which link it was: an expired link is read back after its signature is checked."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadPayload, BadSignature, SignatureExpired, URLSafeTimedSerializer

MAX_TOKEN = 500


def read_timed(serializer: URLSafeTimedSerializer, token: str, max_age: int) -> tuple[Any, bool] | None:
    """``(data, expired)`` for a token ``serializer`` signed, or ``None`` when it did not
    (or the token is too long to be one of ours)."""
    if len(token) > MAX_TOKEN:
        return None
    try:
        return serializer.loads(token, max_age=max_age), False
    except SignatureExpired as exc:  # genuine (checked before the age), but too old
        try:
            return (serializer.load_payload(exc.payload) if exc.payload is not None else None), True
        except BadPayload:
            return None
    except BadSignature:
        return None
