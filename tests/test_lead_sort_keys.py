"""The lead list sorted by stage, next follow-up or owner: the order a plain sort of the
visible leads gives (empty values last either way, ties by id in the same direction, two
owners of one name interleaved by lead id), page after page by cursor and back, for an
officer and an administrator, in the statements the default order costs."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from crm.accounts.models import Role, User
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import cancel_followup, complete_followup
from crm.leads.filters import LeadFilter
from crm.leads.models import STAGE_ORDER, Lead, Stage, stage_rank_sql
from crm.leads.operations import add_watcher, move_lead_to_stage
from crm.leads.queries import lead_window, visible_to
from crm.organisations.models import Country
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.test_web import count_queries

SORTS = ("stage", "next_due", "owner")
MIGRATION = Path(__file__).resolve().parent.parent / "migrations/versions/20261206_c2d7e4a9f1b3_lead_sort_columns.py"


def _world(session: Session) -> dict[str, User]:
    """Leads of four owners, two of them of the same name and one known by email only;
    stages, due instants and empty next follow-ups shared by several leads; confidential
    leads of another officer, one of them watched."""
    officer = make_user(session, email="officer@jisr.example", name="Amina")
    namesake = make_user(session, email="namesake@jisr.example", name="amina")
    nameless = make_user(session, email="zineb@jisr.example", name="")
    other = make_user(session, email="other@jisr.example", name="Badr")
    admin = make_user(session, email="admin@jisr.example", name="Admin", role=Role.ADMIN)
    ma, us = make_organisation(session, Country.MA), make_organisation(session, Country.US)
    owners = (officer, namesake, nameless, other)
    stages = (Stage.IDENTIFIED, Stage.PROPOSAL, Stage.ON_HOLD, Stage.CLOSED_NO_GO, Stage.AGREEMENT_SIGNED)
    days = (datetime(2031, 1, 2, 9), datetime(2031, 1, 1, 9), datetime(2031, 1, 2, 9, 30))
    for n in range(26):
        owner = owners[n % 4]
        lead = make_lead(
            session,
            owner=owner,
            confidential=owner is other and n % 3 == 0,
            ma_organisation_id=ma.id,
            us_organisation_id=us.id,
        )
        if n % 5:
            move_lead_to_stage(session, lead, stages[n % 5], actor=admin)
        if n % 3 == 0:  # one open follow-up, often at the same instant as other leads'
            make_followup(session, lead, days[n % 2], actor=admin)
        elif n % 3 == 1 and n % 2:  # two open: the earliest counts
            make_followup(session, lead, days[2], actor=admin)
            make_followup(session, lead, days[(n // 3) % 2], actor=admin)
        if n % 4 == 2:  # closed ones count for nothing
            complete_followup(session, make_followup(session, lead, datetime(2030, 6, 1, 9), actor=admin), actor=admin)
            cancel_followup(session, make_followup(session, lead, datetime(2030, 6, 2, 9), actor=admin), actor=admin)
        if owner is other and n % 3 == 0 and n % 2 == 0:
            add_watcher(session, lead, officer.id, actor=admin)
    session.commit()
    return {"officer": officer, "admin": admin}


def _values(session: Session) -> dict[int, dict[str, Any]]:
    """Each lead's sort values, computed here from the rows (not from the stored columns)."""
    owners = {user.id: user for user in session.exec(select(User)).all()}
    due: dict[int, datetime] = {}
    for f in session.exec(select(FollowUp).where(FollowUp.status == FollowUpStatus.OPEN)).all():
        due[f.lead_id] = min(due.get(f.lead_id, f.due_at), f.due_at)
    return {
        lead.id: {
            "stage": STAGE_ORDER.index(lead.stage),
            "next_due": due.get(lead.id),
            "owner": (owners[lead.owner_id].name or owners[lead.owner_id].email).lower(),
        }
        for lead in session.exec(select(Lead)).all()
        if lead.id is not None
    }


def _expected(ids: list[int], value: Callable[[int], Any], descending: bool) -> list[int]:
    filled = sorted((i for i in ids if value(i) is not None), key=lambda i: (value(i), i), reverse=descending)
    empty = sorted((i for i in ids if value(i) is None), reverse=descending)
    return filled + empty


