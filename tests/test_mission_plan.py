"""A mission as a plan: names in three languages, status, sectors, legs and delegate roles,
through operations that record their events; the places of older missions become legs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from crm.accounts.models import Role
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event
from crm.core.migrate import alembic_config, upgrade
from crm.missions.models import DelegateRole, Mission, MissionStatus
from crm.missions.operations import create_mission, log_meeting, set_mission_delegates, update_mission
from crm.missions.plan import leg_rows
from crm.missions.queries import delegates_with_roles, legs_with_meetings, mission_rows
from crm.organisations.operations import create_contact
from crm.pickers.sources import SOURCES, Ask
from crm.reference.operations import create_sector
from tests.api_helpers import bearer, make_token
from tests.factories import make_organisation, make_user

HOUSTON = {"name": "Houston, Texas", "timezone": "America/Chicago", "starts_on": date(2024, 2, 11)}
VALLEY = {"name": "Silicon Valley", "timezone": "America/Los_Angeles", "starts_on": date(2024, 2, 15)}


def _legs() -> list[dict[str, Any]]:
    return [{**HOUSTON, "ends_on": date(2024, 2, 14)}, {**VALLEY, "ends_on": date(2024, 2, 21)}]


def _people(session: Session) -> tuple[Any, Any, Any]:
    org = make_organisation(session, "MA", acronym="MTNRA")
    head = create_contact(session, organisation_id=org.id, name="Sara Amrani", email="s.amrani@mtnra.example")
    other = create_contact(session, organisation_id=org.id, name="Karim Idrissi", email="k.idrissi@mtnra.example")
    voice = create_contact(session, organisation_id=org.id, name="Laila Tazi", email="l.tazi@mtnra.example")
    return head, other, voice


def _events(session: Session, kind: str, mission: Mission) -> list[Event]:
    return list(
        session.exec(
            select(Event).where(Event.type == kind, Event.entity_id == mission.id).order_by(Event.id)  # type: ignore[arg-type]
        ).all()
    )


def test_a_mission_is_created_with_names_legs_sectors_and_roles_in_one_event(session: Session) -> None:
    officer = make_user(session)
    head, other, voice = _people(session)
    cloud = create_sector(session, code="cloud", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")
    mission = create_mission(
        session,
        name="Digital mission",
        name_ar="البعثة الرقمية",
        name_fr="Mission numérique",
        starts_on=date(2024, 2, 11),
        ends_on=date(2024, 2, 21),
        legs=_legs(),
        sector_ids=[cloud.id],
        delegate_ids=[other.id],
        delegate_roles={head.id: "head", voice.id: "interpreter"},
        actor=officer,
    )
    session.commit()
    assert mission.status == MissionStatus.PLANNED
    assert mission.local_name("ar") == "البعثة الرقمية" and mission.local_name("en") == "Mission numérique"
    legs = leg_rows(session, mission.id)
    assert [(leg.position, leg.timezone, leg.starts_on.day, leg.ends_on.day) for leg in legs] == [
        (0, "America/Chicago", 11, 14),
        (1, "America/Los_Angeles", 15, 21),
    ]
    rows = delegates_with_roles(session, mission.id)
    assert [(r.contact.name, r.role) for r in rows] == [
        ("Sara Amrani", DelegateRole.HEAD),
        ("Karim Idrissi", DelegateRole.DELEGATE),
        ("Laila Tazi", DelegateRole.INTERPRETER),
    ]
    (event,) = _events(session, "mission.created", mission)
    assert event.actor_id == officer.id and event.payload["sector_ids"] == [cloud.id]
    assert event.payload["delegate_roles"] == {
        str(head.id): "head",
        str(other.id): "delegate",
        str(voice.id): "interpreter",
    }
    assert [leg["name"] for leg in event.payload["legs"]] == ["Houston, Texas", "Silicon Valley"]


def test_roles_status_and_legs_change_through_operations_with_events(session: Session) -> None:
    officer = make_user(session)
    head, other, _ = _people(session)
    mission = create_mission(
        session, name="M", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), legs=_legs(), actor=officer
    )
    houston = leg_rows(session, mission.id)[0]
    meeting = log_meeting(
        session, title="Oracle", starts_local=datetime(2024, 2, 12, 10), mission_id=mission.id, leg_id=houston.id
    )
    assert meeting.timezone == "America/Chicago" and meeting.starts_at == datetime(2024, 2, 12, 16, tzinfo=UTC)
    set_mission_delegates(session, mission, [head.id, other.id], roles={head.id: "head"}, actor=officer)
    set_mission_delegates(session, mission, [head.id, other.id], roles={other.id: "organiser"}, actor=officer)
    changes = update_mission(session, mission, status="under_way", actor=officer)
    assert changes == {"status": ["planned", "under_way"]}
    # The first leg moves to Denver's zone: its meeting keeps its wall time, in the new zone.
    legs = [
        {"id": leg.id, "name": leg.name, "timezone": leg.timezone, "starts_on": leg.starts_on, "ends_on": leg.ends_on}
        for leg in leg_rows(session, mission.id)
    ]
    legs[0]["timezone"] = "America/Denver"
    update_mission(session, mission, legs=legs, actor=officer)
    session.commit()
    session.refresh(meeting)
    assert meeting.leg_id == houston.id and meeting.timezone == "America/Denver"
    assert meeting.starts_at == datetime(2024, 2, 12, 17, tzinfo=UTC)
    updates = [e.payload["changes"] for e in _events(session, "mission.updated", mission)]
    assert updates[0]["delegate_roles"] == [{}, {str(head.id): "head"}]
    assert updates[1]["delegate_roles"] == [{str(head.id): "head"}, {str(head.id): "head", str(other.id): "organiser"}]
    assert "delegate_ids" not in updates[1]
    assert updates[3]["legs"][1][0]["timezone"] == "America/Denver"
    moved = session.exec(select(Event).where(Event.type == "meeting.updated", Event.entity_id == meeting.id)).one()  # type: ignore[arg-type]
    assert moved.payload["changes"] == {"timezone": ["America/Chicago", "America/Denver"]}
    # Removing a leg keeps its meetings, without a leg.
    update_mission(session, mission, legs=legs[1:], actor=officer)
    session.commit()
    session.refresh(meeting)
    assert meeting.leg_id is None and len(leg_rows(session, mission.id)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"legs": [{**HOUSTON, "ends_on": date(2024, 2, 25)}]}, "places"),
        ({"legs": [{**HOUSTON, "ends_on": date(2024, 2, 10)}]}, "places"),
        ({"legs": [{**HOUSTON, "timezone": "Mars/Olympus"}]}, "places"),
        ({"status": "finished"}, "status"),
        ({"sector_ids": [99999]}, "sector_ids"),
    ],
)
def test_bad_plans_are_refused_and_write_nothing(session: Session, change: dict[str, Any], field: str) -> None:
    officer = make_user(session)
    mission = create_mission(
        session, name="M", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), legs=_legs(), actor=officer
    )
    session.commit()
    with pytest.raises(ValidationError) as caught:
        update_mission(session, mission, actor=officer, **change)
    session.rollback()
    assert field in caught.value.errors
    assert [leg.ends_on.day for leg in leg_rows(session, mission.id)] == [14, 21]
    assert len(_events(session, "mission.updated", mission)) == 0


def test_a_meeting_must_be_on_a_leg_of_its_own_mission(session: Session) -> None:
    officer = make_user(session)
    one = create_mission(
        session, name="A", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), legs=_legs(), actor=officer
    )
    two = create_mission(
        session, name="B", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), legs=_legs(), actor=officer
    )
    with pytest.raises(ValidationError) as caught:
        log_meeting(
            session,
            title="x",
            starts_local=datetime(2024, 2, 12, 10),
            mission_id=one.id,
            leg_id=leg_rows(session, two.id)[0].id,
        )
    assert "leg_id" in caught.value.errors


def test_viewers_cannot_plan_missions(session: Session) -> None:
    viewer = make_user(session, role=Role.VIEWER)
    officer = make_user(session)
    mission = create_mission(session, name="M", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), actor=officer)
    with pytest.raises(PermissionDenied):
        update_mission(session, mission, status="closed", actor=viewer)
    with pytest.raises(PermissionDenied):
        set_mission_delegates(session, mission, [], actor=viewer)


def test_closed_and_archived_missions_leave_the_default_list_and_the_picker(session: Session) -> None:
    officer = make_user(session)
    missions = {
        status: create_mission(
            session,
            name=f"Mission {status}",
            starts_on=date(2024, 2, 11),
            ends_on=date(2024, 2, 21),
            status=status,
            actor=officer,
        )
        for status in ("planned", "under_way", "closed", "archived")
    }
    session.commit()
    assert {r.mission.name for r in mission_rows(session, officer)} == {"Mission planned", "Mission under_way"}
    assert len(mission_rows(session, officer, None)) == 4
    assert [r.mission.name for r in mission_rows(session, officer, ["closed"])] == ["Mission closed"]
    offered = {o.text for o in SOURCES["missions"](session, officer, Ask([], None, {}, 50))}
    assert offered == {"Mission planned", "Mission under_way"}
    chosen = SOURCES["missions"](session, officer, Ask([], [missions["archived"].id], {}, 50))
    assert [o.text for o in chosen] == ["Mission archived"]


def test_legs_with_meetings_groups_meetings_by_leg_in_order(session: Session) -> None:
    officer = make_user(session)
    mission = create_mission(
        session, name="M", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), legs=_legs(), actor=officer
    )
    houston, valley = leg_rows(session, mission.id)
    for title, day, leg in (("Late", 13, houston), ("Early", 12, houston), ("Cisco", 16, valley), ("Loose", 20, None)):
        log_meeting(
            session,
            title=title,
            starts_local=datetime(2024, 2, day, 10),
            timezone="America/Los_Angeles",
            mission_id=mission.id,
            leg_id=leg.id if leg else None,
        )
    groups = legs_with_meetings(session, mission.id)
    assert [(g.leg.name if g.leg else None, [m.title for m in g.meetings]) for g in groups] == [
        ("Houston, Texas", ["Early", "Late"]),
        ("Silicon Valley", ["Cisco"]),
        (None, ["Loose"]),
    ]


def test_the_places_of_earlier_missions_become_legs_and_come_back(backend: str, database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "c4e1a9d7b3f2")
    engine = sa.create_engine(database_url)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    places = [
        {"name": "Houston, Texas", "timezone": "America/Chicago"},
        {"name": "San José", "timezone": "America/Los_Angeles"},
    ]
    try:
        with engine.begin() as conn:
            mission_id = conn.execute(
                sa.text(
                    "INSERT INTO mission (name, starts_on, ends_on, places, description, created_at, updated_at)"
                    " VALUES ('Old', :s, :e, :p, '', :now, :now) RETURNING id"
                ),
                {"s": date(2024, 2, 11), "e": date(2024, 2, 21), "p": json.dumps(places), "now": now},
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO meeting (mission_id, title, starts_local, timezone, starts_at, place, notes,"
                    " search_text, created_at, updated_at)"
                    " VALUES (:m, 'Cisco', :wall, 'America/Los_Angeles', :at, '', '', '', :now, :now)"
                ),
                {
                    "m": mission_id,
                    "wall": datetime(2024, 2, 16, 9),
                    "at": datetime(2024, 2, 16, 17, tzinfo=UTC),
                    "now": now,
                },
            )
        upgrade(database_url)
        with engine.connect() as conn:
            legs = conn.execute(
                sa.text(
                    "SELECT id, position, name, timezone, starts_on, ends_on FROM mission_leg"
                    " WHERE mission_id = :m ORDER BY position"
                ),
                {"m": mission_id},
            ).all()
            assert [(p, n, z, str(s)[:10], str(e)[:10]) for _, p, n, z, s, e in legs] == [
                (0, "Houston, Texas", "America/Chicago", "2024-02-11", "2024-02-21"),
                (1, "San José", "America/Los_Angeles", "2024-02-11", "2024-02-21"),
            ]
            leg_id, duration = conn.execute(sa.text("SELECT leg_id, duration_minutes FROM meeting")).one()
            assert leg_id == legs[1][0] and duration == 60
            status = conn.execute(sa.text("SELECT status FROM mission")).scalar_one()
            assert status == "planned"
        command.downgrade(config, "c4e1a9d7b3f2")
        with engine.connect() as conn:
            back = conn.execute(sa.text("SELECT places FROM mission")).scalar_one()
            assert (json.loads(back) if isinstance(back, str) else back) == places
    finally:
        engine.dispose()
        upgrade(database_url)


def test_the_api_reads_and_writes_status_names_legs_and_durations(session: Session, client: Any) -> None:
    officer = make_user(session)
    headers = bearer(make_token(session, officer))
    session.commit()
    mission = client.post(
        "/api/v1/missions",
        json={
            "name": "Digital mission",
            "name_ar": "البعثة الرقمية",
            "status": "under_way",
            "starts_on": "2024-02-11",
            "ends_on": "2024-02-21",
            "places": [{"name": "Houston", "timezone": "America/Chicago"}],
        },
        headers=headers,
    ).get_json()
    assert (mission["status"], mission["name_ar"]) == ("under_way", "البعثة الرقمية")
    leg = leg_rows(session, mission["id"])[0]
    meeting = client.post(
        "/api/v1/meetings",
        json={
            "title": "Oracle",
            "starts_local": "2024-02-12T10:00:00",
            "timezone": "Africa/Casablanca",
            "mission_id": mission["id"],
            "leg_id": leg.id,
            "duration_minutes": 90,
        },
        headers=headers,
    ).get_json()
    assert (meeting["timezone"], meeting["leg_id"], meeting["duration_minutes"]) == ("America/Chicago", leg.id, 90)
    # A shorter mission: its leg, which spanned it, follows; the status closes it.
    changed = client.patch(
        f"/api/v1/missions/{mission['id']}", json={"ends_on": "2024-02-15", "status": "closed"}, headers=headers
    )
    assert changed.status_code == 200 and changed.get_json()["status"] == "closed"
    session.expire_all()
    assert leg_rows(session, mission["id"])[0].ends_on == date(2024, 2, 15)
    bad = client.patch(f"/api/v1/missions/{mission['id']}", json={"status": "done"}, headers=headers)
    assert bad.status_code == 422 or bad.status_code == 400


def test_the_mission_list_counts_leads_up_to_the_bound(app: Any, session: Session) -> None:
    from tests.factories import make_lead

    app.config["LIST_EXACT_COUNT_LIMIT"] = 2
    officer = make_user(session)
    big = create_mission(session, name="Big", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), actor=officer)
    small = create_mission(session, name="Small", starts_on=date(2024, 3, 11), ends_on=date(2024, 3, 21), actor=officer)
    for mission, n in ((big, 4), (small, 2)):
        for _ in range(n):
            make_lead(session, owner=officer, mission_id=mission.id)
    session.commit()
    with app.test_request_context():
        rows = {r.mission.name: r for r in mission_rows(session, officer)}
        assert rows["Small"].leads == 2 and rows["Small"].leads_count.exact
        assert rows["Big"].leads == 3 and not rows["Big"].leads_count.exact  # read no further than the bound + 1
