"""Mission pages: list, detail with local and viewer times, scorecard, and logging a meeting
with the leads born from it in one all-or-nothing step."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, func, select

from crm.accounts.models import Role
from crm.core.events import Event
from crm.followups.operations import complete_followup
from crm.leads.models import Lead, Stage
from crm.leads.operations import move_lead_to_stage
from crm.missions.models import Meeting, MeetingOrganisation, Mission
from crm.missions.operations import create_mission, log_meeting
from crm.missions.plan import leg_rows
from crm.missions.queries import scorecard
from crm.organisations.operations import create_contact
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.web_helpers import login

PLACES = [
    {"name": "Houston, Texas", "timezone": "America/Chicago"},
    {"name": "Silicon Valley", "timezone": "America/Los_Angeles"},
]


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def _mission(session: Session, **kwargs: Any) -> Any:
    return create_mission(
        session,
        name=kwargs.pop("name", "Digital mission"),
        starts_on=date(2024, 2, 11),
        ends_on=date(2024, 2, 21),
        places=PLACES,
        **kwargs,
    )


def test_scorecard_counts_meetings_leads_on_time_followups_and_agreements(session: Session) -> None:
    officer = make_user(session)
    other = make_user(session)
    admin = make_user(session, role=Role.ADMIN)
    mission = _mission(session)
    elsewhere = _mission(session, name="Another mission")
    for hour in (10, 14):
        log_meeting(
            session,
            title=f"Meeting {hour}",
            starts_local=datetime(2024, 2, 12, hour),
            timezone="America/Chicago",
            mission_id=mission.id,
        )
    log_meeting(
        session,
        title="Elsewhere",
        starts_local=datetime(2024, 3, 1, 9),
        timezone="Africa/Casablanca",
        mission_id=elsewhere.id,
    )
    future, past = datetime(2099, 1, 1, 9), datetime(2020, 1, 1, 9)
    open_on_time = make_lead(session, owner=officer, mission_id=mission.id)
    make_followup(session, open_on_time, future)
    overdue = make_lead(session, owner=officer, mission_id=mission.id)
    make_followup(session, overdue, past)
    done_on_time = make_lead(session, owner=officer, mission_id=mission.id)
    complete_followup(session, make_followup(session, done_on_time, future))
    done_late = make_lead(session, owner=officer, mission_id=mission.id)
    complete_followup(session, make_followup(session, done_late, past))
    signed = make_lead(session, owner=officer, mission_id=mission.id)
    move_lead_to_stage(session, signed, Stage.AGREEMENT_SIGNED)
    secret = make_lead(session, owner=other, mission_id=mission.id, confidential=True)
    make_followup(session, secret, future)
    move_lead_to_stage(session, secret, Stage.AGREEMENT_SIGNED)
    not_this_mission = make_lead(session, owner=officer, mission_id=elsewhere.id)
    make_followup(session, not_this_mission, future)
    session.commit()

    seen_by_officer = scorecard(session, officer, mission.id)
    assert (
        seen_by_officer.meetings_held,
        seen_by_officer.leads_created,
        seen_by_officer.leads_with_on_time_followup,
        seen_by_officer.agreements_signed,
    ) == (2, 5, 2, 1)
    seen_by_admin = scorecard(session, admin, mission.id)
    assert (
        seen_by_admin.leads_created,
        seen_by_admin.leads_with_on_time_followup,
        seen_by_admin.agreements_signed,
    ) == (6, 3, 2)


def test_mission_page_shows_scorecard_places_times_and_leads(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="fr", timezone="Africa/Casablanca")
    add = make_organisation(session, "MA", name_fr="Agence de Développement du Digital", acronym="ADD")
    oracle = make_organisation(session, "US", name_en="Oracle")
    delegate = create_contact(session, organisation_id=add.id, name="Amina Tazi")
    mission = _mission(session, organiser_ids=[add.id], delegate_ids=[delegate.id])
    meeting = log_meeting(
        session,
        title="Cloud briefing",
        starts_local=datetime(2024, 2, 12, 10),
        timezone="America/Chicago",
        mission_id=mission.id,
        organisation_ids=[add.id, oracle.id],
    )
    make_lead(
        session,
        owner=officer,
        title="Sovereign cloud pilot",
        meeting_id=meeting.id,
        ma_organisation_id=add.id,
        us_organisation_id=oracle.id,
    )
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/missions").get_data(as_text=True)
    assert f'data-testid="mission-row" data-id="{mission.id}"' in page
    page = html.unescape(client.get(f"/missions/{mission.id}").get_data(as_text=True))
    assert 'data-testid="score-meetings" data-value="1"' in page
    assert 'data-testid="score-leads" data-value="1"' in page
    assert "Amina Tazi" in page and "Houston, Texas" in page and "Sovereign cloud pilot" in page
    local = re.sub("<[^>]+>", "", re.search(r'data-testid="meeting-local-time">(.*?)</td>', page).group(1))
    viewer = re.sub("<[^>]+>", "", re.search(r'data-testid="meeting-viewer-time">(.*?)</td>', page).group(1))
    # 10:00 in Houston (UTC-6) is 17:00 in Casablanca (UTC+1 in February 2024): the place's
    # time says its zone, the viewer's does not.
    assert "10:00" in local and "(Chicago, UTC\u221206:00)" in local
    assert "UTC" not in viewer
    assert "17:00" in viewer
    assert "Bilan" in page and "Réunions tenues" in page
    assert client.get("/missions/999999").status_code == 404


def _flow_form(mission_id: int, ma: int, us: int, owner: int, **rows: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Cybersecurity round table",
        "starts_local": "2024-02-19T14:30",
        "timezone": "America/Los_Angeles",
        "place": "Santa Clara",
        "organisation_ids": [str(ma), str(us)],
    }
    for index, row in enumerate(rows.get("leads", [])):
        base = {
            "title": "",
            "ma_organisation_id": str(ma),
            "us_organisation_id": str(us),
            "partnership_type": "pilot",
            "owner_id": str(owner),
            "sector_id": "",
            "estimated_value": "",
            "currency": "",
        }
        base.update(row)
        data.update({f"leads-{index}-{key}": value for key, value in base.items()})
    return data


def test_meeting_and_its_leads_are_saved_all_or_nothing(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    ma = make_organisation(session, "MA", acronym="DGSSI")
    us = make_organisation(session, "US", name_en="Palo Alto Networks")
    mission = _mission(session)
    session.commit()
    login(client, "officer@jisr.example")
    assert client.get(f"/missions/{mission.id}/meetings/new").status_code == 200
    before = (
        _count(session, Meeting),
        _count(session, Lead),
        _count(session, Event),
        _count(session, MeetingOrganisation),
    )
    bad = _flow_form(
        mission.id,
        ma.id,
        us.id,
        officer.id,
        leads=[
            {"title": "SOC workshop"},
            {"title": "Bad lead", "us_organisation_id": str(ma.id), "estimated_value": "lots"},
        ],
    )
    response = client.post(f"/missions/{mission.id}/meetings/new", data=bad)
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    second_row = page.split('data-testid="lead-row" data-index="1"')[1]
    assert "Choisissez une organisation américaine." in second_row
    assert "Choisissez une organisation américaine." not in page.split('data-testid="lead-row" data-index="1"')[0]
    assert 'value="Bad lead"' in page and 'value="SOC workshop"' in page
    assert (
        _count(session, Meeting),
        _count(session, Lead),
        _count(session, Event),
        _count(session, MeetingOrganisation),
    ) == before

    good = _flow_form(
        mission.id,
        ma.id,
        us.id,
        officer.id,
        leads=[
            {"title": "SOC workshop"},
            {"title": ""},
            {"title": "Threat intelligence exchange", "estimated_value": "50000", "currency": "USD"},
        ],
    )
    response = client.post(f"/missions/{mission.id}/meetings/new", data=good)
    assert response.status_code == 302
    meeting = session.exec(select(Meeting).where(Meeting.title == "Cybersecurity round table")).one()
    assert meeting.mission_id == mission.id and meeting.timezone == "America/Los_Angeles"
    assert meeting.starts_at.hour == 22  # 14:30 in Santa Clara (UTC-8) is 22:30 UTC
    leads = session.exec(select(Lead).where(Lead.meeting_id == meeting.id).order_by(Lead.id)).all()
    assert [lead.title for lead in leads] == ["SOC workshop", "Threat intelligence exchange"]
    assert all(lead.mission_id == mission.id for lead in leads)


def test_bad_meeting_time_is_a_400(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="ar")
    mission = _mission(session)
    ma, us = make_organisation(session, "MA"), make_organisation(session, "US")
    session.commit()
    login(client, "officer@jisr.example")
    data = _flow_form(mission.id, ma.id, us.id, officer.id)
    data.update(starts_local="next tuesday", timezone="Nowhere/Land", title="")
    before = _count(session, Event)
    response = client.post(f"/missions/{mission.id}/meetings/new", data=data)
    assert response.status_code == 400
    assert _count(session, Event) == before
    data.update(starts_local="2024-02-19T14:30")
    response = client.post(f"/missions/{mission.id}/meetings/new", data=data)
    assert response.status_code == 400
    assert "منطقة زمنية غير معروفة: Nowhere/Land" in html.unescape(response.get_data(as_text=True))
    assert _count(session, Event) == before


def test_add_lead_row_writes_nothing(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    mission = _mission(session)
    session.commit()
    login(client, "officer@jisr.example")
    data = _flow_form(mission.id, 1, 2, officer.id, leads=[{"title": "Kept"}])
    data["add_lead"] = "1"
    before = _count(session, Event)
    page = client.post(f"/missions/{mission.id}/meetings/new", data=data).get_data(as_text=True)
    assert page.count('data-testid="lead-row"') == 2 and 'value="Kept"' in page
    assert _count(session, Event) == before


def test_viewer_cannot_log_a_meeting(session: Session, client: Any) -> None:
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    mission = _mission(session)
    session.commit()
    login(client, "viewer@jisr.example")
    assert client.get(f"/missions/{mission.id}").status_code == 200
    assert client.get(f"/missions/{mission.id}/meetings/new").status_code == 403
    assert client.post(f"/missions/{mission.id}/meetings/new", data={"title": "x"}).status_code == 403


def _mission_form(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Digital trade mission, Toronto 2027",
        "starts_on": "2027-03-08",
        "ends_on": "2027-03-12",
        "places-0-name": "Toronto, Ontario",
        "places-0-timezone": "America/Toronto",
        "description": "Cloud and AI firms in Ontario.",
    }
    data.update(fields)
    return data


def test_an_officer_creates_a_mission_with_its_places_organisers_and_delegates(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    add = make_organisation(session, "MA", acronym="ADD", name_en="Digital Development Agency")
    contact = create_contact(session, organisation_id=add.id, name="Amina El Idrissi", email="amina@add.example")
    session.commit()
    login(client, "officer@jisr.example")
    assert 'data-testid="new-mission"' in client.get("/missions").get_data(as_text=True)
    assert client.get("/missions/new").status_code == 200
    data = _mission_form(
        **{"places-1-name": "Montréal", "places-1-timezone": "America/Toronto"},
        organiser_ids=[str(add.id)],
        delegate_ids=[str(contact.id)],
    )
    response = client.post("/missions/new", data=data)
    assert response.status_code == 302
    mission = session.exec(select(Mission).where(Mission.name == data["name"])).one()
    assert response.headers["Location"].endswith(f"/missions/{mission.id}")
    assert (mission.starts_on, mission.ends_on) == (date(2027, 3, 8), date(2027, 3, 12))
    assert [(leg.name, leg.timezone, leg.starts_on, leg.ends_on) for leg in leg_rows(session, mission.id)] == [
        ("Toronto, Ontario", "America/Toronto", date(2027, 3, 8), date(2027, 3, 12)),
        ("Montréal", "America/Toronto", date(2027, 3, 8), date(2027, 3, 12)),
    ]
    event = session.exec(select(Event).where(Event.type == "mission.created", Event.entity_id == mission.id)).one()
    assert event.actor_id == officer.id and event.payload["delegate_ids"] == [contact.id]
    page = client.get(f"/missions/{mission.id}").get_data(as_text=True)
    assert "Toronto, Ontario" in page and "Amina El Idrissi" in page and 'data-testid="edit-mission"' in page


def test_editing_a_mission_shows_what_it_holds_and_records_the_changes(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    add = make_organisation(session, "MA", acronym="ADD")
    contact = create_contact(session, organisation_id=add.id, name="Amina El Idrissi", email="amina@add.example")
    many = [{"name": f"City {n}", "timezone": "America/Chicago"} for n in range(14)]  # more than the blank rows
    mission = create_mission(
        session,
        name="Digital mission",
        starts_on=date(2024, 2, 11),
        ends_on=date(2024, 2, 21),
        places=many,
        organiser_ids=[add.id],
        delegate_ids=[contact.id],
    )
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get(f"/missions/{mission.id}/edit").get_data(as_text=True)
    assert page.count('data-testid="mission-place"') == 15  # the fourteen places and a blank row
    assert 'value="City 13"' in page and 'value="Digital mission"' in page and 'value="2024-02-21"' in page
    assert re.search(rf'<option selected value="{contact.id}">|<option value="{contact.id}" selected', page)
    data = {"name": "Digital mission 2024", "starts_on": "2024-02-11", "ends_on": "2024-02-22"}
    for n, leg in enumerate(leg_rows(session, mission.id)):
        data[f"places-{n}-id"], data[f"places-{n}-name"], data[f"places-{n}-timezone"] = leg.id, leg.name, leg.timezone
        data[f"places-{n}-starts_on"], data[f"places-{n}-ends_on"] = "2024-02-11", "2024-02-21"
    data.update({"organiser_ids": [str(add.id)], "delegate_ids": []})
    assert client.post(f"/missions/{mission.id}/edit", data=data).status_code == 302
    session.expire_all()
    mission = session.get(Mission, mission.id)
    assert mission.name == "Digital mission 2024" and mission.ends_on == date(2024, 2, 22)
    assert [{"name": leg.name, "timezone": leg.timezone} for leg in leg_rows(session, mission.id)] == many
    updates = session.exec(select(Event).where(Event.type == "mission.updated", Event.entity_id == mission.id)).all()
    changes = {key for e in updates for key in e.payload["changes"]}
    # The legs spanned the whole mission: they follow its new last day.
    assert changes == {"name", "ends_on", "legs", "delegate_ids"} and {e.actor_id for e in updates} == {officer.id}
    assert {leg.ends_on for leg in leg_rows(session, mission.id)} == {date(2024, 2, 22)}


def test_bad_mission_input_is_a_400_in_the_users_language_and_writes_nothing(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example", language="fr")
    mission = _mission(session)
    session.commit()
    login(client, "officer@jisr.example")
    before = (_count(session, Event), _count(session, Mission))
    for data, message in [
        (_mission_form(ends_on="2027-03-01"), "La mission ne peut pas se terminer avant de commencer."),
        (_mission_form(**{"places-0-timezone": "Nowhere/Land"}), "Fuseau horaire inconnu : Nowhere/Land"),
        (_mission_form(**{"places-0-timezone": ""}), "Indiquez le fuseau horaire de Toronto, Ontario."),
        (_mission_form(name="", starts_on="demain"), "Ce champ est obligatoire."),
        (_mission_form(**{"places-0-name": "T" * 201}), "Le champ ne peut pas contenir plus de 200 caractères."),
    ]:
        for url in ("/missions/new", f"/missions/{mission.id}/edit"):
            response = client.post(url, data=data)
            page = html.unescape(response.get_data(as_text=True))
            assert response.status_code == 400 and message in page, (url, message)
            assert 'value="Cloud and AI firms' not in page  # a textarea keeps what was typed as its text
            assert "Cloud and AI firms in Ontario." in page
    assert (_count(session, Event), _count(session, Mission)) == before
    session.expire_all()
    assert session.get(Mission, mission.id).name == "Digital mission"


def test_viewer_cannot_create_or_edit_a_mission(session: Session, client: Any) -> None:
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    mission = _mission(session)
    session.commit()
    login(client, "viewer@jisr.example")
    assert 'data-testid="new-mission"' not in client.get("/missions").get_data(as_text=True)
    assert 'data-testid="edit-mission"' not in client.get(f"/missions/{mission.id}").get_data(as_text=True)
    for url in ("/missions/new", f"/missions/{mission.id}/edit"):
        assert client.get(url).status_code == 403
        assert client.post(url, data=_mission_form()).status_code == 403
    assert _count(session, Mission) == 1


def test_an_officer_edits_a_meeting_its_time_and_who_was_there(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    mission = _mission(session)
    add = make_organisation(session, "MA", acronym="ADD")
    oracle = make_organisation(session, "US", name_en="Oracle")
    amina = create_contact(session, organisation_id=add.id, name="Amina El Idrissi", email="amina@add.example")
    meeting = log_meeting(
        session,
        title="Oracle briefing",
        starts_local=datetime(2024, 2, 12, 10, 0),
        timezone="America/Chicago",
        mission_id=mission.id,
        organisation_ids=[add.id],
    )
    session.commit()
    login(client, "officer@jisr.example")
    detail = client.get(f"/missions/{mission.id}").get_data(as_text=True)
    assert f'href="/meetings/{meeting.id}/edit"' in detail
    page = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'value="Oracle briefing"' in page and 'value="2024-02-12T10:00"' in page
    form = {
        "title": "Oracle cloud briefing",
        "starts_local": "2024-02-12T11:30",
        "timezone": "America/Los_Angeles",
        "place": "Redwood Shores",
        "notes": "",
        "organisation_ids": [str(add.id), str(oracle.id)],
        "contact_ids": [str(amina.id)],
    }
    before = _count(session, Event)
    bad = client.post(f"/meetings/{meeting.id}/edit", data={**form, "timezone": "Nowhere/Land"})
    assert bad.status_code == 400 and "Fuseau horaire inconnu : Nowhere/Land" in html.unescape(
        bad.get_data(as_text=True)
    )
    assert _count(session, Event) == before
    response = client.post(f"/meetings/{meeting.id}/edit", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/missions/{mission.id}")
    session.expire_all()
    meeting = session.get(Meeting, meeting.id)
    assert (meeting.title, meeting.place, meeting.timezone) == (
        "Oracle cloud briefing",
        "Redwood Shores",
        "America/Los_Angeles",
    )
    assert meeting.starts_at == datetime(2024, 2, 12, 19, 30, tzinfo=UTC)  # 11:30 in California is 19:30 UTC
    orgs = session.exec(select(MeetingOrganisation.organisation_id).where(MeetingOrganisation.meeting_id == meeting.id))
    assert sorted(orgs) == sorted([add.id, oracle.id])
    [event] = session.exec(select(Event).where(Event.type == "meeting.updated", Event.entity_id == meeting.id)).all()
    assert event.actor_id == officer.id
    assert {"title", "starts_at", "organisation_ids", "contact_ids"} <= set(event.payload["changes"])
    assert "Oracle cloud briefing" in client.get(f"/contacts/{amina.id}").get_data(as_text=True)


def test_viewer_cannot_edit_a_meeting(session: Session, client: Any) -> None:
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    meeting = log_meeting(session, title="Briefing", starts_local=datetime(2024, 2, 12, 10), timezone="America/Chicago")
    session.commit()
    login(client, "viewer@jisr.example")
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 403
    assert client.post(f"/meetings/{meeting.id}/edit", data={"title": "X"}).status_code == 403
    assert client.get("/meetings/999/edit").status_code == 403
    session.expire_all()
    assert session.get(Meeting, meeting.id).title == "Briefing"
