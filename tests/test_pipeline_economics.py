"""Pipeline economics: a lead's probability (its own or its stage's default), expected close
date and weighted value; the totals of the lead list and of the board's columns for what the
viewer may see; the reference MAD/USD rate; and the administrators' settings page."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from crm.accounts.models import Role
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event
from crm.leads.filters import LeadFilter
from crm.leads.models import Currency, Lead, Stage
from crm.leads.operations import update_lead
from crm.pipeline.models import ReferenceRate, StageProbability
from crm.pipeline.operations import set_reference_rate, set_stage_probabilities
from crm.pipeline.queries import (
    board_totals,
    current_rate,
    effective_probability,
    lead_totals,
    stage_probabilities,
    weighted_value,
)
from tests.api_helpers import bearer, make_token
from tests.factories import make_lead, make_user
from tests.test_web import count_queries
from tests.web_helpers import login


def _count(session: Session, model: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def _events(session: Session, prefix: str = "") -> int:
    query = select(func.count()).select_from(Event)
    if prefix:
        query = query.where(col(Event.type).startswith(prefix))
    return int(session.exec(query).one())


# --- a lead's probability and weighted value ------------------------------------------------


def test_a_lead_takes_its_stages_default_until_it_has_its_own(session: Session) -> None:
    officer = make_user(session)
    lead = make_lead(session, owner=officer, stage="proposal", estimated_value="1000", currency="MAD")
    session.commit()
    defaults = stage_probabilities(session)
    assert effective_probability(lead, defaults).percent == 50
    assert effective_probability(lead, defaults).is_default
    assert weighted_value(lead, defaults) == Decimal("500.00")

    set_stage_probabilities(session, {"proposal": 40}, actor=None)
    session.commit()
    defaults = stage_probabilities(session)
    assert effective_probability(lead, defaults).percent == 40
    assert weighted_value(lead, defaults) == Decimal("400.00")

    changes = update_lead(session, lead, actor=officer, probability="75 %", expected_close_on="2027-03-31")
    session.commit()
    assert changes == {"probability": [None, 75], "expected_close_on": [None, "2027-03-31"]}
    assert effective_probability(lead, defaults).percent == 75
    assert not effective_probability(lead, defaults).is_default
    assert weighted_value(lead, defaults) == Decimal("750.00")
    event = session.exec(select(Event).where(Event.type == "lead.updated")).one()
    assert event.payload["changes"]["probability"] == [None, 75]

    update_lead(session, lead, actor=officer, probability=None)
    session.commit()
    assert effective_probability(lead, stage_probabilities(session)).is_default


def test_the_lead_page_says_whether_the_probability_is_the_stages(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="en")
    lead = make_lead(session, owner=officer, stage="negotiation", estimated_value="200000", currency="USD")
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert re.search(r'id="lead-probability" data-default="1">70%', page)
    assert "(stage default)" in page
    assert "140,000.00" in page or "140,000" in page
    update_lead(session, lead, actor=officer, probability=60, expected_close_on=date(2027, 3, 31))
    session.commit()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert re.search(r'id="lead-probability" data-default="0">60%', page)
    assert "(set for this lead)" in page
    assert "Mar 31, 2027" in page
    timeline = page[page.index('id="lead-timeline"') :]
    assert "Probability" in timeline and "Expected close date" in timeline and "60%" in timeline


def test_the_lead_form_sets_and_clears_both_fields(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="en")
    lead = make_lead(session, owner=officer, estimated_value="1000", currency="MAD")
    session.commit()
    login(client, "officer@jisr.example")
    form = client.get(f"/leads/{lead.id}/edit").get_data(as_text=True)
    assert form.index('name="currency"') < form.index('name="probability"') < form.index('name="expected_close_on"')
    body = _edit_body(lead, probability="35", expected_close_on="2027-06-30")
    assert client.post(f"/leads/{lead.id}/edit", data=body).status_code == 302
    session.refresh(lead)
    assert (lead.probability, lead.expected_close_on) == (35, date(2027, 6, 30))
    body = _edit_body(lead, probability="", expected_close_on="")
    assert client.post(f"/leads/{lead.id}/edit", data=body).status_code == 302
    session.refresh(lead)
    assert (lead.probability, lead.expected_close_on) == (None, None)


def _edit_body(lead: Lead, **over: Any) -> dict[str, Any]:
    body = {
        "title": lead.title,
        "description": lead.description,
        "ma_organisation_id": lead.ma_organisation_id,
        "us_organisation_id": lead.us_organisation_id,
        "partnership_type": lead.partnership_type.value,
        "owner_id": lead.owner_id,
        "priority": lead.priority.value,
        "estimated_value": str(lead.estimated_value or ""),
        "currency": lead.currency.value if lead.currency else "",
        "watcher_ids": [],
    }
    return {**body, **over}


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["150", "-1", "abc", "12.5"])
def test_a_wrong_probability_is_a_field_error_in_the_users_language(session: Session, client: Any, value: str) -> None:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    lead = make_lead(session, owner=officer, title="Migration cloud")
    session.commit()
    login(client, "officer@jisr.example")
    before = _events(session)
    response = client.post(f"/leads/{lead.id}/edit", data=_edit_body(lead, title="Renommée", probability=value))
    assert response.status_code == 400
    assert "Saisissez un nombre entier de 0 à 100." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Lead, lead.id).title == "Migration cloud"
    assert session.get(Lead, lead.id).probability is None
    assert _events(session) == before


def test_a_wrong_close_date_is_a_field_error(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="ar")
    lead = make_lead(session, owner=officer)
    session.commit()
    login(client, "officer@jisr.example")
    response = client.post(f"/leads/{lead.id}/edit", data=_edit_body(lead, expected_close_on="31/02/2027"))
    assert response.status_code == 400
    assert "أدخل تاريخًا، مثل 2024-03-15." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Lead, lead.id).expected_close_on is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("probability_proposal", "150"),
        ("probability_proposal", "-1"),
        ("probability_identified", "abc"),
        ("mad_per_usd", "0"),
        ("mad_per_usd", "-10.05"),
        ("mad_per_usd", "dix"),
    ],
)
def test_wrong_settings_are_refused_whole(session: Session, client: Any, field: str, value: str) -> None:
    make_user(session, Role.ADMIN, email="admin@jisr.example", language="fr")
    session.commit()
    login(client, "admin@jisr.example")
    page = client.get("/admin/pipeline").get_data(as_text=True)
    body = _settings_body(page, **{"mad_per_usd": "10.05", "probability_negotiation": "65", field: value})
    before = _events(session)
    response = client.post("/admin/pipeline", data=body)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    expected = "Saisissez un nombre entier de 0 à 100." if field.startswith("probability") else "dirhams"
    assert expected in text
    assert 'class="form-control is-invalid"' in text
    assert _count(session, StageProbability) == 0
    assert _count(session, ReferenceRate) == 0
    assert _events(session) == before


def _settings_body(page: str, **over: str) -> dict[str, str]:
    fields = dict(re.findall(r'name="((?:probability_\w+)|mad_per_usd)"[^>]*value="([^"]*)"', page))
    for name in re.findall(r'name="((?:probability_\w+)|mad_per_usd)"', page):
        fields.setdefault(name, "")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return {**fields, **({"csrf_token": token.group(1)} if token else {}), **over}


def test_the_settings_page_saves_defaults_and_the_rate_with_their_events(session: Session, client: Any) -> None:
    admin = make_user(session, Role.ADMIN, email="admin@jisr.example", language="en")
    session.commit()
    login(client, "admin@jisr.example")
    page = client.get("/admin/pipeline").get_data(as_text=True)
    assert 'data-testid="nav-pipeline-settings"' in page
    assert 'value="50"' in page  # the proposal stage's built-in default
    body = _settings_body(page, probability_proposal="45", mad_per_usd="10,05")
    assert client.post("/admin/pipeline", data=body).status_code == 302
    assert stage_probabilities(session)[Stage.PROPOSAL] == 45
    rate = current_rate(session)
    assert rate is not None and rate.mad_per_usd == Decimal("10.05") and rate.set_by_id == admin.id
    types = session.exec(select(Event.type, Event.payload).where(col(Event.type).startswith("pipeline."))).all()
    assert sorted(t for t, _ in types) == ["pipeline.reference_rate_set", "pipeline.stage_probability_changed"]
    assert {"stage": "proposal", "from": 50, "to": 45} in [p for _, p in types]
    # Saving the same again changes nothing and records nothing.
    page = client.get("/admin/pipeline").get_data(as_text=True)
    assert client.post("/admin/pipeline", data=_settings_body(page)).status_code == 302
    assert _events(session, "pipeline.") == 2
    # An empty rate withdraws it.
    assert client.post("/admin/pipeline", data=_settings_body(page, mad_per_usd="")).status_code == 302
    assert current_rate(session) is None
    audit = client.get("/admin/activity").get_data(as_text=True)
    assert "Reference exchange rate set" in audit
    assert "Stage&#39;s default probability changed" in audit or "Stage's default probability changed" in audit


# --- only administrators change the settings: a generated matrix --------------------------

ROLES = (Role.ADMIN, Role.OFFICER, Role.VIEWER)
ACTIONS = {
    "stage_probability": lambda s, actor: set_stage_probabilities(s, {"proposal": 33}, actor=actor),
    "reference_rate": lambda s, actor: set_reference_rate(s, "10.5", actor=actor),
}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("channel", ["operation", "page"])
def test_only_administrators_change_the_pipeline_settings(
    session: Session, client: Any, role: Role, action: str, channel: str
) -> None:
    person = make_user(session, role, email=f"{role.value}@jisr.example", language="en")
    session.commit()
    if channel == "page":
        login(client, person.email)
    before = (_count(session, StageProbability), _count(session, ReferenceRate), _events(session))
    allowed = role == Role.ADMIN
    if channel == "operation":
        if allowed:
            ACTIONS[action](session, person)
            session.commit()
        else:
            with pytest.raises(PermissionDenied):
                ACTIONS[action](session, person)
            session.rollback()
    else:
        admin_page = client.get("/admin/pipeline")
        assert admin_page.status_code == (200 if allowed else 403)
        over = {"probability_proposal": "33"} if action == "stage_probability" else {"mad_per_usd": "10.5"}
        if allowed:
            body = _settings_body(admin_page.get_data(as_text=True), **over)
        else:
            body = {"probability_identified": "10", "probability_proposal": "50", **over}
        response = client.post("/admin/pipeline", data=body)
        assert response.status_code == (302 if allowed else 403)
    after = (_count(session, StageProbability), _count(session, ReferenceRate), _events(session))
    if allowed:
        assert after != before
        assert stage_probabilities(session)[Stage.PROPOSAL] == 33 or current_rate(session) is not None
    else:
        assert after == before


# --- totals -----------------------------------------------------------------------------------


def _world(session: Session) -> dict[str, Any]:
    me = make_user(session, email="officer@jisr.example", language="en")
    other = make_user(session)
    admin = make_user(session, Role.ADMIN, email="admin@jisr.example", language="en")
    make_lead(session, owner=me, title="Cloud", stage="proposal", estimated_value="1000", currency="MAD")
    make_lead(session, owner=me, title="Skills", stage="identified", estimated_value="300", currency="MAD")
    make_lead(
        session,
        owner=other,
        title="Secret",
        stage="proposal",
        estimated_value="5000",
        currency="USD",
        confidential=True,
    )
    make_lead(
        session, owner=other, title="Pilot", stage="proposal", estimated_value="200", currency="USD", probability=10
    )
    make_lead(session, owner=other, title="No value", stage="contacted")
    session.commit()
    return {"me": me, "other": other, "admin": admin}


def test_list_totals_follow_the_filters_and_never_count_what_the_viewer_cannot_see(session: Session) -> None:
    world = _world(session)
    mine = lead_totals(session, world["me"]).totals
    assert mine.count == 4
    assert mine.value == {Currency.MAD: Decimal("1300.00"), Currency.USD: Decimal("200.00")}
    assert mine.weighted == {Currency.MAD: Decimal("530.00"), Currency.USD: Decimal("20.00")}
    everything = lead_totals(session, world["admin"]).totals
    assert everything.count == 5
    assert everything.value[Currency.USD] == Decimal("5200.00")
    assert everything.weighted[Currency.USD] == Decimal("2520.00")
    proposals = lead_totals(session, world["me"], lead_filter=LeadFilter(stages=(Stage.PROPOSAL,))).totals
    assert (proposals.count, proposals.value) == (
        2,
        {Currency.MAD: Decimal("1000.00"), Currency.USD: Decimal("200.00")},
    )


def test_the_list_shows_its_totals_for_its_filters(session: Session, client: Any) -> None:
    _world(session)
    login(client, "officer@jisr.example")
    page = client.get("/leads").get_data(as_text=True)
    assert 'data-testid="lead-totals" data-count="4"' in page
    assert re.search(r'data-testid="totals-value-USD"><bdi class="fmt" dir="ltr">\$200</bdi><', page)
    assert "5,200" not in page and "$5,000" not in page
    fragment = client.get("/leads?stage=proposal", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-testid="lead-totals" data-count="2"' in fragment
    assert "approx-" not in fragment  # no reference rate, no converted figure


def test_board_columns_have_their_totals_and_overdue_cards_say_so(session: Session, client: Any) -> None:
    from datetime import datetime

    from tests.factories import make_followup

    world = _world(session)
    columns = board_totals(session, world["me"]).columns
    assert columns[Stage.PROPOSAL].count == 2
    assert columns[Stage.PROPOSAL].weighted == {Currency.MAD: Decimal("500.00"), Currency.USD: Decimal("20.00")}
    assert Stage.NEGOTIATION not in columns
    cloud = session.exec(select(Lead).where(Lead.title == "Cloud")).one()
    make_followup(session, cloud, datetime(2020, 1, 6, 10, 0))
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/pipeline").get_data(as_text=True)
    proposal = page[page.index('id="column-proposal"') : page.index('id="column-negotiation"')]
    assert 'data-testid="column-totals" data-count="2"' in proposal
    assert "weighted" in proposal and ">$20<" in proposal  # no cents on a whole amount
    assert 'data-testid="card-overdue">Overdue<' in proposal


def test_a_reference_rate_adds_one_approximate_figure_in_each_currency(session: Session, client: Any) -> None:
    world = _world(session)
    set_reference_rate(session, "10.05", actor=world["admin"])
    session.commit()
    totals = lead_totals(session, world["me"])
    converted = totals.totals.converted_value(totals.rate)
    assert converted is not None
    assert converted.mad == Decimal("3310.00")  # 1300 + 200 × 10.05
    assert converted.usd == Decimal("329.35")  # 200 + 1300 / 10.05
    login(client, "officer@jisr.example")
    page = client.get("/leads").get_data(as_text=True)
    assert 'data-testid="totals-converted-MAD"' in page
    # The rate is one left-to-right run, whatever the page's direction.
    assert re.search('title="At the reference rate \u20661 USD = 10\\.05 MAD\u2069 set on [^"<]+"', page)
    assert page.count('<span aria-hidden="true">≈ </span>') == 4
    settings = client.get("/admin/pipeline")
    assert settings.status_code == 403
    board = client.get("/pipeline").get_data(as_text=True)
    assert 'data-testid="column-totals-converted"' in board


def test_totals_and_board_run_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    world = _world(session)
    login(client, "officer@jisr.example")

    def statements(path: str) -> int:
        client.get(path)
        with count_queries(app) as found:
            assert client.get(path).status_code == 200
        return len(found)

    few = (statements("/leads"), statements("/pipeline"))
    for n in range(12):
        make_lead(session, owner=world["me"], stage="proposal", estimated_value=str(100 + n), currency="USD")
    set_reference_rate(session, "10.05", actor=world["admin"])
    session.commit()
    assert (statements("/leads"), statements("/pipeline")) == few


# --- the API ----------------------------------------------------------------------------------


def test_api_reads_and_writes_probability_and_close_date(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    lead = make_lead(session, owner=officer, stage="proposal", estimated_value="1000", currency="USD")
    token = make_token(session, officer)
    session.commit()
    headers = bearer(token)
    read = client.get(f"/api/v1/leads/{lead.id}", headers=headers).get_json()
    assert (read["probability"], read["effective_probability"], read["weighted_value"]) == (None, 50, "500.00")
    assert read["expected_close_on"] is None
    changed = client.patch(
        f"/api/v1/leads/{lead.id}", json={"probability": 65, "expected_close_on": "2027-03-31"}, headers=headers
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["probability"], body["effective_probability"], body["weighted_value"]) == (65, 65, "650.00")
    assert body["expected_close_on"] == "2027-03-31"
    listed = client.get("/api/v1/leads", headers=headers).get_json()["items"][0]
    assert listed["weighted_value"] == "650.00"
    back = client.patch(f"/api/v1/leads/{lead.id}", json={"probability": None}, headers=headers).get_json()
    assert (back["probability"], back["effective_probability"]) == (None, 50)
    before = _events(session)
    for wrong in (150, -1, "abc"):
        refused = client.patch(f"/api/v1/leads/{lead.id}", json={"probability": wrong}, headers=headers)
        assert refused.status_code in (400, 422)
        assert refused.mimetype == "application/problem+json"
    assert _events(session) == before
    document = client.get("/api/v1/openapi.json").get_json()
    lead_out = document["components"]["schemas"]["LeadOut"]["properties"]
    assert {"probability", "effective_probability", "weighted_value", "expected_close_on"} <= set(lead_out)
    update = document["components"]["schemas"]["LeadUpdate"]["properties"]
    assert {"probability", "expected_close_on"} <= set(update)


# --- exports and imports ----------------------------------------------------------------------


def test_export_has_both_columns_and_an_import_reads_them_back(session: Session, client: Any) -> None:
    from crm.exchange.models import RowAction
    from crm.exchange.operations import map_import_columns, upload_import
    from crm.exchange.queries import plan_import
    from tests.exchange_helpers import csv_bytes

    officer = make_user(session, email="officer@jisr.example", language="fr")
    lead = make_lead(session, owner=officer, title="Cloud", probability=60, expected_close_on="2027-03-31")
    session.commit()
    login(client, "officer@jisr.example")
    exported = client.get("/leads/export?format=csv").get_data(as_text=True)
    header, row = exported.lstrip("\ufeff").splitlines()[:2]
    assert "Probabilité (%)" in header and "Date de clôture prévue" in header
    assert ",60,2027-03-31," in row or ";60;2027-03-31;" in row

    for headers in (
        ["ID", "Probability (%)", "Expected close date"],
        ["المعرف", "الاحتمال (%)", "تاريخ الإغلاق المتوقع"],
        ["ID", "Probabilité (%)", "Date de clôture prévue"],
    ):
        content = csv_bytes([headers, [str(lead.id), "35 %", "30/06/2027"]])
        data_import = upload_import(session, kind="leads", filename="leads.csv", content=content, actor=officer)
        assert data_import.mapping == ["id", "probability", "expected_close_on"], headers
        map_import_columns(session, data_import, mapping=data_import.mapping, actor=officer)
        (plan,) = plan_import(session, data_import, officer)
        assert plan.action == RowAction.UPDATE
        assert plan.values == {"probability": 35, "expected_close_on": date(2027, 6, 30)}
        session.rollback()
    content = csv_bytes([["ID", "Probability (%)"], [str(lead.id), "150"]])
    data_import = upload_import(session, kind="leads", filename="leads.csv", content=content, actor=officer)
    map_import_columns(session, data_import, mapping=data_import.mapping, actor=officer)
    (plan,) = plan_import(session, data_import, officer)
    assert plan.action == RowAction.ERROR
    assert plan.problems[0].msgid == "Enter a whole number from 0 to 100."


def test_operations_refuse_wrong_values_before_writing(session: Session) -> None:
    lead = make_lead(session)
    session.commit()
    for wrong in (150, -1, "abc", True, "1e2"):
        with pytest.raises(ValidationError) as caught:
            update_lead(session, lead, probability=wrong)
        assert set(caught.value.errors) == {"probability"}
    for rate in ("0", "-1", "abc", "1e9", "10.00001"):
        with pytest.raises(ValidationError):
            set_reference_rate(session, rate)
    with pytest.raises(ValidationError):
        set_stage_probabilities(session, {"proposal": 40, "negotiation": 101})
    session.rollback()
    assert _count(session, StageProbability) == 0
    assert _count(session, ReferenceRate) == 0
