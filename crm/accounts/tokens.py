"""Signed set-password links (itsdangerous), for invitations and password resets.

A link carries the user's id and a stamp of the current password hash, signed with the
app's secret and valid for a few days.  Setting a password changes the hash, so a link
works once; a newer reset makes older links useless too.  A link reaches the user by
email (an invitation, a reset by an administrator, a forgotten password) and the
administrator also sees it once, to pass it on where mail does not reach; nobody but the
user ever knows the password."""

from __future__ import annotations

import secrets

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session

from crm.accounts.models import User
from crm.core.db import pk
from crm.core.security import password_stamp

SALT = "jisr.set-password"
MAX_AGE = 3 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return password_stamp(user.password_hash, "set-password")


def unusable_password() -> str:
    """A random password nobody is told: the account waits for its set-password link."""
    return secrets.token_urlsafe(32)


def set_password_url(user: User, *, for_email: bool = False) -> str:
    """The link, on the host the administrator's browser uses, or for an email on
    ``BASE_URL`` (the public address; a worker writing an email has no request)."""
    token = _serializer().dumps({"u": pk(user), "h": _fingerprint(user)})
    if for_email:
        return f"{current_app.config['BASE_URL']}/set-password/{token}"
    return url_for("admin_users.set_password", token=token, _external=True)


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a valid, unused, unexpired link is for; ``None`` otherwise."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = session.get(User, data["u"])
    if user is None or not user.is_active or not secrets.compare_digest(str(data.get("h")), _fingerprint(user)):
        return None
    return user
