"""Writes to digest subscriptions; each records its event."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm.accounts.models import Language, User
from crm.accounts.permissions import owner_or_admin, require_editor
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import changes_of, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.core.validation import clean_email, clean_enum, clean_language, clean_name, clean_zone
from crm.core.wire import strip_name
from crm.digests.models import Cadence, Subscription
from crm.organisations.models import Contact, Organisation

FILTER_KEYS = frozenset(
    {"ma_organisation_ids", "us_organisation_ids", "sector_ids", "partnership_types", "owner_ids", "mission_ids"}
)
# What a digest tells and to whom: changed only by whoever set the subscription up, its
# reader (the user it belongs to) and the administrators.
DIRECTED_FIELDS = ("email", "filters", "include_confidential")
DIRECTED = _l(
    "Only whoever set up this subscription, its reader or an administrator can change "
    "its address, its filters or whether it includes confidential leads."
)


def may_direct_subscription(user: User | None, subscription: Subscription) -> bool:
    return owner_or_admin(user, subscription.created_by_id, subscription.user_id)


def _clean_filters(filters: dict[str, Any]) -> dict[str, list[Any]]:
    unknown = set(filters) - FILTER_KEYS
    if unknown:
        raise ValidationError.single("filters", _l("Unknown filter: %(name)s", name=sorted(unknown)[0]))
    clean: dict[str, list[Any]] = {}
    for key, values in filters.items():
        if not isinstance(values, (list, tuple)):
            raise ValidationError.single("filters", _l("A filter is a list of values."))
        if values:
            clean[key] = sorted(set(values))
    return clean


def _clean_organisation(session: Session, organisation_id: int | None) -> int | None:
    if not organisation_id:
        return None
    if session.get(Organisation, organisation_id) is None:
        raise ValidationError.single("organisation_id", _l("Unknown organisation."))
    return int(organisation_id)


def _check_confidential(user: User | None, email: str, include_confidential: bool, actor: User | None) -> None:
    """Confidential leads reach only an app user allowed to see them, at that user's own
    address, and only that user or an admin may ask for them."""
    if not include_confidential:
        return
    if user is None:
        raise ValidationError.single(
            "include_confidential", _l("Confidential leads can only be sent to users of the app.")
        )
    if email.lower() != user.email.lower():
        raise ValidationError.single(
            "include_confidential", _l("Confidential leads are sent only to the user's own address.")
        )
    if actor is not None and actor.id != user.id and actor.role.value != "admin":
        raise ValidationError.single(
            "include_confidential", _l("Only the user or an administrator can include confidential leads.")
        )


def create_subscription(
    session: Session,
    *,
    name: str,
    email: str | None = None,
    user_id: int | None = None,
    contact_id: int | None = None,
    organisation_id: int | None = None,
    language: Language | str | None = None,
    timezone: str | None = None,
    cadence: Cadence | str = Cadence.WEEKLY,
    weekday: int = 0,
    send_hour: int = 8,
    filters: dict[str, Any] | None = None,
    include_confidential: bool = False,
    send_when_empty: bool = False,
    actor: User | None = None,
) -> Subscription:
    """Subscribe a user, a contact or any email address to a digest."""
    require_editor(actor)
    user = session.get(User, user_id) if user_id else None
    contact = session.get(Contact, contact_id) if contact_id else None
    if user_id and user is None:
        raise ValidationError.single("user_id", _l("Unknown user."))
    if contact_id and contact is None:
        raise ValidationError.single("contact_id", _l("Unknown contact."))
    source: Any = user or contact
    address = clean_email(email or getattr(source, "email", None))
    if not 0 <= weekday <= 6:
        raise ValidationError.single("weekday", _l("Not a valid choice."))
    if not 0 <= send_hour <= 23:
        raise ValidationError.single("send_hour", _l("Choose an hour between 00:00 and 23:00."))
    _check_confidential(user, address or "", include_confidential, actor)
    subscription = Subscription(
        user_id=user.id if user else None,
        contact_id=contact.id if contact else None,
        organisation_id=_clean_organisation(session, organisation_id or (contact.organisation_id if contact else None)),
        name=clean_name(
            name or strip_name(getattr(source, "name", "") or getattr(source, "display_name", "")),
            "name",
            max_length=200,
        ),
        email=address or "",
        language=Language(clean_language(language or getattr(source, "language", "fr"))),
        timezone=clean_zone(timezone or getattr(source, "timezone", "Africa/Casablanca")),
        cadence=clean_enum(Cadence, cadence, "cadence"),
        weekday=weekday,
        send_hour=send_hour,
        filters=_clean_filters(filters or {}),
        include_confidential=include_confidential,
        send_when_empty=send_when_empty,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(subscription)
    record_event(
        session,
        "subscription.created",
        subscription,
        actor=actor,
        payload={
            "email": subscription.email,
            "language": subscription.language,
            "cadence": subscription.cadence,
            "filters": subscription.filters,
        },
    )
    return subscription


def unsubscribe(session: Session, subscription: Subscription, *, actor: User | None = None, via: str = "ui") -> bool:
    if not subscription.is_active:
        return False
    subscription.is_active = False
    subscription.unsubscribed_at = utcnow()
    record_event(session, "subscription.unsubscribed", subscription, actor=actor, payload={"via": via})
    return True


def resubscribe(session: Session, subscription: Subscription, *, actor: User | None = None) -> bool:
    """Start sending again (the reader asked for it); the next digest is the next period's."""
    if subscription.is_active:
        return False
    subscription.is_active = True
    subscription.unsubscribed_at = None
    subscription.resumed_at = utcnow()  # periods that fell due while it was stopped are not sent
    record_event(session, "subscription.resubscribed", subscription, actor=actor)
    return True


def update_subscription(
    session: Session,
    subscription: Subscription,
    *,
    name: str,
    email: str,
    language: Language | str,
    timezone: str,
    cadence: Cadence | str,
    weekday: int,
    send_hour: int,
    filters: dict[str, Any],
    include_confidential: bool,
    send_when_empty: bool,
    organisation_id: int | None,
    actor: User | None = None,
) -> dict[str, list[Any]]:
    """Change who, when and what; returns the changes (recorded as one event).  The address,
    the filters and the confidential leads are changed only by :func:`may_direct_subscription`."""
    require_editor(actor)
    if not 0 <= weekday <= 6:
        raise ValidationError.single("weekday", _l("Not a valid choice."))
    if not 0 <= send_hour <= 23:
        raise ValidationError.single("send_hour", _l("Choose an hour between 00:00 and 23:00."))
    user = session.get(User, subscription.user_id) if subscription.user_id else None
    cleaned = {
        "name": clean_name(name, "name", max_length=200),
        "email": clean_email(email) or "",
        "language": Language(clean_language(language)),
        "timezone": clean_zone(timezone),
        "cadence": clean_enum(Cadence, cadence, "cadence"),
        "weekday": weekday,
        "send_hour": send_hour,
        "filters": _clean_filters(filters),
        "include_confidential": bool(include_confidential),
        "send_when_empty": send_when_empty,
        "organisation_id": _clean_organisation(session, organisation_id),
    }
    for key in DIRECTED_FIELDS:  # the same value again is no change (a form posts every field)
        if cleaned[key] != getattr(subscription, key) and not may_direct_subscription(actor, subscription):
            raise PermissionDenied("not a subscription of the actor", message=DIRECTED, field=key)
    _check_confidential(user, cleaned["email"], include_confidential, actor)
    changes = changes_of(subscription, cleaned)
    if changes:
        record_event(session, "subscription.updated", subscription, actor=actor, payload={"changes": changes})
    return changes
