"""Settings from the environment: embedded defaults, production URLs, clear failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings({"JISR_INSTANCE_PATH": str(tmp_path), **env})


def test_embedded_defaults_need_no_server(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path / 'jisr.sqlite'}"
    assert s.broker_url.startswith("sqla+sqlite:///")
    assert s.mail.is_local
    assert s.embedded
    # The secret key is generated once and kept.
    assert settings(tmp_path).secret_key == s.secret_key
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_production_urls_switch_every_part(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        DATABASE_URL="postgresql://jisr:secret@db:5432/jisr",
        REDIS_URL="redis://redis:6379/0",
        MAIL_URL="smtps://mailer%40jisr.ma:p%40ss@smtp.example.org:465",
    )
    assert s.database_url == "postgresql+psycopg://jisr:secret@db:5432/jisr"
    assert s.broker_url == s.result_backend == "redis://redis:6379/0"
    assert (s.mail.scheme, s.mail.host, s.mail.port) == ("smtps", "smtp.example.org", 465)
    assert (s.mail.username, s.mail.password) == ("mailer@jisr.ma", "p@ss")
    assert not s.embedded


def test_smtp_url_with_starttls(tmp_path: Path) -> None:
    s = settings(tmp_path, MAIL_URL="smtp://user:pw@mail.example.org:587?starttls=1")
    assert s.mail.starttls and s.mail.port == 587


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/jisr"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", ""),
        ("DATABASE_URL", "sqlite://relative.db"),
        ("REDIS_URL", "http://localhost:6379"),
        ("REDIS_URL", "redis://localhost:notaport"),
        ("MAIL_URL", "smtp://"),
        ("MAIL_URL", "imap://mail.example.org"),
        ("MAIL_URL", "smtp://mail.example.org:99999"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("DEFAULT_LANGUAGE", "de"),
        ("PORT", "http"),
        ("SECRET_KEY", "short"),
        ("BASE_URL", "ftp://jisr"),
    ],
)
def test_malformed_setting_names_its_variable(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        settings(tmp_path, **{variable: value})
    assert str(excinfo.value).startswith(f"{variable}:")


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MAIL_URL")}
    clean.update(JISR_INSTANCE_PATH=str(tmp_path), **env)
    return subprocess.run(args, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "check"],
        [sys.executable, "-c", "import wsgi"],
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "inspect", "ping"],
    ],
    ids=["flask-cli", "wsgi", "celery"],
)
def test_bad_environment_gives_one_clear_line_and_no_traceback(tmp_path: Path, command: list[str]) -> None:
    result = _run(command, tmp_path, DATABASE_URL="mysql://root@localhost/jisr")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "jisr: DATABASE_URL: expected postgresql://user@host:port/dbname or sqlite:///path, "
        "got 'mysql://root@localhost/jisr'"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_operational_knobs_are_read_and_checked(tmp_path: Path) -> None:
    s = settings(tmp_path, MAIL_LEASE_SECONDS="5", ESCALATION_AFTER_DAYS="2")
    assert s.flask_config()["MAIL_LEASE_SECONDS"] == 5.0
    assert s.flask_config()["ESCALATION_AFTER_DAYS"] == 2
    with pytest.raises(ConfigError, match=r"^MAIL_MAX_ATTEMPTS: must be a number"):
        settings(tmp_path, MAIL_MAX_ATTEMPTS="many")
    with pytest.raises(ConfigError, match=r"^ESCALATION_AFTER_DAYS: must be between"):
        settings(tmp_path, ESCALATION_AFTER_DAYS="0")
