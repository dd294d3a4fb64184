"""The summaries: after any sequence of lead operations they give the figures the leads
themselves give, for every viewer, whether kept after each commit or by the consumer
(events consumed late, twice or out of order); the rebuild gives the same, and the
check notices a wrong tally."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.core.consumers import consume
from crm.core.events import Event
from crm.core.outbox import publish_pending
from crm.core.time import utcnow
from crm.dashboard.queries import dashboard
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import cancel_followup, complete_followup, reassign_followup
from crm.leads.cards import BOARD_STAGES, board_columns
from crm.leads.filters import LeadFilter
from crm.leads.models import Currency, Lead, Stage
from crm.leads.operations import (
    add_watcher,
    create_lead,
    create_leads,
    delete_lead,
    move_lead_to_stage,
    remove_watcher,
    update_lead,
)
from crm.leads.queries import can_see
from crm.pipeline.operations import set_stage_probabilities
from crm.pipeline.queries import board_totals, lead_totals
from crm.privacy.operations import erase_contact
from crm.reference.operations import create_sector
from crm.summaries import consumers as summary_consumers
from crm.summaries.models import LeadTally
from crm.summaries.rebuild import check, rebuild
from crm.summaries.sync import sync_leads
from crm.today.queries import due_count, end_of_today
from tests.factories import make_followup, make_lead, make_organisation, make_user

PAST, FUTURE = datetime(2020, 1, 6, 9), datetime(2099, 1, 6, 9)
STAGES = list(Stage)


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    a = make_user(session, email="a@jisr.example")
    b = make_user(session, email="b@jisr.example")
    admin = make_user(session, email="admin@jisr.example", role=Role.ADMIN)
    sectors = [
        create_sector(session, code=code, name_ar=code, name_fr=code, name_en=code) for code in ("cloud", "cyber")
    ]
    ma = [make_organisation(session, "MA"), make_organisation(session, "MA")]
    us = make_organisation(session, "US")
    from crm.organisations.operations import create_contact

    contact = create_contact(session, organisation_id=ma[0].id, name="Salma Idrissi", actor=admin)
    session.commit()
    return {"users": [a, b, admin], "a": a, "b": b, "admin": admin, "sectors": sectors, "ma": ma, "us": us,
            "contact": contact}  # fmt: skip


@pytest.fixture
def late_summaries() -> Iterator[None]:
    """Only the consumer keeps the summaries (no sync as the writers commit)."""
    hook = summary_consumers._sync_before_commit
    sa.event.remove(Session, "before_commit", hook)
    try:
        yield
    finally:
        sa.event.listen(Session, "before_commit", hook)


def _fields(w: dict[str, Any], draw: tuple[Any, ...]) -> dict[str, Any]:
    owner, sector, org, value, prob, confidential = draw
    return {
        "owner_id": w["users"][owner].id,
        "sector_id": None if sector is None else w["sectors"][sector].id,
        "ma_organisation_id": w["ma"][org].id,
        "us_organisation_id": w["us"].id,
        "estimated_value": value[0],
        "currency": value[1],
        "probability": prob,
        "confidential": confidential,
        "title": "Lead",
        "partnership_type": "pilot",
    }


VALUES = st.sampled_from([(None, None), (None, "MAD"), ("1000", "MAD"), ("2500.50", "USD"), ("0.10", "USD")])
FIELDS = st.tuples(
    st.integers(0, 2), st.sampled_from([None, 0, 1]), st.integers(0, 1), VALUES, st.sampled_from([None, 0, 35, 100]),
    st.booleans(),
)  # fmt: skip
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), FIELDS, st.sampled_from(STAGES)),
        st.tuples(st.just("import"), st.lists(FIELDS, min_size=1, max_size=3)),
        st.tuples(st.just("update"), st.integers(0, 50), FIELDS),
        st.tuples(st.just("move"), st.integers(0, 50), st.sampled_from(STAGES)),
        st.tuples(st.just("watch"), st.integers(0, 50), st.integers(0, 1), st.booleans()),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("followup"), st.integers(0, 50), st.booleans(), st.integers(0, 2)),
        st.tuples(st.just("close"), st.integers(0, 50), st.sampled_from(["done", "cancel", "reassign"])),
        st.tuples(st.just("probability"), st.sampled_from(STAGES), st.integers(0, 100)),
        st.tuples(
            st.just("erase"),
        ),
    ),
    max_size=10,
)


def _pick(session: Session, model: Any, index: int, *where: Any) -> Any:
    rows = session.exec(select(model).where(*where).order_by(col(model.id))).all()
    return rows[index % len(rows)] if rows else None


def run(session: Session, w: dict[str, Any], operations: list[tuple[Any, ...]]) -> None:
    admin = w["admin"]
    for op, *args in operations:
        if op == "create":
            create_lead(session, actor=admin, stage=args[1], **_fields(w, args[0]))
        elif op == "import":
            create_leads(session, [_fields(w, f) for f in args[0]], actor=admin)
        elif op == "update" and (lead := _pick(session, Lead, args[0])):
            fields = _fields(w, args[1])
            del fields["title"], fields["partnership_type"]
            update_lead(session, lead, actor=admin, **fields)
        elif op == "move" and (lead := _pick(session, Lead, args[0])):
            move_lead_to_stage(session, lead, args[1], actor=admin)
        elif op == "watch" and (lead := _pick(session, Lead, args[0])):
            user = w["users"][args[1]]
            (add_watcher if args[2] else remove_watcher)(session, lead, user.id, actor=admin)
        elif op == "delete" and (lead := _pick(session, Lead, args[0])):
            delete_lead(session, lead, actor=admin)
        elif op == "followup" and (lead := _pick(session, Lead, args[0])):
            make_followup(session, lead, PAST if args[1] else FUTURE, owner_id=w["users"][args[2]].id, actor=admin)
        elif op == "close" and (followup := _pick(session, FollowUp, args[0], FollowUp.status == FollowUpStatus.OPEN)):
            if args[1] == "done":
                complete_followup(session, followup, actor=admin)
            elif args[1] == "cancel":
                cancel_followup(session, followup, actor=admin)
            else:
                reassign_followup(session, followup, w["b"].id, actor=admin)
        elif op == "probability":
            set_stage_probabilities(session, {args[0]: args[1]}, actor=admin)
        elif op == "erase":
            erase_contact(session, w["contact"], actor=admin)
        session.commit()


def live_overdue(session: Session, user: User) -> dict[str, int]:
    now = utcnow()
    found: Counter[str] = Counter()
    for followup, lead in session.exec(
        select(FollowUp, Lead).join(Lead, col(Lead.id) == col(FollowUp.lead_id)).where(FollowUp.status == "open")
    ).all():
        if followup.due_at < now and can_see(session, user, lead):
            found[session.get(User, followup.owner_id).email] += 1
    return dict(found)


def live_due_today(session: Session, user: User) -> int:
    cutoff = end_of_today(utcnow(), user.timezone)
    followups = session.exec(
        select(FollowUp).where(FollowUp.owner_id == user.id, FollowUp.status == "open", col(FollowUp.due_at) < cutoff)
    ).all()
    return sum(1 for f in followups if can_see(session, user, session.get(Lead, f.lead_id)))


def live_moves(session: Session, user: User) -> int:
    events = session.exec(select(Event).where(Event.type == "lead.stage_changed")).all()
    leads = {lead.id: lead for lead in session.exec(select(Lead)).all()}
    return sum(1 for e in events if e.lead_id in leads and can_see(session, user, leads[e.lead_id]))


def assert_summaries_agree(session: Session, w: dict[str, Any]) -> None:
    session.expire_all()
    result = check(session.connection())
    assert result.ok, result.differences
    for user in w["users"]:
        columns = {c.stage: c.total for c in board_columns(session, user, per_column=1)}
        totals = board_totals(session, user)
        figures = dashboard(session, user, "Asia/Kolkata")  # a zone half an hour off UTC
        stages = {s.stage: s for s in figures["stages"]}
        for stage in BOARD_STAGES:
            live = lead_totals(session, user, lead_filter=LeadFilter(stages=(stage,))).totals
            assert columns[stage] == live.count == stages[stage].count
            summary = totals.of(stage)
            assert (summary.count, summary.value, summary.weighted) == (live.count, live.value, live.weighted)
            assert stages[stage].value_mad == live.value.get(Currency.MAD, Decimal(0))
            assert stages[stage].value_usd == live.value.get(Currency.USD, Decimal(0))
        assert {u.email: n for u, n in figures["overdue"]} == live_overdue(session, user)
        assert due_count(session, user) == live_due_today(session, user)
        assert sum(week.total for week in figures["movements"].weeks) == live_moves(session, user)
        assert sum(n for _s, n in figures["sectors"]) == sum(s.count for s in figures["stages"])
        assert sum(n for _o, n in figures["institutions"]) == sum(s.count for s in figures["stages"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_summaries_follow_every_operation(session: Session, world: dict[str, Any], operations: list[Any]) -> None:
    run(session, world, operations)
    assert_summaries_agree(session, world)


def relay_and_consume(session: Session, *, twice: bool = False) -> None:
    """Publish, then run the summaries' deliveries newest first (out of order)."""
    deliveries: list[int] = []
    while publish_pending(session, lambda ids, name: deliveries.extend(ids) if name == "summaries" else None):
        pass
    for event_id in reversed(deliveries):
        consume(session, event_id, "summaries")
        if twice:
            assert consume(session, event_id, "summaries") is False


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_the_consumer_alone_keeps_the_summaries(
    session: Session, world: dict[str, Any], late_summaries: None, operations: list[Any]
) -> None:
    run(session, world, operations)
    relay_and_consume(session, twice=True)
    assert_summaries_agree(session, world)
    # Handling an event again, in any order, changes nothing.
    events = session.exec(select(Event).where(col(Event.lead_id).is_not(None))).all()
    for event in reversed(events):
        summary_consumers.keep_summaries(session, event)
    session.commit()
    assert check(session.connection()).ok


