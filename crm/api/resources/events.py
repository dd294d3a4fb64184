"""``/events`` (the cursor-paged feed), ``/me``, ``/users`` and ``/sectors``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from crm.accounts.models import User
from crm.api.feed import read_feed
from crm.api.framework import Call, endpoint
from crm.api.listing import list_page, page_reply
from crm.api.schemas.events import (
    EventFeed,
    EventOut,
    EventQuery,
    MeOut,
    SectorList,
    SectorOut,
    SectorQuery,
    TokenInfo,
    UserList,
    UserOut,
    UserQuery,
)
from crm.core.db import db
from crm.inbound.addresses import user_address
from crm.reference.models import Sector


@endpoint(
    "GET",
    "/events",
    name="list_events",
    tag="events",
    summary="Read the event feed",
    query=EventQuery,
    response=EventFeed,
)
def list_events(call: Call) -> Any:
    """Every change recorded in Jisr that the caller may see, oldest first: the audit trail,
    for systems that follow what happens.  Read on with ``after=<next_cursor>``; an empty
    page means nothing new yet (poll again later with the same cursor).  An event appears
    once the transactions that were writing when it happened have ended, so no event is
    ever skipped; events of confidential leads only reach those who may see the lead."""
    q: EventQuery = call.query
    events, cursor = read_feed(
        db.session, call.user, after=int(q.after or 0), limit=q.limit, types=q.type, lead_id=q.lead_id
    )
    return EventFeed(items=[EventOut.model_validate(e) for e in events], next_cursor=str(cursor))


@endpoint("GET", "/me", name="get_me", tag="users", summary="Who the token acts for", response=MeOut)
def get_me(call: Call) -> Any:
    user, token = call.user, call.token
    return MeOut(
        id=user.id or 0,
        name=user.name,
        email=user.email,
        role=user.role,
        language=user.language,
        timezone=user.timezone,
        email_address=user_address(user),
        token=TokenInfo(name=token.name, scope=token.scope, prefix=token.display_prefix, expires_at=token.expires_at),
    )


@endpoint("GET", "/users", name="list_users", tag="users", summary="List users", query=UserQuery, response=UserList)
def list_users(call: Call) -> Any:
    """The users of the app: lead and follow-up owners, watchers."""
    q: UserQuery = call.query
    query = select(User)
    if q.is_active is not None:
        query = query.where(col(User.is_active).is_(q.is_active))
    if q.role is not None:
        query = query.where(col(User.role) == q.role)
    columns = {"name": func.lower(func.coalesce(func.nullif(User.name, ""), User.email)), "id": col(User.id)}
    found = list_page(db.session, query, q, name="users", columns=columns, tie=col(User.id))
    return page_reply(UserList, [UserOut.model_validate(row[0]) for row in found.rows], found)


@endpoint(
    "GET",
    "/sectors",
    name="list_sectors",
    tag="sectors",
    summary="List sectors",
    query=SectorQuery,
    response=SectorList,
)
def list_sectors(call: Call) -> Any:
    """The themes leads and organisations are about, named in three languages, in their
    ``position`` (then by id)."""
    q: SectorQuery = call.query
    query = select(Sector)
    if q.is_active is not None:
        query = query.where(col(Sector.is_active).is_(q.is_active))
    found = list_page(
        db.session,
        query,
        q,
        name="sectors",
        columns={"position": col(Sector.position)},
        tie=col(Sector.id),
        sort="position",
    )
    return page_reply(SectorList, [SectorOut.model_validate(row[0]) for row in found.rows], found)
