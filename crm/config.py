"""Settings from the environment.

Two modes share one code path: with no server settings Jisr runs embedded (SQLite
under ``instance/``, Celery over SQLite, mail kept locally); setting ``DATABASE_URL``,
``REDIS_URL`` and ``MAIL_URL`` switches each part to its production server.  A bad
value stops the program at start with one line naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from crm.core.time import is_valid_zone
from crm.core.wire import BadAddress, parse_sender

LANGUAGES = ("ar", "fr", "en")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class MailSettings:
    """Where outgoing mail goes: an SMTP server, or the local outbox folder."""

    scheme: str  # "smtp", "smtps" or "local"
    host: str = ""
    port: int = 0
    username: str | None = None
    password: str | None = None
    starttls: bool = False

    @property
    def is_local(self) -> bool:
        return self.scheme == "local"


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    broker_url: str
    result_backend: str
    redis_url: str | None
    mail: MailSettings
    mail_from: str
    secret_key: str
    base_url: str
    default_language: str
    default_timezone: str
    rate_limit_storage: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    def flask_config(self) -> dict[str, Any]:
        return {
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.database_url,
            "BROKER_URL": self.broker_url,
            "RESULT_BACKEND": self.result_backend,
            "REDIS_URL": self.redis_url,
            "MAIL": self.mail,
            "MAIL_FROM": self.mail_from,
            "BASE_URL": self.base_url,
            "BABEL_DEFAULT_LOCALE": self.default_language,
            "BABEL_DEFAULT_TIMEZONE": "UTC",
            "DEFAULT_TIMEZONE": self.default_timezone,
            "RATELIMIT_STORAGE_URI": self.rate_limit_storage,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.base_url.startswith("https://"),
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.base_url.startswith("https://"),
            "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
            **self.extra,
        }


def shown(url: str) -> str:
    """A URL as it may be printed: its password replaced by ``***`` (even when malformed)."""
    return re.sub(r"(://[^:/@]*):[^/@]*@", r"\1:***@", url)


def normalise_database_url(value: str, variable: str = "DATABASE_URL") -> str:
    """Accept ``postgresql://`` and ``sqlite:///`` URLs; PostgreSQL goes through psycopg 3."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ConfigError(f"{variable}: malformed URL ({exc}): {shown(value)!r}") from None
    scheme = parts.scheme.lower()
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        if not parts.hostname and not parts.path.strip("/"):
            raise ConfigError(f"{variable}: a PostgreSQL URL needs a host or a database name")
        rest = value.split("://", 1)[1]
        return f"postgresql+psycopg://{rest}"
    if scheme == "sqlite":
        if not value.startswith("sqlite:///"):
            raise ConfigError(f"{variable}: a SQLite URL looks like sqlite:///path/to/file.sqlite")
        return value
    raise ConfigError(
        f"{variable}: expected postgresql://user@host:port/dbname or sqlite:///path, got {shown(value)!r}"
    )


def parse_redis_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(f"REDIS_URL: malformed port in {shown(value)!r}") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(f"REDIS_URL: expected redis://host:port/db, got {shown(value)!r}")
    return value


def parse_mail_url(value: str) -> MailSettings:
    """``smtp://user:pass@host:port`` (STARTTLS with ``?starttls=1``) or ``smtps://…``."""
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ConfigError(f"MAIL_URL: malformed URL ({exc}): {shown(value)!r}") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(
            f"MAIL_URL: expected smtp://user:pass@host:port or smtps://user:pass@host:port, got {shown(value)!r}"
        )
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as exc:
        raise ConfigError("MAIL_URL: the port is not a number between 1 and 65535") from exc
    return MailSettings(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls="starttls=1" in parts.query or "starttls=true" in parts.query,
    )


def _secret_key(env: Mapping[str, str], instance_path: Path) -> str:
    key = env.get("SECRET_KEY")
    if key is not None:
        if len(key) < 32:
            raise ConfigError("SECRET_KEY: must be at least 32 characters long")
        return key
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