def test_the_dashboard_lags_until_the_consumer_runs(
    session: Session, world: dict[str, Any], late_summaries: None
) -> None:
    make_lead(session, owner=world["a"], ma_organisation_id=world["ma"][0].id, us_organisation_id=world["us"].id)
    session.commit()
    assert sum(s.count for s in dashboard(session, world["a"], "UTC")["stages"]) == 0
    assert not check(session.connection()).ok
    relay_and_consume(session)
    assert sum(s.count for s in dashboard(session, world["a"], "UTC")["stages"]) == 1
    assert check(session.connection()).ok


def test_officers_see_counts_of_their_own_and_watched_confidential_leads_only(
    session: Session, world: dict[str, Any]
) -> None:
    a, b, admin = world["a"], world["b"], world["admin"]
    common = {"ma_organisation_id": world["ma"][0].id, "us_organisation_id": world["us"].id}
    secret = make_lead(session, owner=b, confidential=True, estimated_value="500", currency="MAD", **common)
    watched = make_lead(session, owner=b, confidential=True, estimated_value="70", currency="MAD", **common)
    mine = make_lead(session, owner=a, confidential=True, estimated_value="9", currency="MAD", **common)
    make_lead(session, owner=b, estimated_value="1", currency="MAD", **common)
    add_watcher(session, watched, a.id, actor=admin)
    for lead in (secret, watched, mine):
        move_lead_to_stage(session, lead, Stage.CONTACTED, actor=admin)
        make_followup(session, lead, PAST, actor=admin)
    session.commit()

    def seen(user: User) -> tuple[int, Decimal, int, int]:
        figures = dashboard(session, user, "UTC")
        return (
            sum(s.count for s in figures["stages"]),
            sum((s.value_mad for s in figures["stages"]), Decimal(0)),
            sum(n for _u, n in figures["overdue"]),
            sum(w.total for w in figures["movements"].weeks),
        )

    assert seen(a) == (3, Decimal("80"), 2, 2)  # its own, the watched one and the open one
    assert seen(b) == (3, Decimal("571"), 2, 2)
    assert seen(admin) == (4, Decimal("580"), 3, 3)
    remove_watcher(session, watched, a.id, actor=admin)
    session.commit()
    assert seen(a) == (2, Decimal("10"), 1, 1)
    update_lead(session, secret, actor=admin, owner_id=a.id)
    session.commit()
    assert seen(a) == (3, Decimal("510"), 2, 2)
    assert board_columns(session, a)[1].total == 2  # contacted: its own two


