"""The rights over owned objects at the operations themselves, whatever calls them: each
operation that changes an owner-like field, called by every role relative to the object.
An allowed call goes through; a refused one raises PermissionDenied, saying why (a message
in the user's language for an officer; a viewer is refused as read-only), before anything
entered the session.  Setting a field to the value it has is no change, and never refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, func, select

from crm.accounts.operations import hand_over_work
from crm.api.models import ApiToken
from crm.api.operations import revoke_api_token
from crm.core.errors import PermissionDenied
from crm.core.events import Event
from crm.digests.models import Subscription
from crm.digests.operations import update_subscription
from crm.followups.models import FollowUp
from crm.followups.operations import reassign_followup
from crm.leads.models import Lead, SavedFilter
from crm.leads.operations import add_watcher, delete_lead, delete_saved_filter, remove_watcher, update_lead
from crm.webhooks.models import WebhookEndpoint
from crm.webhooks.operations import update_webhook_endpoint
from tests.rights_world import (
    FOLLOWUP_ROLES,
    LEAD_ROLES,
    OWN_ROLES,
    SUBSCRIPTION_ROLES,
    RightsWorld,
    build_rights_world,
)
from tests.test_rights_matrix import quick_passwords  # noqa: F401 (an autouse fixture)

Operation = Callable[[Session, RightsWorld, Any], Any]
LEAD_MANAGERS = {"admin", "owner", "supervisor"}
EVERY_EDITOR = {"admin", "owner", "supervisor", "other", "watcher"}


def _lead(s: Session, w: RightsWorld) -> Lead:
    found = s.get(Lead, w.ids["lead"])
    assert found is not None
    return found


def _subscription_fields(s: Session, w: RightsWorld, **changed: Any) -> dict[str, Any]:
    return {**w.subscription_fields, **changed}


def _subscription(s: Session, w: RightsWorld) -> Subscription:
    found = s.get(Subscription, w.ids["subscription"])
    assert found is not None
    return found


# operation: (roles, who may, the call)
OPERATIONS: dict[str, tuple[dict[str, str], set[str], Operation]] = {
    "lead_owner": (
        LEAD_ROLES,
        LEAD_MANAGERS,
        lambda s, w, me: update_lead(s, _lead(s, w), actor=me, owner_id=w.id("spare")),
    ),
    "lead_confidential": (
        LEAD_ROLES,
        LEAD_MANAGERS,
        lambda s, w, me: update_lead(s, _lead(s, w), actor=me, confidential=not w.confidential),
    ),
    "lead_same_owner_and_confidential": (
        LEAD_ROLES,
        EVERY_EDITOR,
        lambda s, w, me: update_lead(
            s, _lead(s, w), actor=me, title="Renamed", owner_id=w.id("owner"), confidential=w.confidential
        ),
    ),
    "lead_watcher_list": (
        LEAD_ROLES,
        LEAD_MANAGERS,
        lambda s, w, me: update_lead(s, _lead(s, w), actor=me, watcher_ids=[w.id("watcher")]),
    ),
    "add_other_watcher": (
        LEAD_ROLES,
        LEAD_MANAGERS,
        lambda s, w, me: add_watcher(s, _lead(s, w), w.id("spare"), actor=me),
    ),
    "remove_other_watcher": (
        LEAD_ROLES,
        LEAD_MANAGERS,
        lambda s, w, me: remove_watcher(s, _lead(s, w), w.id("bystander"), actor=me),
    ),
    "watch_oneself": (LEAD_ROLES, EVERY_EDITOR, lambda s, w, me: add_watcher(s, _lead(s, w), me.id, actor=me)),
    "unwatch_oneself": (LEAD_ROLES, EVERY_EDITOR, lambda s, w, me: remove_watcher(s, _lead(s, w), me.id, actor=me)),
    "delete_lead": (LEAD_ROLES, LEAD_MANAGERS, lambda s, w, me: delete_lead(s, _lead(s, w), actor=me)),
    "reassign_followup": (
        FOLLOWUP_ROLES,
        {"admin", "lead_owner", "supervisor", "followup_owner"},
        lambda s, w, me: reassign_followup(s, s.get(FollowUp, w.ids["followup"]), w.id("spare"), actor=me),
    ),
    "subscription_email": (
        SUBSCRIPTION_ROLES,
        {"admin", "creator", "reader"},
        lambda s, w, me: update_subscription(
            s, _subscription(s, w), actor=me, **_subscription_fields(s, w, email="elsewhere@example.org")
        ),
    ),
    "subscription_filters": (
        SUBSCRIPTION_ROLES,
        {"admin", "creator", "reader"},
        lambda s, w, me: update_subscription(
            s, _subscription(s, w), actor=me, **_subscription_fields(s, w, filters={"sector_ids": [1]})
        ),
    ),
    "subscription_stop_confidential": (  # turning it off is theirs too (turning it on: the reader's)
        SUBSCRIPTION_ROLES,
        {"admin", "creator", "reader"},
        lambda s, w, me: update_subscription(
            s, _subscription(s, w), actor=me, **_subscription_fields(s, w, include_confidential=False)
        ),
    ),
    "subscription_name": (
        SUBSCRIPTION_ROLES,
        {"admin", "creator", "reader", "other"},
        lambda s, w, me: update_subscription(s, _subscription(s, w), actor=me, **_subscription_fields(s, w, name="X")),
    ),
    "delete_saved_filter": (
        OWN_ROLES,
        {"owner", "admin"},
        lambda s, w, me: delete_saved_filter(s, s.get(SavedFilter, w.ids["saved"]), actor=me),
    ),
    "revoke_api_token": (
        OWN_ROLES,
        {"owner", "admin"},
        lambda s, w, me: revoke_api_token(s, s.get(ApiToken, w.ids["token"]), actor=me),
    ),
    "hand_over_work": (  # a leaving officer's leads and follow-ups, all at once
        {"admin": "admin", "owner": "owner", "supervisor": "supervisor", "other": "other", "viewer": "viewer"},
        {"admin"},
        lambda s, w, me: hand_over_work(s, w.users["owner"], w.id("spare"), actor=me),
    ),
    "update_webhook": (
        OWN_ROLES,
        {"admin"},
        lambda s, w, me: update_webhook_endpoint(
            s,
            s.get(WebhookEndpoint, w.ids["endpoint"]),
            url="https://93.184.215.15/taken",
            event_types=["*"],
            description="",
            include_confidential=True,
            actor=me,
        ),
    ),
}


def _events(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Event)).one())


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_each_operation_checks_the_rights_over_what_it_changes(session: Session, name: str) -> None:
    roles, allowed, operation = OPERATIONS[name]
    world = build_rights_world(session, confidential=name == "subscription_stop_confidential")
    if name == "subscription_stop_confidential":  # its reader asked for confidential leads
        update_subscription(session, _subscription(session, world), **_subscription_fields(session, world))
        sub = _subscription(session, world)
        fields = _subscription_fields(session, world, include_confidential=True)
        update_subscription(session, sub, actor=world.users["watcher"], **fields)
        session.commit()
    events = _events(session)
    outcomes = {}
    for role, who in roles.items():
        me = world.users[who]
        try:
            operation(session, world, me)
        except PermissionDenied as exc:
            untouched = not (session.new or session.dirty or session.deleted)
            said = exc.message is not None or role == "viewer"
            outcomes[role] = "refused" if untouched and said else f"refused, but {session.new or session.dirty}"
        else:
            session.flush()  # what the operation wrote goes to the database, with its events
            outcomes[role] = "done" if _events(session) >= events else "done, but events vanished"
        session.rollback()
    assert outcomes == {role: "done" if role in allowed else "refused" for role in roles}
