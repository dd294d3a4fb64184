"""Security defaults: password hashing and policy, CSRF, secure headers, rate limits."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash

from crm.core.i18n import lazy_gettext as _l

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

MIN_PASSWORD_LENGTH = 10
# The most common passwords that pass the length rule; the rest of the policy is length.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "0123456789",
        "qwertyuiop",
        "azertyuiop",
        "password123",
        "password1234",
        "motdepasse",
        "motdepasse123",
        "iloveyou123",
        "administrator",
        "welcome123",
        "changeme123",
        "letmein1234",
        "qwerty12345",
    }
)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return check_password_hash(password_hash, password)
    except ValueError:
        return False


def password_problem(password: str, email: str = "") -> Any:
    """Why ``password`` is too weak (a lazily translated message), or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return _l("This password is too easy to guess.")
    local = email.split("@", 1)[0].lower()
    if local and len(local) >= 4 and local in lowered:
        return _l("The password must not contain your email address.")
    return None


def _secure_headers(response: Response) -> Response:
    nonce = g.get("csp_nonce", "")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _make_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(_make_nonce)
    app.after_request(_secure_headers)
    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")
