"""A world for the rights matrix: one user in each relation to the owned objects, the
objects themselves, and a picture of everything a refused request must leave as it was.

The lead of officer ``owner`` (whose supervisor is ``supervisor``) is watched by ``watcher``
and by ``bystander``; its follow-up belongs to ``watcher`` (the role ``followup_owner``);
``owner`` set up a digest subscription whose reader is ``watcher`` (the roles ``creator`` and
``reader``); ``owner`` has a saved filter and an API token; an administrator made a webhook
endpoint.  ``spare`` is the officer things are handed to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.accounts.operations import set_user_supervisor
from crm.api.models import ApiToken
from crm.api.operations import create_api_token
from crm.core.events import Event
from crm.digests.models import Subscription
from crm.digests.operations import create_subscription
from crm.followups.models import FollowUp
from crm.leads.models import Lead, LeadWatcher, SavedFilter
from crm.leads.operations import add_watcher, save_filter
from crm.organisations.models import Country
from crm.webhooks.models import WebhookEndpoint
from crm.webhooks.operations import create_webhook_endpoint
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.route_world import changes, snapshot

PEOPLE = ("admin", "owner", "supervisor", "other", "watcher", "bystander", "viewer", "spare")
# The roles of each kind of owned object, and which of the people plays each.
LEAD_ROLES = {r: r for r in ("admin", "owner", "supervisor", "other", "watcher", "viewer")}
FOLLOWUP_ROLES = {
    "admin": "admin",
    "lead_owner": "owner",
    "supervisor": "supervisor",
    "followup_owner": "watcher",
    "other": "other",
    "viewer": "viewer",
}
SUBSCRIPTION_ROLES = {"admin": "admin", "creator": "owner", "reader": "watcher", "other": "other", "viewer": "viewer"}
OWN_ROLES = {"admin": "admin", "owner": "owner", "other": "other", "viewer": "viewer"}


@dataclass
class RightsWorld:
    users: dict[str, User]
    lead: Lead
    followup: FollowUp
    subscription: Subscription
    saved: SavedFilter
    token: ApiToken
    endpoint: WebhookEndpoint
    tokens: dict[str, str]  # API tokens by person
    ma_id: int
    # As built, to put back after an allowed change.
    lead_title: str = ""
    confidential: bool = False
    followup_due: datetime = datetime(2030, 3, 4, 10, 0)
    subscription_fields: dict[str, Any] = field(default_factory=dict)

    def id(self, who: str) -> int:
        return self.users[who].id or 0

    @property
    def ids(self) -> dict[str, int]:
        """The objects' ids, kept when the world is built (a deleted lead's rows cannot be read)."""
        return self._ids

    def __post_init__(self) -> None:
        objects = {
            "lead": self.lead,
            "followup": self.followup,
            "subscription": self.subscription,
            "saved": self.saved,
            "token": self.token,
            "endpoint": self.endpoint,
        }
        self._ids = {name: int(obj.id or 0) for name, obj in objects.items()}


def build_rights_world(session: Session, *, confidential: bool = False) -> RightsWorld:
    roles = {"admin": Role.ADMIN, "viewer": Role.VIEWER}
    users = {
        who: make_user(
            session, roles.get(who, Role.OFFICER), email=f"{who}@jisr.example", name=who.title(), language="en"
        )
        for who in PEOPLE
    }
    session.flush()
    set_user_supervisor(session, users["owner"], users["supervisor"].id, actor=users["admin"])
    ma = make_organisation(session, Country.MA)
    us = make_organisation(session, Country.US)
    lead = make_lead(
        session,
        owner=users["owner"],
        title="Cloud skills academy",
        confidential=confidential,
        ma_organisation_id=ma.id,
        us_organisation_id=us.id,
    )
    for who in ("watcher", "bystander"):
        add_watcher(session, lead, users[who].id or 0, actor=users["owner"])
    followup = make_followup(
        session, lead, datetime(2030, 3, 4, 10, 0), owner_id=users["watcher"].id, actor=users["owner"]
    )
    subscription = create_subscription(
        session, name="", user_id=users["watcher"].id, send_when_empty=True, actor=users["owner"]
    )
    saved = save_filter(session, users["owner"], name="My pipeline", query="stage=contacted")
    token, _ = create_api_token(session, users["owner"], name="Sync", scope="write", actor=users["owner"])
    endpoint = create_webhook_endpoint(
        session, url="https://93.184.215.14/jisr/events", event_types=["lead.stage_changed"], actor=users["admin"]
    )
    tokens = {
        who: create_api_token(session, user, name="Matrix", scope="read" if who == "viewer" else "write", actor=user)[1]
        for who, user in users.items()
    }
    session.commit()
    names = ("name", "email", "language", "timezone", "cadence", "weekday", "send_hour", "filters")
    kept = {name: getattr(subscription, name) for name in names}
    kept.update(
        include_confidential=False, send_when_empty=True, organisation_id=subscription.organisation_id, filters={}
    )
    return RightsWorld(
        users,
        lead,
        followup,
        subscription,
        saved,
        token,
        endpoint,
        tokens,
        ma.id or 0,
        lead_title=lead.title,
        confidential=confidential,
        subscription_fields=kept,
    )


def watchers_of(session: Session, lead_id: int) -> set[int]:
    return set(session.exec(select(LeadWatcher.user_id).where(LeadWatcher.lead_id == lead_id)).all())


def row_of(session: Session, model: Any, row_id: int) -> dict[str, Any] | None:
    found = session.get(model, row_id)
    return None if found is None else found.model_dump()


@dataclass
class Picture:
    """Everything about the owned objects that a request could change."""

    rows: dict[str, Any]
    counts: dict[str, int]
    events: int

    @classmethod
    def take(cls, session: Session, world: RightsWorld) -> Picture:
        counts = snapshot(session)  # rolls back first: what is read is what is committed
        session.expire_all()
        ids = world.ids
        rows = {
            "lead": row_of(session, Lead, ids["lead"]),
            "watchers": watchers_of(session, ids["lead"]),
            "followup": row_of(session, FollowUp, ids["followup"]),
            "subscription": row_of(session, Subscription, ids["subscription"]),
            "saved": row_of(session, SavedFilter, ids["saved"]),
            "token": row_of(session, ApiToken, ids["token"]),
            "endpoint": row_of(session, WebhookEndpoint, ids["endpoint"]),
        }
        events = session.exec(select(func.count()).select_from(Event)).one()
        return cls(rows, counts, int(events))

    def differences(self, other: Picture, *, ignore: frozenset[str] = frozenset()) -> dict[str, Any]:
        """What changed, but the tables in ``ignore`` (an import's own rows and events)."""
        found: dict[str, Any] = {k: (v, other.rows[k]) for k, v in self.rows.items() if other.rows[k] != v}
        found.update({k: v for k, v in changes(self.counts, other.counts).items() if k not in ignore})
        if self.events != other.events and "event" not in ignore:
            found["events"] = (self.events, other.events)
        return found


def lead_events(session: Session, lead_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(Event).where(col(Event.lead_id) == lead_id)).one())
