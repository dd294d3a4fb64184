"""Who may write: checked by operations, whatever calls them (views, API, CLI, imports)."""

from __future__ import annotations

from typing import Any

from crm.accounts.models import Role
from crm.core.errors import PermissionDenied


def require_editor(actor: Any) -> None:
    """Viewers read; only officers and admins write (``None`` is the system itself)."""
    if actor is not None and not actor.can_edit():
        raise PermissionDenied("read-only account")


def is_admin(actor: Any) -> bool:
    return actor is not None and actor.role == Role.ADMIN


def owner_or_admin(actor: Any, *owner_ids: int | None) -> bool:
    """What belongs to someone (a saved filter, an API token, a subscription's reader) is
    theirs and the administrators' to change; ``None`` is the system itself."""
    if actor is None or is_admin(actor):
        return True
    return actor.id is not None and actor.id in owner_ids