# Operational knobs that a deployment (or a test driving real workers) may tune.
NUMERIC_KNOBS: dict[str, tuple[type, float, float]] = {
    "ESCALATION_AFTER_DAYS": (int, 1, 60),
    "EVENT_REDELIVERY_AFTER_SECONDS": (float, 1, 86400),
    "MAIL_LEASE_SECONDS": (float, 1, 3600),
    "MAIL_RETRY_BASE_SECONDS": (float, 0.01, 3600),
    "MAIL_MAX_ATTEMPTS": (int, 1, 50),
    "WEBHOOK_TIMEOUT_SECONDS": (float, 0.1, 60),
    "WEBHOOK_LEASE_SECONDS": (float, 1, 3600),
    "WEBHOOK_RETRY_BASE_SECONDS": (float, 0.01, 3600),
    "WEBHOOK_MAX_ATTEMPTS": (int, 1, 50),
    "WEBHOOK_DISABLE_AFTER_FAILURES": (int, 1, 1000),
    "WEBHOOK_DISABLE_AFTER_SECONDS": (float, 60, 30 * 86400),
    "API_RATE_LIMIT_PER_MINUTE": (int, 1, 100000),
    "API_EVENT_FEED_SETTLE_SECONDS": (float, 0, 60),
    "LIST_EXACT_COUNT_LIMIT": (int, 10, 1_000_000),
    "IMPORT_MAX_BYTES": (int, 1024, 15 * 1024 * 1024),
    "IMPORT_MAX_ROWS": (int, 1, 200_000),
    "IMPORT_INLINE_ROWS": (int, 0, 200_000),
    "IMPORT_READ_SECONDS": (float, 1, 600),
    "TRUSTED_PROXIES": (int, 0, 5),
    "SESSION_IDLE_MINUTES": (int, 5, 30 * 24 * 60),
    "SESSION_MAX_HOURS": (int, 1, 90 * 24),
    "BEAT_LOCK_SECONDS": (float, 1, 600),
    # Retention (crm/system/retention.py): 0 keeps for ever.
    "MAIL_BODY_RETENTION_DAYS": (int, 0, 36500),
    "WEBHOOK_LOG_RETENTION_DAYS": (int, 0, 36500),
    "IMPORT_FILE_RETENTION_DAYS": (int, 0, 36500),
    "NOTIFICATION_RETENTION_DAYS": (int, 0, 36500),
    "BROKER_RETENTION_HOURS": (int, 0, 24 * 365),
    "EVENT_RETENTION_DAYS": (int, 0, 36500),
    "CHECKIN_LINK_DAYS": (int, 1, 365),
    "MISSION_TRAVEL_MARGIN_HOURS": (float, 0, 72),
    "INBOUND_MAX_BYTES": (int, 1024, 100 * 1024 * 1024),
}


def _knobs(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (kind, low, high) in NUMERIC_KNOBS.items():
        raw = env.get(name)
        if raw is None:
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}: must be a number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}: must be between {low:g} and {high:g}, got {raw!r}")
        values[name] = value
    return values


