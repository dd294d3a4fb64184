"""The summaries under concurrent writers, around weeks cut in the middle of an hour,
and through an organisation merge (the world and helpers of tests/test_summaries.py)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import Session, select

from crm.core.db import db
from crm.core.events import Event
from crm.core.time import to_local, to_utc, utcnow
from crm.dashboard.queries import dashboard, week_start
from crm.leads.models import Currency, Lead, Stage
from crm.leads.operations import add_watcher, create_lead, move_lead_to_stage
from crm.leads.queries import can_see
from crm.pipeline.queries import board_totals
from crm.summaries.rebuild import check
from tests.factories import make_lead
from tests.test_summaries import late_summaries, world

__all__ = ["late_summaries", "world"]  # the fixtures, shared


def test_writers_of_one_tally_row_at_once_lose_no_update(app: Any, session: Session, world: dict[str, Any]) -> None:
    """Eight transactions add to the same tally rows at the same moment (row locks on
    PostgreSQL, one writer at a time on SQLite): every lead is counted once."""
    a, ma, us = world["a"], world["ma"][0], world["us"]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def write() -> None:
        try:
            with app.app_context():
                barrier.wait(30)
                for _ in range(3):
                    lead = create_lead(
                        db.session, title="Same key", ma_organisation_id=ma.id, us_organisation_id=us.id,
                        partnership_type="pilot", owner_id=a.id, actor=a, estimated_value="10", currency="MAD",
                    )  # fmt: skip
                    db.session.flush()
                    move_lead_to_stage(db.session, lead, Stage.CONTACTED, actor=a)
                    db.session.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    session.expire_all()
    assert check(session.connection()).ok
    contacted = board_totals(session, a).of(Stage.CONTACTED)
    assert contacted.count == 24 and contacted.value == {Currency.MAD: Decimal("240.00")}


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Asia/Kathmandu", "America/New_York", "UTC"])
def test_weeks_cut_in_the_middle_of_an_hour_count_each_move_once(
    session: Session, world: dict[str, Any], zone: str
) -> None:
    """Moves just before and after a week's start in zones at :30 and :45 from UTC: the
    cut hours are read live, the others from the move tally, and each move falls in its
    week in the viewer's zone."""
    a, b, admin = world["a"], world["b"], world["admin"]
    now = utcnow()
    this_week = week_start(to_local(now, zone).date())
    starts = [to_utc(datetime(d.year, d.month, d.day), zone) for d in (this_week - timedelta(weeks=1), this_week)]
    common = {"ma_organisation_id": world["ma"][0].id, "us_organisation_id": world["us"].id}
    leads = [make_lead(session, owner=b, **common), make_lead(session, owner=b, confidential=True, **common)]
    add_watcher(session, leads[1], a.id, actor=admin)
    session.commit()
    stages = iter([Stage.CONTACTED, Stage.ON_HOLD, Stage.PROPOSAL, Stage.IDENTIFIED] * 4)
    for start in starts:
        for offset in (timedelta(minutes=-1), timedelta(minutes=1), timedelta(minutes=50), timedelta(hours=30)):
            if start + offset >= now:
                continue
            for lead in leads:
                with time_machine.travel(start + offset, tick=False):
                    move_lead_to_stage(session, session.get(Lead, lead.id), next(stages), actor=admin)
                    session.commit()
    for user in (a, b, admin, world["users"][0]):
        weeks = dashboard(session, user, zone, now=now)["movements"].weeks
        bounds = [to_utc(datetime(w.week_start.year, w.week_start.month, w.week_start.day), zone) for w in weeks]
        bounds.append(to_utc(datetime.combine(this_week + timedelta(weeks=1), datetime.min.time()), zone))
        expected: Counter[tuple[int, bool]] = Counter()
        for event in session.exec(select(Event).where(Event.type == "lead.stage_changed")).all():
            lead = session.get(Lead, event.lead_id)
            for i in range(len(weeks)):
                if bounds[i] <= event.occurred_at < bounds[i + 1] and can_see(session, user, lead):
                    expected[(i, bool(event.payload["advanced"]))] += 1
        assert [(w.advanced, w.other) for w in weeks] == [
            (expected[(i, True)], expected[(i, False)]) for i in range(len(weeks))
        ]
    assert sum(w.total for w in dashboard(session, b, zone, now=now)["movements"].weeks) >= 4


