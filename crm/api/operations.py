"""Writes to API tokens; each records its event (never the secret)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, select

from crm.accounts.models import User
from crm.accounts.permissions import owner_or_admin
from crm.api.models import TOKEN_PREFIX, ApiToken, TokenScope, hash_secret
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import ensure_utc, utcnow
from crm.core.validation import clean_enum, clean_name

NOT_YOURS = _l("Only its owner or an administrator can manage an API token.")


def _may_manage(actor: User | None, user_id: int) -> bool:
    """The owner, an admin, or the system itself (``None``: the command line)."""
    return owner_or_admin(actor, user_id)


def _new_prefix(session: Session) -> str:
    while True:
        prefix = secrets.token_hex(4)
        if session.exec(select(ApiToken.id).where(ApiToken.prefix == prefix)).first() is None:
            return prefix


def create_api_token(
    session: Session,
    user: User,
    *,
    name: str,
    scope: TokenScope | str,
    expires_at: datetime | None = None,
    actor: User | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its full text, which exists only in the return value:
    the caller shows it once, and only its hash is kept."""
    if not _may_manage(actor, user.id or 0):
        raise PermissionDenied("not your account", message=NOT_YOURS)
    if not user.is_active:
        raise ValidationError.single("user", _l("This account is deactivated."))
    token_name = clean_name(name, "name", max_length=100)
    clean_scope = clean_enum(TokenScope, scope, "scope")
    if clean_scope == TokenScope.WRITE and not user.can_edit():
        raise ValidationError.single("scope", _l("A read-only account can only have read tokens."))
    expiry = ensure_utc(expires_at) if expires_at is not None else None
    if expiry is not None and expiry <= utcnow():
        raise ValidationError.single("expires_at", _l("The expiry date must be in the future."))
    prefix = _new_prefix(session)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id or 0,
        name=token_name,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        scope=clean_scope,
        expires_at=expiry,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(token)
    record_event(
        session,
        "api_token.created",
        token,
        actor=actor,
        payload={"user_id": user.id, "name": token_name, "scope": clean_scope, "prefix": prefix, "expires_at": expiry},
    )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def revoke_api_token(session: Session, token: ApiToken, *, actor: User | None = None) -> bool:
    """Stop a token for good; revoking it again changes nothing."""
    if not _may_manage(actor, token.user_id):
        raise PermissionDenied("not your token", message=NOT_YOURS)
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    token.revoked_by_id = getattr(actor, "id", None)
    record_event(
        session,
        "api_token.revoked",
        token,
        actor=actor,
        payload={"user_id": token.user_id, "name": token.name, "prefix": token.prefix},
    )
    return True