def parse_checkin_days(raw: str) -> tuple[int, ...]:
    """``CHECKIN_DAYS``: the days after a meeting when its contacts are asked how its leads
    stand, e.g. "90,180"; "0" or "" turns the check-ins off."""
    text = raw.strip()
    if text in ("", "0"):
        return ()
    days: set[int] = set()
    for part in text.split(","):
        value = part.strip()
        if not value.isdigit() or not 1 <= int(value) <= 3650:
            raise ConfigError(f"CHECKIN_DAYS: expected days between 1 and 3650 separated by commas, got {raw!r}")
        days.add(int(value))
    return tuple(sorted(days))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise :class:`ConfigError` on the first bad one."""
    env = os.environ if env is None else env
    instance_path = Path(env.get("JISR_INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()

    raw_db = env.get("DATABASE_URL")
    if raw_db is not None and not raw_db.strip():
        raise ConfigError("DATABASE_URL: is set but empty; unset it to use the embedded SQLite database")
    database_url = normalise_database_url(raw_db.strip()) if raw_db else f"sqlite:///{instance_path / 'jisr.sqlite'}"

    raw_redis = env.get("REDIS_URL")
    if raw_redis is not None and not raw_redis.strip():
        raise ConfigError("REDIS_URL: is set but empty; unset it to use the embedded broker")
    redis_url = parse_redis_url(raw_redis.strip()) if raw_redis else None
    if redis_url:
        broker_url, result_backend = redis_url, redis_url
    else:
        broker_url = f"sqla+sqlite:///{instance_path / 'broker.sqlite'}"
        result_backend = f"db+sqlite:///{instance_path / 'celery-results.sqlite'}"

    raw_mail = env.get("MAIL_URL")
    mail = parse_mail_url(raw_mail.strip()) if raw_mail else MailSettings(scheme="local")

    language = env.get("DEFAULT_LANGUAGE", "fr")
    if language not in LANGUAGES:
        raise ConfigError(f"DEFAULT_LANGUAGE: must be one of {', '.join(LANGUAGES)}, got {language!r}")
    zone = env.get("DEFAULT_TIMEZONE", "Africa/Casablanca")
    if not is_valid_zone(zone):
        raise ConfigError(f"DEFAULT_TIMEZONE: {zone!r} is not an IANA time zone")

    port = env.get("PORT", "5000")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"PORT: must be a number between 1 and 65535, got {port!r}")
    base_url = env.get("BASE_URL", f"http://127.0.0.1:{port}").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"BASE_URL: must start with http:// or https://, got {base_url!r}")

    mail_from = env.get("MAIL_FROM", "Jisr <jisr@localhost>")
    if "\n" in mail_from or "\r" in mail_from:
        raise ConfigError(f"MAIL_FROM: not an email address: {mail_from!r}")
    try:
        parse_sender(mail_from)
    except BadAddress:
        raise ConfigError(f"MAIL_FROM: not an email address: {mail_from!r}") from None

    return Settings(
        instance_path=instance_path,
        database_url=database_url,
        broker_url=broker_url,
        result_backend=result_backend,
        redis_url=redis_url,
        mail=mail,
        mail_from=mail_from,
        secret_key=_secret_key(env, instance_path),
        base_url=base_url,
        default_language=language,
        default_timezone=zone,
        rate_limit_storage=redis_url or "memory://",
        extra={
            **_knobs(env),
            **_metrics_access(env),
            "CHECKIN_DAYS": parse_checkin_days(env.get("CHECKIN_DAYS", "90,180")),
            **_observability(env),
            **_inbound(env),
        },
    )


def _metrics_access(env: Mapping[str, str]) -> dict[str, str]:
    """Who may read ``/metrics``: a bearer token (at least 16 characters) and/or client
    addresses or networks; with neither the page does not exist (404)."""
    token = env.get("METRICS_TOKEN", "").strip()
    if token and len(token) < 16:
        raise ConfigError("METRICS_TOKEN: must be at least 16 characters")
    allow = [a.strip() for a in env.get("METRICS_ALLOW", "").split(",") if a.strip()]
    for address in allow:
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise ConfigError(f"METRICS_ALLOW: {address!r} is not an address or a network") from None
    return {"METRICS_TOKEN": token, "METRICS_ALLOW": ",".join(allow)}


def _observability(env: Mapping[str, str]) -> dict[str, Any]:
    """``LOG_FORMAT`` (``text``, the default, or ``json``: one JSON object per line) and
    ``WORKER_METRICS_PORT`` (a Celery worker serves its metrics there; unset: no server)."""
    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT: expected text or json, got {env.get('LOG_FORMAT')!r}")
    raw_port = env.get("WORKER_METRICS_PORT", "").strip()
    if raw_port and (not raw_port.isdigit() or not 0 < int(raw_port) < 65536):
        raise ConfigError(f"WORKER_METRICS_PORT: must be a number between 1 and 65535, got {raw_port!r}")
    return {"LOG_FORMAT": log_format, "WORKER_METRICS_PORT": int(raw_port) if raw_port else None}


_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def parse_bind(value: str, variable: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:2525`` for IPv6) to listen on."""
    host, _, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{variable}: expected host:port such as 127.0.0.1:2525, got {value!r}")
    return host, int(port)


def _inbound(env: Mapping[str, str]) -> dict[str, Any]:
    """Inbound mail: the domain of the logging addresses, and where the SMTP service listens."""
    domain = env.get("INBOUND_DOMAIN", "inbound.localhost").strip().lower()
    if not _HOST_NAME.match(domain):
        raise ConfigError(f"INBOUND_DOMAIN: expected a domain name such as inbound.example.org, got {domain!r}")
    bind = env.get("INBOUND_SMTP_BIND", "127.0.0.1:2525")
    parse_bind(bind, "INBOUND_SMTP_BIND")
    imap = env.get("INBOUND_IMAP_URL", "").strip()
    if imap:
        from crm.inbound.imap import parse_imap_url

        parse_imap_url(imap)
    return {"INBOUND_DOMAIN": domain, "INBOUND_SMTP_BIND": bind.strip(), "INBOUND_IMAP_URL": imap}
