"""The dashboard: pipeline, sectors, institutions, overdue follow-ups and weekly stage
changes, for a prepared data set, within the viewer's visibility, in a fixed number of queries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import time_machine
from sqlmodel import Session

from crm.accounts.models import Role
from crm.dashboard.queries import dashboard
from crm.leads.models import Stage
from crm.leads.operations import move_lead_to_stage
from crm.reference.operations import create_sector
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

PAST, FUTURE = datetime(2020, 1, 6, 9), datetime(2099, 1, 6, 9)


def _prepare(session: Session) -> dict[str, Any]:
    a = make_user(session, email="a@jisr.example", name="Officer A")
    b = make_user(session, email="b@jisr.example", name="Officer B")
    admin = make_user(session, email="admin@jisr.example", role=Role.ADMIN, name="Admin")
    cloud = create_sector(session, code="cloud", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")
    cyber = create_sector(
        session, code="cyber", name_ar="الأمن السيبراني", name_fr="Cybersécurité", name_en="Cybersecurity"
    )
    add = make_organisation(session, "MA", acronym="ADD", name_fr="Agence de Développement du Digital")
    dgssi = make_organisation(session, "MA", acronym="DGSSI", name_fr="DGSSI")
    oracle = make_organisation(session, "US", name_en="Oracle")
    common = {"us_organisation_id": oracle.id}
    with time_machine.travel(datetime.now(UTC) - timedelta(weeks=20), tick=False):
        old = make_lead(session, owner=b, ma_organisation_id=dgssi.id, sector_id=cyber.id, **common)
        move_lead_to_stage(session, old, Stage.CLOSED_NO_GO)  # 20 weeks ago: outside the chart
    l1 = make_lead(
        session,
        owner=a,
        ma_organisation_id=add.id,
        sector_id=cloud.id,
        estimated_value="100000",
        currency="MAD",
        **common,
    )
    l2 = make_lead(
        session,
        owner=a,
        ma_organisation_id=add.id,
        sector_id=cloud.id,
        estimated_value="2500.50",
        currency="USD",
        **common,
    )
    l3 = make_lead(
        session,
        owner=b,
        ma_organisation_id=dgssi.id,
        sector_id=cyber.id,
        estimated_value="1000",
        currency="MAD",
        **common,
    )
    l4 = make_lead(session, owner=b, ma_organisation_id=dgssi.id, **common)
    l5 = make_lead(
        session,
        owner=b,
        ma_organisation_id=add.id,
        sector_id=cyber.id,
        estimated_value="999999",
        currency="USD",
        confidential=True,
        **common,
    )
    move_lead_to_stage(session, l2, Stage.CONTACTED)
    move_lead_to_stage(session, l2, Stage.PROPOSAL)
    move_lead_to_stage(session, l3, Stage.PROPOSAL)
    move_lead_to_stage(session, l5, Stage.PROPOSAL)
    move_lead_to_stage(session, l4, Stage.ON_HOLD)
    move_lead_to_stage(session, l4, Stage.IDENTIFIED)
    make_followup(session, l1, PAST)
    make_followup(session, l1, PAST)
    make_followup(session, l2, FUTURE)
    make_followup(session, l3, PAST)
    make_followup(session, l5, PAST)
    session.commit()
    return {"a": a, "b": b, "admin": admin, "add": add, "dgssi": dgssi}


def _by_stage(figures: dict[str, Any]) -> dict[str, tuple[int, Decimal, Decimal]]:
    return {s.stage.value: (s.count, s.value_mad, s.value_usd) for s in figures["stages"] if s.count}


def test_dashboard_numbers_for_an_officer(session: Session) -> None:
    ctx = _prepare(session)
    figures = dashboard(session, ctx["a"], "Africa/Casablanca")
    assert _by_stage(figures) == {
        "identified": (2, Decimal("100000"), Decimal(0)),
        "proposal": (2, Decimal("1000"), Decimal("2500.50")),
        "closed_no_go": (1, Decimal(0), Decimal(0)),
    }
    assert {(s.code if s else None): n for s, n in figures["sectors"]} == {"cloud": 2, "cyber": 2, None: 1}
    assert {org.acronym: n for org, n in figures["institutions"]} == {"ADD": 2, "DGSSI": 3}
    assert {owner.email: n for owner, n in figures["overdue"]} == {"a@jisr.example": 2, "b@jisr.example": 1}
    weeks = figures["movements"].weeks
    assert len(weeks) == 12
    assert (weeks[-1].advanced, weeks[-1].other) == (3, 2)
    assert sum(w.total for w in weeks) == 5


def test_admin_sees_confidential_leads_in_the_numbers(session: Session) -> None:
    ctx = _prepare(session)
    figures = dashboard(session, ctx["admin"], "Africa/Casablanca")
    assert _by_stage(figures)["proposal"] == (3, Decimal("1000"), Decimal("1002499.50"))
    assert {owner.email: n for owner, n in figures["overdue"]} == {"a@jisr.example": 2, "b@jisr.example": 2}
    assert figures["movements"].weeks[-1].advanced == 4


def test_dashboard_page_has_charts_tables_and_localised_numbers(session: Session, client: Any) -> None:
    _prepare(session)
    login(client, "a@jisr.example")
    page = client.get("/dashboard").get_data(as_text=True)
    for key in ("pipeline", "pipeline-value", "sectors", "institutions", "overdue", "movements"):
        assert f'data-testid="chart-{key}"' in page
    assert re.search(r'<tr data-stage="proposal">.*?data-value="2"', page)
    assert "chart.umd.js" in page and "dashboard.js" in page and "<script>" not in page
    data = json.loads(
        re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S).group(1)
    )
    assert data["charts"]["institutions"]["labels"] == ["DGSSI", "ADD"]
    assert data["charts"]["institutions"]["datasets"][0]["data"] == [3, 2]
    assert data["rtl"] is False


def test_dashboard_in_arabic_reads_right_to_left(session: Session, client: Any) -> None:
    _prepare(session)
    make_user(session, email="ar@jisr.example", language="ar")
    session.commit()
    login(client, "ar@jisr.example")
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', page, re.S).group(1))
    assert data["rtl"] is True and data["locale"] == "ar-MA"
    assert data["numbers"] == {"group": ".", "decimal": ","}  # as the tables write numbers
    assert data["charts"]["pipeline"]["labels"][0] != "Identified"
    assert data["charts"]["pipeline-value"]["datasets"][0]["label"] == "القيمة بالدرهم"
    assert "القيمة بالدرهم" in page


def test_dashboard_runs_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    make_lead(session, owner=officer)
    session.commit()
    login(client, "officer@jisr.example")
    with count_queries(app) as few:
        assert client.get("/dashboard").status_code == 200
    _prepare(session)
    for _ in range(10):
        lead = make_lead(session, owner=make_user(session))
        move_lead_to_stage(session, lead, Stage.CONTACTED)
        make_followup(session, lead, PAST)
    session.commit()
    with count_queries(app) as many:
        assert client.get("/dashboard").status_code == 200
    assert len(many) == len(few)
