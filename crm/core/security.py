"""Security defaults: password hashing and policy, CSRF, secure headers, rate limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from flask import Flask, Response, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
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


def password_stamp(password_hash: str, purpose: str) -> str:
    """A short keyed digest of a password hash, different for each ``purpose``: whatever
    carries it (a login session, a set-password link) stops working when the password
    changes, and it tells nothing about the hash to whoever reads it."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{password_hash}".encode(), hashlib.sha256).hexdigest()[:20]


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
    if current_app.config["BASE_URL"].startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _make_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def init_app(app: Flask) -> None:
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind that many reverse proxies the client's address (for the login limits), the
        # scheme and the host come from their X-Forwarded-* headers; without one these
        # headers are anybody's to write and are ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(_make_nonce)
    app.after_request(_secure_headers)
    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")
