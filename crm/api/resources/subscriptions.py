"""``/subscriptions``: who receives which digest; and sending one now.

As on the web pages, only officers and admins see subscriptions, and one that carries
confidential leads exists only for its user and the admins."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from sqlmodel import col

from crm.accounts.models import Role, User
from crm.api.framework import Call, Reply, created, endpoint
from crm.api.listing import list_page, page_reply
from crm.api.problems import ApiError, invalid
from crm.api.schemas.subscriptions import (
    DigestSend,
    DigestSent,
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionQuery,
    SubscriptionUpdate,
)
from crm.core.db import db, pk
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.digests.dispatch import due_period, send_digest_now
from crm.digests.models import Subscription
from crm.digests.operations import create_subscription, resubscribe, unsubscribe, update_subscription
from crm.digests.periods import parse_period

TAG = "subscriptions"


def _may_open(user: User) -> Any:
    if user.role == Role.ADMIN:
        return True
    return or_(col(Subscription.include_confidential).is_(False), col(Subscription.user_id) == user.id)


def _subscription(user: User, subscription_id: int) -> Subscription:
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or not (
        user.role == Role.ADMIN or not subscription.include_confidential or subscription.user_id == user.id
    ):
        raise ApiError(404)
    return subscription


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(subscription)


@endpoint(
    "GET",
    "/subscriptions",
    name="list_subscriptions",
    tag=TAG,
    summary="List digest subscriptions",
    query=SubscriptionQuery,
    response=SubscriptionList,
    editors_only=True,
)
def list_subscriptions(call: Call) -> Any:
    q: SubscriptionQuery = call.query
    query = select(Subscription).where(_may_open(call.user))
    for column, value in (
        (Subscription.is_active, q.is_active),
        (Subscription.user_id, q.user_id),
        (Subscription.cadence, q.cadence),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    columns = {
        "name": func.lower(Subscription.name),
        "created_at": col(Subscription.created_at),
        "id": col(Subscription.id),
    }
    found = list_page(db.session, query, q, name="subscriptions", columns=columns, tie=col(Subscription.id))
    return page_reply(SubscriptionList, [subscription_out(row[0]) for row in found.rows], found)


@endpoint(
    "GET",
    "/subscriptions/<int:subscription_id>",
    name="get_subscription",
    tag=TAG,
    summary="Read a digest subscription",
    response=SubscriptionOut,
    conditional=True,
    editors_only=True,
)
def get_subscription(call: Call, subscription_id: int) -> Any:
    return subscription_out(_subscription(call.user, subscription_id))


@endpoint(
    "POST",
    "/subscriptions",
    name="create_subscription",
    tag=TAG,
    summary="Subscribe someone to a digest",
    body=SubscriptionCreate,
    response=SubscriptionOut,
    status=201,
    conditional=True,
)
def create_subscription_endpoint(call: Call) -> Any:
    fields = call.body.model_dump(mode="json")
    subscription = create_subscription(db.session, actor=call.user, **fields)
    db.session.flush()
    return created(subscription_out(subscription), "get_subscription", subscription_id=pk(subscription))


@endpoint(
    "PATCH",
    "/subscriptions/<int:subscription_id>",
    name="update_subscription",
    tag=TAG,
    summary="Change a digest subscription",
    body=SubscriptionUpdate,
    response=SubscriptionOut,
    conditional=True,
)
def update_subscription_endpoint(call: Call, subscription_id: int) -> Any:
    """Its ``email``, ``filters`` and ``include_confidential`` change only by whoever set it
    up, its reader (the user it belongs to) or an administrator (403 for anyone else)."""
    subscription = _subscription(call.user, subscription_id)
    current = subscription_out(subscription)
    call.require_match(current)
    fields = current.model_dump(
        mode="json",
        include={
            "name",
            "email",
            "language",
            "timezone",
            "cadence",
            "weekday",
            "send_hour",
            "filters",
            "include_confidential",
            "send_when_empty",
            "organisation_id",
        },
    )
    fields.update(call.body.model_dump(mode="json", include=call.given))
    update_subscription(db.session, subscription, actor=call.user, **fields)
    return subscription_out(subscription)


@endpoint(
    "DELETE",
    "/subscriptions/<int:subscription_id>",
    name="deactivate_subscription",
    tag=TAG,
    summary="Deactivate a digest subscription",
    response=SubscriptionOut,
    conditional=True,
)
def deactivate_subscription(call: Call, subscription_id: int) -> Any:
    """Stops the digest, as the web page's "deactivate" does: the subscription and its
    archive stay, with ``is_active`` false.  Deactivating it again changes nothing."""
    subscription = _subscription(call.user, subscription_id)
    call.require_match(subscription_out(subscription))
    unsubscribe(db.session, subscription, actor=call.user, via="api")
    return subscription_out(subscription)


@endpoint(
    "POST",
    "/subscriptions/<int:subscription_id>/reactivate",
    name="reactivate_subscription",
    tag=TAG,
    summary="Start a stopped digest subscription again",
    response=SubscriptionOut,
    conditional=True,
)
def reactivate_subscription(call: Call, subscription_id: int) -> Any:
    """The next digest is the next period's (not the one missed while it was stopped).
    Reactivating an active subscription changes nothing."""
    subscription = _subscription(call.user, subscription_id)
    call.require_match(subscription_out(subscription))
    resubscribe(db.session, subscription, actor=call.user)
    return subscription_out(subscription)


@endpoint(
    "POST",
    "/subscriptions/<int:subscription_id>/send",
    name="send_digest",
    tag=TAG,
    summary="Send a digest now",
    body=DigestSend,
    body_required=False,
    response=DigestSent,
    status=202,
    errors=(409,),
)
def send_digest(call: Call, subscription_id: int) -> Any:
    """Compiles the digest of a finished period and queues it in the mail ledger, exactly as
    the scheduler would (so it is never sent twice). An already sent digest answers 409
    unless ``again`` is true."""
    subscription = _subscription(call.user, subscription_id)
    body: DigestSend = call.body
    if body.period is None:
        period = due_period(subscription, utcnow())
    else:
        found = parse_period(
            body.period, subscription.cadence, subscription.timezone, subscription.weekday, subscription.send_hour
        )
        if found is None:
            message = _l("This is not a period of this subscription's cadence.")
            raise invalid([{"loc": ["body", "period"], "message": message, "type": "invalid"}])
        period = found
    outcome = send_digest_now(db.session, subscription, period, again=body.again)
    if outcome == "already_sent":
        raise ApiError(409, code="already_sent", detail=_l("This digest was already sent."))
    return Reply(
        DigestSent(outcome="resent" if outcome == "resent" else "queued", period=period.key),
        202,
        after_commit=[_hurry_mail],
    )


def _hurry_mail() -> None:
    """Ask a worker to send it now; the mail sweeper sends it anyway if the broker is down."""
    from workers.mail import enqueue_due_mail

    try:
        enqueue_due_mail()
    except Exception:
        current_app.logger.warning("could not enqueue the digest", exc_info=True)
