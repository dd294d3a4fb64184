"""Errors that operations raise for bad input: each names its field and carries a
message in the user's language (a lazy string, rendered where it is shown)."""

from __future__ import annotations

from typing import Any


class ValidationError(ValueError):
    """Bad input for an operation; nothing was written."""

    def __init__(self, errors: dict[str, Any]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))

    @classmethod
    def single(cls, field: str, message: Any) -> ValidationError:
        return cls({field: message})


class NotFound(LookupError):
    """A referenced row does not exist (or is not visible to the actor)."""


class PermissionDenied(PermissionError):
    """The actor may not do this."""