def test_rebuild_gives_the_same_figures_and_check_notices_a_wrong_tally(
    session: Session, world: dict[str, Any]
) -> None:
    run(
        session,
        world,
        [
            ("create", (0, 0, 0, ("1000", "MAD"), 35, True), Stage.PROPOSAL),
            ("create", (1, None, 1, ("2500.50", "USD"), None, False), Stage.IDENTIFIED),
            ("move", 1, Stage.CONTACTED),
            ("followup", 0, True, 1),
        ],
    )
    kept = {u.email: dashboard(session, u, "UTC") for u in world["users"]}
    assert check(session.connection()).ok
    rebuild(session.connection())
    session.commit()
    assert check(session.connection()).ok
    for user in world["users"]:
        again = dashboard(session, user, "UTC")
        assert [(s.stage, s.count, s.value_mad, s.value_usd) for s in again["stages"]] == [
            (s.stage, s.count, s.value_mad, s.value_usd) for s in kept[user.email]["stages"]
        ]
    session.execute(sa.update(LeadTally).values(leads=LeadTally.leads + 1))
    session.commit()
    result = check(session.connection())
    assert not result.ok and result.differences[0].table == "summary_lead_tally"
    # The sync of one lead repairs only what it counts, the rebuild everything.
    sync_leads(session, [lead.id for lead in session.exec(select(Lead)).all()])
    rebuild(session.connection())
    session.commit()
    assert check(session.connection()).ok


def test_the_commands_rebuild_and_check(app: Any, session: Session, world: dict[str, Any]) -> None:
    run(session, world, [("create", (0, 1, 0, ("1000", "MAD"), None, False), Stage.CONTACTED)])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "summaries", "check"])
    assert result.exit_code == 0 and result.output.startswith("ok: summary_lead_tally 1")
    session.execute(sa.delete(LeadTally))
    session.commit()
    result = runner.invoke(args=["crm", "summaries", "check"])
    assert result.exit_code == 1 and "summary_lead_tally" in result.output and "1 differences" in result.output
    result = runner.invoke(args=["crm", "summaries", "rebuild"])
    assert result.exit_code == 0 and "summary_lead 1" in result.output
    assert runner.invoke(args=["crm", "summaries", "check"]).exit_code == 0