def test_merging_organisations_moves_their_leads_in_the_tally(session: Session, world: dict[str, Any]) -> None:
    from crm.organisations.operations import merge_organisations

    keep, duplicate = world["ma"]
    for org in (keep, duplicate, duplicate):
        make_lead(session, owner=world["a"], ma_organisation_id=org.id, us_organisation_id=world["us"].id)
    session.commit()
    merge_organisations(session, keep, duplicate, actor=world["admin"])
    session.commit()
    assert check(session.connection()).ok
    institutions = dashboard(session, world["a"], "UTC")["institutions"]
    assert [(org.id, n) for org, n in institutions] == [(keep.id, 3)]


def test_an_id_used_again_before_its_old_lead_is_synced_moves_over(
    session: Session, world: dict[str, Any], late_summaries: None
) -> None:
    """SQLite hands a deleted row's id out again: the consumer may meet the new follow-up
    before the deletion of the lead that held the old one, and must not count it twice."""
    from crm.followups.operations import schedule_followup
    from crm.leads.operations import delete_lead
    from crm.summaries.sync import sync_leads

    admin = world["admin"]
    first = make_lead(session, owner=admin)
    second = make_lead(session, owner=admin)
    due = datetime(2026, 1, 5, 9, 0)
    old = schedule_followup(session, first, title="Call", due_local=due, timezone="UTC", actor=admin)
    session.commit()
    sync_leads(session, [first.id, second.id])
    session.commit()
    stale_id = old.id
    delete_lead(session, first, actor=admin)  # its follow-up goes; the summaries still count it
    session.commit()
    new = schedule_followup(session, second, title="Call", due_local=due, timezone="UTC", actor=admin)
    session.flush()
    if new.id != stale_id:  # PostgreSQL never hands an id out twice: make the stale row by hand
        session.execute(sa.text("UPDATE followup SET id = :stale WHERE id = :new"), {"stale": stale_id, "new": new.id})
    session.commit()
    sync_leads(session, [second.id])  # the new follow-up first…
    session.commit()
    sync_leads(session, [first.id])  # …then the deleted lead
    session.commit()
    result = check(session.connection())
    assert result.ok, result.differences


def test_narrowed_tally_totals_match_the_leads_whatever_the_values_bound(
    session: Session, world: dict[str, Any]
) -> None:
    """The tally's statements are built once per viewer kind and set of narrowed fields,
    the values bound as they run: each filter, one after another on the same statements,
    gives the leads' own figures."""
    from dataclasses import replace

    from crm.leads.cards import BOARD_STAGES
    from crm.leads.filters import LeadFilter
    from crm.pipeline.queries import lead_totals

    a, b = world["a"], world["b"]
    stages = (Stage.IDENTIFIED, Stage.PROPOSAL, Stage.NEGOTIATION)
    for n in range(12):
        lead = make_lead(
            session,
            owner=(a, b)[n % 2],
            stage=stages[n % 3],
            sector_id=world["sectors"][n % 2].id if n % 4 else None,
            ma_organisation_id=world["ma"][n // 6].id,
            us_organisation_id=world["us"].id,
            estimated_value=Decimal(1000 * (n + 1)),
            currency=(Currency.MAD, Currency.USD)[n % 2],
            probability=None if n % 3 else 40,
            confidential=n % 5 == 0,
        )
        if n == 5:  # b's confidential lead that a watches
            add_watcher(session, lead, a.id, actor=world["admin"])
    session.commit()
    sector, org = world["sectors"][0].id, world["ma"][0].id
    filters = [
        LeadFilter(),
        LeadFilter(stages=(Stage.PROPOSAL,)),
        LeadFilter(stages=(Stage.IDENTIFIED, Stage.NEGOTIATION)),
        LeadFilter(owner_id=a.id),
        LeadFilter(owner_id=b.id),
        LeadFilter(sector_id=sector, ma_organisation_id=org),
        LeadFilter(sector_id=world["sectors"][1].id, ma_organisation_id=world["ma"][1].id),
        LeadFilter(stages=(Stage.NEGOTIATION,), owner_id=b.id, sector_id=sector),
    ]
    for user in world["users"]:
        for lead_filter in filters:
            totals = board_totals(session, user, lead_filter=lead_filter)
            for stage in BOARD_STAGES:
                if lead_filter.stages and stage not in lead_filter.stages:
                    assert totals.of(stage).count == 0
                    continue
                live = lead_totals(session, user, lead_filter=replace(lead_filter, stages=(stage,))).totals
                summary = totals.of(stage)
                assert (summary.count, summary.value, summary.weighted) == (live.count, live.value, live.weighted)
