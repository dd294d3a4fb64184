"""The "account_mail" consumer emails set-password links: invitations, resets by an
administrator and forgotten passwords, each in the user's language."""

from __future__ import annotations

from sqlmodel import Session

from crm.accounts.mail import email_user
from crm.accounts.models import User
from crm.accounts.operations import PasswordLinkReason
from crm.accounts.tokens import MAX_AGE, set_password_url
from crm.core.consumers import consumer
from crm.core.events import Event


@consumer("account_mail", "user.password_link_requested")
def on_password_link_requested(session: Session, event: Event) -> None:
    user = session.get(User, event.entity_id) if event.entity_id is not None else None
    if user is None or not user.is_active:
        return
    try:
        reason = PasswordLinkReason(str(event.payload.get("reason", "")))
    except ValueError:
        reason = PasswordLinkReason.FORGOTTEN
    actor = session.get(User, event.actor_id) if event.actor_id is not None else None
    email_user(
        session,
        user,
        "password_link",
        dedupe_key=f"password-link:{event.id}",
        kind="password_link",
        reason=reason.value,
        actor_name=actor.display_name if actor is not None else "",
        link=set_password_url(user, for_email=True),
        days=MAX_AGE // 86400,
        email=user.email,
    )
