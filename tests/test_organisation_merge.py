"""Merging a duplicate organisation (typed twice, or imported under another name): every
record that names it moves to the organisation that stays, its names become other names
of it, the duplicate is deleted, and each lead's timeline tells the move."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.core.events import Event
from crm.digests.models import Subscription
from crm.digests.operations import create_subscription
from crm.leads.models import Lead, SavedFilter
from crm.leads.operations import save_filter
from crm.missions.models import MeetingOrganisation, MissionOrganiser
from crm.missions.operations import create_mission, log_meeting
from crm.organisations.models import Contact, Country, Organisation, OrganisationSector
from crm.organisations.operations import create_contact
from crm.reference.operations import create_sector
from tests.factories import make_lead, make_organisation, make_user
from tests.web_helpers import login


@dataclass
class World:
    keep: Organisation
    duplicate: Organisation
    leads: list[Lead]
    contact: Contact
    meetings: list[int]
    mission: int
    subscriptions: list[Subscription]
    saved: SavedFilter
    sectors: list[int]


def _world(session: Session) -> World:
    admin = make_user(session, Role.ADMIN, email="admin@jisr.example", language="en")
    officer = make_user(session, email="leila@jisr.example")
    other = make_user(session)
    cloud = create_sector(session, code="cloudx", name_ar="سحابة", name_fr="Nuage", name_en="Cloud", actor=admin)
    cyber = create_sector(session, code="cyberx", name_ar="أمن", name_fr="Cyber", name_en="Cyber", actor=admin)
    keep = make_organisation(
        session,
        Country.MA,
        acronym="ADD",
        name_fr="Agence de Développement du Digital",
        name_en="",
        sector_ids=[cloud.id],
    )
    duplicate = make_organisation(
        session,
        Country.MA,
        name_en="Digital Development Agency",
        name_fr="",
        aliases=["Agence du digital", "add"],
        sector_ids=[cloud.id, cyber.id],
    )
    oracle = make_organisation(session, Country.US, acronym="ORCL", name_en="Oracle")
    session.flush()
    leads = [
        make_lead(session, owner=officer, ma_organisation_id=duplicate.id, us_organisation_id=oracle.id),
        make_lead(session, owner=officer, ma_organisation_id=keep.id, us_organisation_id=oracle.id),
        make_lead(
            session, owner=other, ma_organisation_id=duplicate.id, us_organisation_id=oracle.id, confidential=True
        ),
    ]
    contact = create_contact(session, organisation_id=int(duplicate.id or 0), name="Mehdi Alaoui", actor=officer)
    session.flush()
    both = log_meeting(
        session,
        title="Cloud with both",
        starts_local=datetime(2024, 2, 12, 10),
        timezone="America/Chicago",
        organisation_ids=[keep.id, duplicate.id],
        actor=officer,
    )
    one = log_meeting(
        session,
        title="Cloud with the duplicate",
        starts_local=datetime(2024, 2, 13, 10),
        timezone="America/Chicago",
        organisation_ids=[duplicate.id],
        contact_ids=[contact.id],
        actor=officer,
    )
    mission = create_mission(
        session, name="Mission", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), organiser_ids=[duplicate.id]
    )
    subscriptions = [
        create_subscription(
            session,
            name="Mehdi",
            email="mehdi@add.example",
            organisation_id=duplicate.id,
            filters={"ma_organisation_ids": [duplicate.id]},
            actor=officer,
        ),
        create_subscription(
            session,
            name="Both",
            email="both@add.example",
            filters={"ma_organisation_ids": [keep.id, duplicate.id]},
            actor=officer,
        ),
    ]
    saved = save_filter(session, officer, name="Duplicate's leads", query=f"ma={duplicate.id}&stage=identified")
    session.commit()
    return World(
        keep,
        duplicate,
        leads,
        contact,
        [int(both.id or 0), int(one.id or 0)],
        int(mission.id or 0),
        subscriptions,
        saved,
        [int(cloud.id or 0), int(cyber.id or 0)],
    )


def test_an_administrator_sees_what_moves_then_merges(session: Session, client: Any) -> None:
    world = _world(session)
    keep_id, dup_id = world.keep.id, world.duplicate.id
    login(client, "admin@jisr.example")
    page = client.get(f"/organisations/{keep_id}/merge?duplicate_id={dup_id}").get_data(as_text=True)
    plan = re.search(r'data-testid="merge-plan">(.*?)</ul>', page, re.S).group(1)
    for expected in ("2 leads", "1 contact", "2 meetings", "1 mission", "2 digest subscriptions", "1 saved filter"):
        assert expected in plan, plan
    assert "Digital Development Agency" in page and "Agence du digital" in page

    response = client.post(f"/organisations/{keep_id}/merge", data={"duplicate_id": dup_id})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/organisations/{keep_id}")
    session.expire_all()
    assert session.get(Organisation, dup_id) is None
    keep = session.get(Organisation, keep_id)
    assert keep.name_en == "Digital Development Agency"  # a name it lacked
    assert keep.aliases == ["Agence du digital"]  # "add" is its acronym already
    assert "agence du digital" in keep.search_text
    assert [session.get(Lead, lead.id).ma_organisation_id for lead in world.leads] == [keep_id] * 3
    assert session.get(Contact, world.contact.id).organisation_id == keep_id
    meeting_orgs = session.exec(select(MeetingOrganisation.meeting_id, MeetingOrganisation.organisation_id)).all()
    assert sorted(meeting_orgs) == sorted([(world.meetings[0], keep_id), (world.meetings[1], keep_id)])
    assert session.exec(select(MissionOrganiser.organisation_id)).all() == [keep_id]
    sectors = session.exec(select(OrganisationSector.sector_id).where(OrganisationSector.organisation_id == keep_id))
    assert sorted(sectors.all()) == world.sectors
    mehdi, both = (session.get(Subscription, s.id) for s in world.subscriptions)
    assert mehdi.organisation_id == keep_id and mehdi.filters["ma_organisation_ids"] == [keep_id]
    assert both.filters["ma_organisation_ids"] == [keep_id]
    assert session.get(SavedFilter, world.saved.id).query == f"ma={keep_id}&stage=identified"

    merged = session.exec(select(Event).where(Event.type == "organisation.merged")).one()
    assert merged.entity_id == keep_id and merged.payload["duplicate"]["name_en"] == "Digital Development Agency"
    moved = session.exec(select(Event).where(Event.type == "lead.updated", col(Event.lead_id).is_not(None))).all()
    assert sorted(e.lead_id for e in moved) == sorted([world.leads[0].id, world.leads[2].id])
    assert moved[0].payload["changes"] == {"ma_organisation_id": [dup_id, keep_id]}
    # The lead's timeline names the organisation that is gone.
    timeline = client.get(f"/leads/{world.leads[0].id}").get_data(as_text=True)
    assert "Moroccan organisation: \u2068Digital Development Agency\u2069 → \u2068ADD\u2069" in timeline


def test_only_administrators_merge(session: Session, client: Any) -> None:
    world = _world(session)
    login(client, "leila@jisr.example")
    url = f"/organisations/{world.keep.id}/merge"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"duplicate_id": world.duplicate.id}).status_code == 403
    assert 'data-testid="org-merge"' not in client.get(f"/organisations/{world.keep.id}").get_data(as_text=True)
    assert session.get(Organisation, world.duplicate.id) is not None


def test_a_merge_across_countries_or_into_itself_is_refused_and_changes_nothing(session: Session, client: Any) -> None:
    world = _world(session)
    oracle = session.exec(select(Organisation).where(Organisation.acronym == "ORCL")).one()
    login(client, "admin@jisr.example")
    before = session.exec(select(func.count()).select_from(Event)).one()
    for duplicate_id, message in (
        (oracle.id, "Only organisations of the same country can be merged."),
        (world.keep.id, "Choose another organisation than this one."),
        (999999, "Choose the duplicate among the organisations of the list."),
        ("abc", "Choose the duplicate among the organisations of the list."),
    ):
        response = client.post(f"/organisations/{world.keep.id}/merge", data={"duplicate_id": duplicate_id})
        assert response.status_code == 400, duplicate_id
        assert message in response.get_data(as_text=True), duplicate_id
    assert session.exec(select(func.count()).select_from(Event)).one() == before
    assert session.get(Organisation, oracle.id) is not None


def test_the_api_merges_with_the_same_rules(session: Session, client: Any) -> None:
    from tests.api_helpers import bearer, make_token

    world = _world(session)
    admin = session.exec(select(User).where(User.email == "admin@jisr.example")).one()
    officer = session.exec(select(User).where(User.email == "leila@jisr.example")).one()
    url = f"/api/v1/organisations/{world.keep.id}/merge"
    body = {"duplicate_id": world.duplicate.id}
    assert client.post(url, json=body, headers=bearer(make_token(session, officer))).status_code == 403
    admin_headers = bearer(make_token(session, admin))
    unknown = client.post(url, json={"duplicate_id": 999999}, headers=admin_headers)
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["loc"] == ["body", "duplicate_id"]
    answer = client.post(url, json=body, headers=admin_headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["aliases"] == ["Agence du digital"]
    assert client.get(f"/api/v1/organisations/{world.duplicate.id}", headers=admin_headers).status_code == 404
