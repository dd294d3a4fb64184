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
    """The actor may not do this; nothing was written.

    ``message`` says why to the user (a translatable string, shown by the pages, the API's
    problem document and an import's preview) and ``field`` names what was refused; a bare
    reason (plain English, for the logs) is shown as a plain "access denied"."""

    def __init__(self, reason: Any = "", *, message: Any = None, field: str | None = None) -> None:
        super().__init__(reason if isinstance(reason, str) else "")
        self.message = message
        self.field = field
