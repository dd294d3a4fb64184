"""Helpers for tests that drive the web application through its test client."""

from __future__ import annotations

from typing import Any

from tests.factories import PASSWORD


def login(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"email": email, "password": password})