def _walk(session: Session, user: User, lead_filter: LeadFilter, per_page: int) -> list[int]:
    pages = [lead_window(session, user, per_page=per_page, lead_filter=lead_filter)]
    while pages[-1].next_cursor:
        assert len(pages) < 100
        pages.append(
            lead_window(session, user, cursor=pages[-1].next_cursor, per_page=per_page, lead_filter=lead_filter)
        )
    assert all(len(page.rows) == per_page for page in pages[:-1])
    back = pages[-1]
    for earlier in reversed(pages[:-1]):  # and back again, page by page
        back = lead_window(session, user, cursor=back.previous_cursor, per_page=per_page, lead_filter=lead_filter)
        assert [row.id for row in back.rows] == [row.id for row in earlier.rows]
    assert back.previous_cursor is None
    return [row.id for page in pages for row in page.rows]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", SORTS)
def test_pages_walk_the_leads_in_a_plain_sorts_order(session: Session, sort: str, descending: bool) -> None:
    users = _world(session)
    values = _values(session)
    for who, user in users.items():
        visible = list(session.exec(select(Lead.id).where(visible_to(user))).all())
        expected = _expected(visible, lambda i: values[i][sort], descending)
        for per_page in (1, 4, 7):
            assert _walk(session, user, LeadFilter(sort=sort, descending=descending), per_page) == expected, (
                who,
                per_page,
            )
        # What the rows show is what they were sorted by.
        rows = lead_window(session, user, per_page=30, lead_filter=LeadFilter(sort=sort, descending=descending)).rows
        assert [row.next_due_at for row in rows] == [values[row.id]["next_due"] for row in rows]


def test_the_world_has_what_the_orders_must_get_right(session: Session) -> None:
    _world(session)
    values = _values(session)
    officer_ids = [i for i, v in values.items() if v["owner"] == "amina"]
    by_owner = sorted(officer_ids)
    owners_of = {lead.id: lead.owner_id for lead in session.exec(select(Lead)).all()}
    # The two owners named Amina alternate along their leads' ids.
    assert len({owners_of[i] for i in by_owner[:2]}) == 2
    assert sum(v["next_due"] is None for v in values.values()) > 3
    due = [v["next_due"] for v in values.values() if v["next_due"] is not None]
    assert len(due) > len(set(due))  # ties
    assert len({v["stage"] for v in values.values()}) == 5


@pytest.mark.parametrize("sort", SORTS)
def test_a_page_costs_the_statements_of_the_default_order(app: Any, session: Session, sort: str) -> None:
    """Every order reads a page and its count in one statement, as the default order does."""
    officer = _world(session)["officer"]

    def costs(lead_filter: LeadFilter) -> list[int]:
        found = []
        first = lead_window(session, officer, per_page=4, lead_filter=lead_filter)
        second = lead_window(session, officer, cursor=first.next_cursor, per_page=4, lead_filter=lead_filter)
        third = lead_window(session, officer, cursor=second.next_cursor, per_page=4, lead_filter=lead_filter)
        for cursor in (None, first.next_cursor, second.next_cursor, third.previous_cursor):
            with count_queries(app) as statements:
                lead_window(session, officer, cursor=cursor, per_page=4, lead_filter=lead_filter)
            found.append(len(statements))
        return found

    for descending in (False, True):
        assert costs(LeadFilter(sort=sort, descending=descending)) == costs(LeadFilter()) == [1, 1, 1, 1]


def test_the_stored_stage_rank_is_the_lists_order_of_stages(session: Session) -> None:
    owner = make_user(session)
    for stage in Stage:
        lead = make_lead(session, owner=owner)
        if stage != Stage.IDENTIFIED:
            move_lead_to_stage(session, lead, stage, actor=owner)
        session.flush()
        assert lead.stage_rank == STAGE_ORDER.index(stage)  # returned by the write itself
    session.commit()
    stored = session.exec(select(Lead.stage, Lead.stage_rank)).all()
    assert {(Stage(s), r) for s, r in stored} == {(s, STAGE_ORDER.index(s)) for s in Stage}
    spec = importlib.util.spec_from_file_location("lead_sort_columns", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert " ".join(migration.STAGE_RANK.split()) == stage_rank_sql()


def test_the_owner_order_on_postgresql_reads_no_more_than_its_owners_leads(
    app: Any, session: Session, backend: str
) -> None:
    """The page's plan walks the owners' leads through the (owner_id, id) index rather than
    reading and sorting every lead."""
    if backend != "postgresql":
        pytest.skip("the owner walk is PostgreSQL's (LATERAL)")
    officer = _world(session)["officer"]
    with count_queries(app) as statements:
        lead_window(session, officer, per_page=4, lead_filter=LeadFilter(sort="owner"))
    assert any("JOIN LATERAL" in s for s in statements)
