"""A lead's stored next follow-up (``lead.next_due_at``) is the earliest due instant of its
open follow-ups after every kind of change to them, by the operations or by bulk
statements; the leads a session holds read it again; the check finds a wrong one and the
rebuild repairs it; two transactions changing one lead's follow-ups at once leave it right."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import Role
from crm.core.time import utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import (
    cancel_followup,
    close_followup,
    complete_followup,
    reassign_followup,
    reschedule_followup,
    snooze_followup,
)
from crm.leads.models import Lead
from crm.leads.next_due import live_next_due, next_due_differences
from crm.leads.operations import delete_lead
from tests.factories import make_followup, make_lead, make_organisation, make_user

ZONE = "Africa/Casablanca"


def _stored_and_live(session: Session) -> tuple[dict[int, Any], dict[int, Any]]:
    rows = session.exec(select(Lead.id, Lead.next_due_at, live_next_due())).all()  # type: ignore[call-overload]
    return {r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}


def _assert_kept(session: Session, step: Any) -> set[Any]:
    stored, live = _stored_and_live(session)
    assert stored == live, step
    for lead in [o for o in session.identity_map.values() if isinstance(o, Lead)]:
        assert lead.next_due_at == live[lead.id], (step, lead.id)  # the session's objects too
    return set(stored.values())


def _open(session: Session, rng: random.Random) -> FollowUp | None:
    found = session.exec(
        select(FollowUp).where(FollowUp.status == FollowUpStatus.OPEN).order_by(col(FollowUp.id))
    ).all()
    return rng.choice(found) if found else None


def _any(session: Session, rng: random.Random) -> FollowUp | None:
    found = session.exec(select(FollowUp).order_by(col(FollowUp.id))).all()
    return rng.choice(found) if found else None


def _wall(rng: random.Random) -> datetime:
    # Few distinct moments: ties between leads and between a lead's follow-ups.
    return datetime(2031, 1, 1, 9) + timedelta(days=rng.randrange(6), hours=rng.choice((0, 3)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_stored_next_followup_is_the_earliest_open_one_after_every_change(session: Session, seed: int) -> None:
    rng = random.Random(seed)
    admin = make_user(session, role=Role.ADMIN)
    officers = [make_user(session) for _ in range(2)]
    ma, us = make_organisation(session), make_organisation(session, "US")
    leads = [
        make_lead(session, owner=officers[n % 2], ma_organisation_id=ma.id, us_organisation_id=us.id) for n in range(4)
    ]
    session.commit()

    def schedule() -> None:
        lead = rng.choice([lead for lead in leads if lead in session])
        make_followup(session, lead, _wall(rng), actor=admin)

    def reschedule() -> None:
        if (f := _open(session, rng)) is not None:
            reschedule_followup(session, f, due_local=_wall(rng), actor=admin)

    def snooze() -> None:
        if (f := _open(session, rng)) is not None:
            snooze_followup(
                session, f, by=rng.choice(("day", "week")), now=datetime(2031, 1, 1, tzinfo=UTC), actor=admin
            )

    def complete() -> None:
        if (f := _open(session, rng)) is not None:
            complete_followup(session, f, actor=admin)

    def cancel() -> None:
        if (f := _open(session, rng)) is not None:
            cancel_followup(session, f, actor=admin)

    def close_with_next() -> None:
        if (f := _open(session, rng)) is not None:
            close_followup(session, f, next_due_local=_wall(rng), actor=admin)

    def reassign() -> None:
        if (f := _open(session, rng)) is not None:
            reassign_followup(
                session, f, officers[0].id if f.owner_id != officers[0].id else officers[1].id, actor=admin
            )

    def reopen() -> None:  # a bulk statement, as a repair or an import would write
        if (f := _any(session, rng)) is not None:
            session.execute(sa.update(FollowUp).where(col(FollowUp.id) == f.id).values(status=FollowUpStatus.OPEN))

    def move() -> None:  # to another lead
        if (f := _any(session, rng)) is not None:
            others = [lead.id for lead in leads if lead in session and lead.id != f.lead_id]
            if others:
                f.lead_id = rng.choice(others)

    def move_in_bulk() -> None:
        target = rng.choice([lead for lead in leads if lead in session])
        session.execute(sa.update(FollowUp).where(col(FollowUp.id) % 3 == rng.randrange(3)).values(lead_id=target.id))

    def delete_one() -> None:
        if (f := _any(session, rng)) is not None:
            session.delete(f)

    def delete_in_bulk() -> None:
        session.execute(sa.delete(FollowUp).where(col(FollowUp.due_at) < datetime(2031, 1, 3, tzinfo=UTC)))

    def delete_a_lead() -> None:
        kept = [lead for lead in leads if lead in session]
        if len(kept) > 2:
            delete_lead(session, rng.choice(kept), actor=admin)
            leads[:] = [lead for lead in leads if lead in session]

    steps = [
        schedule,
        schedule,
        schedule,
        reschedule,
        snooze,
        complete,
        cancel,
        close_with_next,
        reassign,
        reopen,
        move,
        move_in_bulk,
        delete_one,
        delete_in_bulk,
        delete_a_lead,
    ]
    seen: set[Any] = set()
    for n in range(45):
        step = rng.choice(steps)
        step()
        session.flush()
        seen |= _assert_kept(session, (n, step.__name__))
    assert len(seen - {None}) > 2  # the walk met leads with follow-ups, and changed them
    assert next_due_differences(session.connection()) == []


def test_a_lead_the_session_holds_reads_its_next_followup_again(session: Session) -> None:
    owner = make_user(session)
    lead = make_lead(session, owner=owner)
    session.commit()
    assert lead.next_due_at is None
    first = make_followup(session, lead, datetime(2031, 3, 2, 9), actor=owner)
    session.commit()  # the session keeps its objects across commits
    assert lead.next_due_at == first.due_at
    earlier = make_followup(session, lead, datetime(2031, 3, 1, 9), actor=owner)
    session.flush()
    assert lead.next_due_at == earlier.due_at
    complete_followup(session, earlier, actor=owner)
    session.commit()
    assert lead.next_due_at == first.due_at
    session.execute(sa.update(FollowUp).values(status=FollowUpStatus.CANCELLED))
    assert lead.next_due_at is None


def test_the_check_finds_a_wrong_next_followup_and_the_rebuild_repairs_it(app: Any, session: Session) -> None:
    owner = make_user(session)
    leads = [make_lead(session, owner=owner) for _ in range(3)]
    make_followup(session, leads[0], datetime(2031, 3, 2, 9), actor=owner)
    session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "summaries", "check"])
    assert result.exit_code == 0, result.output
    lead_table = Lead.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(lead_table).where(lead_table.c.id == leads[0].id).values(next_due_at=None))
    session.execute(sa.update(lead_table).where(lead_table.c.id == leads[1].id).values(next_due_at=utcnow()))
    session.commit()
    assert [d.lead_id for d in next_due_differences(session.connection())] == [leads[0].id, leads[1].id]
    result = runner.invoke(args=["crm", "summaries", "check"])
    assert result.exit_code == 1 and f"lead.next_due_at ({leads[0].id},)" in result.output, result.output
    assert "2 differences" in result.output
    result = runner.invoke(args=["crm", "summaries", "rebuild"])
    assert result.exit_code == 0 and "next follow-up set again on 2 leads" in result.output, result.output
    assert runner.invoke(args=["crm", "summaries", "check"]).exit_code == 0
    session.rollback()
    stored, live = _stored_and_live(session)
    assert stored == live and stored[leads[0].id] is not None


def test_two_transactions_scheduling_on_one_lead_at_once_both_count(app: Any, session: Session, backend: str) -> None:
    """The second waits for the first (the lead is locked before its follow-ups are read)
    and then sees its follow-up: without the lock it kept the earliest of its own alone."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    owner = make_user(session)
    lead = make_lead(session, owner=owner)
    session.commit()
    engine = app.extensions["jisr.db"][0]
    row = {
        "lead_id": lead.id,
        "title": "Call",
        "due_local": datetime(2031, 1, 1, 9),
        "timezone": ZONE,
        "owner_id": owner.id,
        "status": "open",
        "due_version": 1,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    table = FollowUp.__table__  # type: ignore[attr-defined]
    early, late = utcnow() + timedelta(days=1), utcnow() + timedelta(days=2)
    first = engine.connect()
    first_tx = first.begin()
    first.execute(sa.insert(table).values(**row, due_at=early))
    done = threading.Event()

    def second() -> None:
        with engine.begin() as conn:
            conn.execute(sa.insert(table).values(**row, due_at=late))
        done.set()

    worker = threading.Thread(target=second, daemon=True)
    worker.start()
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    try:
        # Autocommit: each look at pg_stat_activity is a new snapshot (one transaction
        # would keep showing the first, taken before the second had started to wait).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            deadline = time.monotonic() + 60  # a busy machine is slow to start the second
            while not watcher.execute(waiting).scalar_one():
                if done.is_set() or time.monotonic() > deadline:
                    pytest.fail("the second transaction never waited for the first")
                threading.Event().wait(0.01)
        assert not done.is_set()
        first_tx.commit()
    finally:  # whatever happened, the first lets go, so the second (and the next test) can go on
        if first_tx.is_active:
            first_tx.rollback()
        first.close()
        worker.join(30)
    assert done.is_set()
    session.expire_all()
    assert session.get(Lead, lead.id).next_due_at == early  # type: ignore[union-attr]
    assert next_due_differences(session.connection()) == []
