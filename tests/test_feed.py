"""The feed: after any sequence of operations, by any actor and at any moment of the
window, Today's recent changes read from the feed are exactly those the live query on
the events gives (the query Today ran before the feed), for every viewer and limit;
whether kept as the writers commit or by the consumer alone (events consumed late,
twice, out of order), and the rebuild gives the same entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, or_, select

from crm.accounts.models import Role, User
from crm.core.consumers import consume
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event
from crm.core.outbox import publish_pending
from crm.core.time import utcnow
from crm.feed import consumers as feed_consumers
from crm.feed.models import FeedEntry
from crm.feed.rebuild import check, rebuild
from crm.feed.sync import kept_since
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import cancel_followup, complete_followup
from crm.leads.models import Lead, LeadWatcher, Stage
from crm.leads.operations import (
    add_watcher,
    create_lead,
    delete_lead,
    log_activity,
    move_lead_to_stage,
    remove_watcher,
    update_lead,
)
from crm.leads.queries import visible_to
from crm.today.queries import RECENT_DAYS, RECENT_LIMIT, recent_changes
from tests.factories import make_followup, make_organisation, make_user

FUTURE = datetime(2099, 1, 6, 9)


def live_recent(session: Session, viewer: User, *, limit: int = RECENT_LIMIT) -> list[int]:
    """The reference: Today's recent changes as they were read before the feed, walking
    the events by instant (the ids of the events, newest first)."""
    now = utcnow()
    watched = select(LeadWatcher.lead_id).where(LeadWatcher.user_id == viewer.id)
    query = (
        select(Event.id)
        .join(Lead, col(Lead.id) == col(Event.lead_id))
        .where(
            or_(col(Lead.owner_id) == viewer.id, col(Lead.id).in_(watched)),
            visible_to(viewer),
            or_(col(Event.actor_id).is_(None), col(Event.actor_id) != viewer.id),
            col(Event.occurred_at) >= now - timedelta(days=RECENT_DAYS),
        )
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(limit)
    )
    return [int(i) for i in session.exec(query).all()]


def from_feed(session: Session, viewer: User, *, limit: int = RECENT_LIMIT) -> list[int]:
    return [int(c.entry.event.id) for c in recent_changes(session, viewer, limit=limit)]  # type: ignore[arg-type]


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    a = make_user(session, email="a@jisr.example")
    b = make_user(session, email="b@jisr.example")
    c = make_user(session, email="c@jisr.example")
    admin = make_user(session, email="admin@jisr.example", role=Role.ADMIN)
    ma, us = make_organisation(session, "MA"), make_organisation(session, "US")
    session.commit()
    return {"users": [a, b, c, admin], "admin": admin, "ma": ma, "us": us}


@pytest.fixture
def late_feed() -> Iterator[None]:
    """Only the consumer keeps the feed (no sync as the writers commit)."""
    hook = feed_consumers._sync_before_commit
    sa.event.remove(Session, "before_commit", hook)
    try:
        yield
    finally:
        sa.event.listen(Session, "before_commit", hook)


USER = st.integers(0, 3)
ACTOR = st.one_of(st.none(), USER)  # None: the system (a reminder, an import)
OPERATION = st.one_of(
    st.tuples(st.just("create"), USER, ACTOR, st.booleans(), st.lists(USER, max_size=2)),
    st.tuples(st.just("owner"), st.integers(0, 30), ACTOR, USER),
    st.tuples(st.just("confidential"), st.integers(0, 30), ACTOR, st.booleans()),
    st.tuples(st.just("move"), st.integers(0, 30), ACTOR, st.sampled_from(list(Stage))),
    st.tuples(st.just("watch"), st.integers(0, 30), ACTOR, USER, st.booleans()),
    st.tuples(st.just("activity"), st.integers(0, 30), ACTOR),
    st.tuples(st.just("followup"), st.integers(0, 30), ACTOR),
    st.tuples(st.just("close"), st.integers(0, 30), ACTOR, st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 30), ACTOR),
)
# Days ago: now, within Today's window, past its edge, past what the feed keeps.
OPERATIONS = st.lists(st.tuples(st.sampled_from([0, 0, 0, 2, 13, 14.5, 16]), OPERATION), max_size=12)


def _pick(session: Session, model: Any, index: int, *where: Any) -> Any:
    rows = session.exec(select(model).where(*where).order_by(col(model.id))).all()
    return rows[index % len(rows)] if rows else None


def _apply(session: Session, w: dict[str, Any], op: str, args: list[Any]) -> None:
    users = w["users"]
    actor = None if args[1] is None else users[args[1]]
    if op == "create":
        create_lead(
            session, title="Lead", ma_organisation_id=w["ma"].id, us_organisation_id=w["us"].id,
            partnership_type="pilot", owner_id=users[args[0]].id, actor=actor, confidential=args[2],
            watcher_ids=[users[i].id for i in args[3]],
        )  # fmt: skip
        return
    if op == "close":
        followup = _pick(session, FollowUp, args[0], FollowUp.status == FollowUpStatus.OPEN)
        if followup is not None:
            (complete_followup if args[2] else cancel_followup)(session, followup, actor=actor)
        return
    lead = _pick(session, Lead, args[0])
    if lead is None:
        return
    if op == "owner":
        update_lead(session, lead, actor=actor, owner_id=users[args[2]].id)
    elif op == "confidential":
        update_lead(session, lead, actor=actor, confidential=args[2])
    elif op == "move":
        move_lead_to_stage(session, lead, args[2], actor=actor)
    elif op == "watch":
        (add_watcher if args[3] else remove_watcher)(session, lead, users[args[2]].id, actor=actor)
    elif op == "activity":
        log_activity(session, lead, kind="call", body="Called", actor=actor)
    elif op == "followup":
        make_followup(session, lead, FUTURE, actor=actor)
    elif op == "delete":
        delete_lead(session, lead, actor=actor or w["admin"])


def run(session: Session, w: dict[str, Any], operations: list[tuple[Any, ...]]) -> None:
    """Each operation as a request would: committed, or refused and rolled back (an
    officer changing another's lead), some of them days ago."""
    for days, (op, *args) in operations:
        with time_machine.travel(utcnow() - timedelta(days=days), tick=True):
            try:
                _apply(session, w, op, args)
                session.commit()
            except (PermissionDenied, ValidationError):
                session.rollback()


def assert_feed_agrees(session: Session, w: dict[str, Any]) -> None:
    session.expire_all()
    for user in w["users"]:
        for limit in (RECENT_LIMIT, 3, 1):
            assert from_feed(session, user, limit=limit) == live_recent(session, user, limit=limit), (user.email, limit)
    result = check(session.connection())
    assert result.ok, (result.missing, result.extra)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_recent_changes_from_the_feed_are_those_of_the_events(
    session: Session, world: dict[str, Any], operations: list[Any]
) -> None:
    run(session, world, operations)
    assert_feed_agrees(session, world)


def relay_and_consume(session: Session, *, twice: bool = False) -> None:
    """Publish, then run the feed's deliveries newest first (out of order)."""
    deliveries: list[int] = []
    while publish_pending(session, lambda ids, name: deliveries.extend(ids) if name == "feed" else None):
        pass
    for event_id in reversed(deliveries):
        consume(session, event_id, "feed")
        if twice:
            assert consume(session, event_id, "feed") is False


def entries(session: Session) -> set[tuple[Any, ...]]:
    return {
        tuple(row)
        for row in session.execute(
            sa.select(FeedEntry.event_id, FeedEntry.user_id, FeedEntry.lead_id, FeedEntry.occurred_at).where(
                col(FeedEntry.occurred_at) >= kept_since()
            )
        )
    }


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_the_consumer_alone_keeps_the_feed_and_replaying_it_changes_nothing(
    session: Session, world: dict[str, Any], late_feed: None, operations: list[Any]
) -> None:
    run(session, world, operations)
    relay_and_consume(session, twice=True)
    assert_feed_agrees(session, world)
    kept = entries(session)
    for event in reversed(session.exec(select(Event).where(col(Event.lead_id).is_not(None))).all()):
        feed_consumers.keep_feed(session, event)
    session.commit()
    assert entries(session) == kept
    # The rebuild gives what the writers and the consumer kept.
    rebuild(session.connection())
    session.commit()
    assert entries(session) == kept
    assert_feed_agrees(session, world)


def test_the_feed_lags_until_the_consumer_runs_when_the_writers_do_not_sync(
    session: Session, world: dict[str, Any], late_feed: None
) -> None:
    a, b = world["users"][:2]
    run(session, world, [(0, ("create", 0, 1, False, [])), (0, ("activity", 0, 1))])
    assert from_feed(session, a) == [] != live_recent(session, a)
    assert not check(session.connection()).ok
    relay_and_consume(session)
    assert from_feed(session, a) == live_recent(session, a) != []
    assert from_feed(session, b) == live_recent(session, b) == []
