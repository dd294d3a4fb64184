"""``flask --app wsgi crm users create``: the first admin of a production install."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from crm.accounts.models import Role, User
from crm.core.events import Event
from crm.core.security import verify_password


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)


def create(app: Any, *args: str, password: str = "Strong-Passphrase-9") -> Any:
    """Runs the command with an English terminal unless a test says otherwise."""
    runner = app.test_cli_runner()
    return runner.invoke(args=["crm", "users", "create", *args, "--password-stdin"], input=password + "\n")


def test_create_admin_from_the_command_line(app: Any, session: Any) -> None:
    result = create(
        app,
        "--email",
        "Admin@Jisr.example",
        "--role",
        "admin",
        "--name",
        "Nadia",
        "--language",
        "ar",
        "--timezone",
        "Africa/Casablanca",
    )
    assert result.exit_code == 0, result.output
    user = session.exec(select(User)).one()
    assert (user.email, user.role, user.language.value) == ("admin@jisr.example", Role.ADMIN, "ar")
    assert verify_password(user.password_hash, "Strong-Passphrase-9")
    assert user.password_hash.startswith("scrypt:")
    assert session.exec(select(Event.type)).all() == ["user.created"]


def test_duplicate_email_is_refused(app: Any) -> None:
    assert create(app, "--email", "a@jisr.example", "--role", "officer").exit_code == 0
    result = create(app, "--email", "A@jisr.example", "--role", "viewer")
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_weak_password_is_refused(app: Any, session: Any) -> None:
    result = create(app, "--email", "a@jisr.example", "--role", "officer", password="azertyuiop")
    assert result.exit_code == 1 and "too easy to guess" in result.output
    result = create(app, "--email", "a@jisr.example", "--role", "officer", password="short")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    assert session.exec(select(User)).all() == []


def test_unknown_zone_is_refused(app: Any) -> None:
    result = create(app, "--email", "a@jisr.example", "--role", "officer", "--timezone", "Africa/Casablanka")
    assert result.exit_code == 1 and "Unknown time zone: Africa/Casablanka" in result.output


def test_password_must_come_from_stdin(app: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "users", "create", "--email", "a@jisr.example", "--role", "admin"])
    assert result.exit_code == 1 and "--password-stdin" in result.output


def test_invalid_role_and_email(app: Any) -> None:
    assert create(app, "--email", "a@jisr.example", "--role", "root").exit_code == 2
    result = create(app, "--email", "not-an-email", "--role", "admin")
    assert result.exit_code == 1 and "not a valid email" in result.output


def test_errors_speak_the_terminal_language(app: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("LANG", "fr_MA.UTF-8")
    result = create(app, "--email", "a@jisr.example", "--role", "officer", password="short")
    assert "Utilisez au moins 10 caractères." in result.output
