"""Who may write: checked by operations, whatever calls them (views, API, CLI)."""

from __future__ import annotations

from typing import Any

from crm.core.errors import PermissionDenied


def require_editor(actor: Any) -> None:
    """Viewers read; only officers and admins write (``None`` is the system itself)."""
    if actor is not None and not actor.can_edit():
        raise PermissionDenied("read-only account")
