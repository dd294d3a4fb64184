"""Helpers for tests of the JSON API: tokens and their headers."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm.accounts.models import User
from crm.api.operations import create_api_token


def make_token(session: Session, user: User, scope: str = "write", **kwargs: Any) -> str:
    """A committed token of ``user``; its full text."""
    _, secret = create_api_token(session, user, name=kwargs.pop("name", "Test"), scope=scope, **kwargs)
    session.commit()
    return secret


def bearer(token: str, language: str | None = "en", **headers: str) -> dict[str, str]:
    found = {"Authorization": f"Bearer {token}", **headers}
    if language:
        found["Accept-Language"] = language
    return found
