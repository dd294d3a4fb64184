"""The API's collections: writes go through the operations (events, checks, permissions),
answers carry ETags, bad input answers 422 with field paths in the caller's language,
and lists are paged, filtered and sorted from an allow-list in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from crm.accounts.models import Role
from crm.core.db import db
from crm.core.events import Event
from crm.followups.models import FollowUp
from crm.leads.models import Lead, Stage
from crm.leads.operations import log_activity
from crm.missions.operations import create_mission
from crm.organisations.models import Country, Organisation
from crm.organisations.operations import create_contact
from crm.reference.operations import create_sector
from tests.api_helpers import bearer, make_token
from tests.factories import make_followup, make_lead, make_organisation, make_user


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    officer = make_user(session, email="officer@jisr.example", language="fr")
    ma = make_organisation(session, Country.MA, name_fr="Agence de Développement du Digital", acronym="ADD")
    us = make_organisation(session, Country.US, name_en="Palo Alto Networks")
    session.commit()
    return {"officer": officer, "ma": ma, "us": us, "token": make_token(session, officer)}


def _lead_body(w: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "title": "Cybersecurity workshop for DGSSI",
        "ma_organisation_id": w["ma"].id,
        "us_organisation_id": w["us"].id,
        "partnership_type": "capacity_building",
        **fields,
    }


def test_a_lead_is_created_read_changed_and_moved_through_the_operations(
    session: Session, client: Any, world: dict[str, Any]
) -> None:
    headers = bearer(world["token"])
    created = client.post(
        "/api/v1/leads", json=_lead_body(world, estimated_value="60000.00", currency="USD"), headers=headers
    )
    assert created.status_code == 201, created.get_json()["errors"]
    lead = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/leads/{lead['id']}")
    assert lead["owner_id"] == world["officer"].id and lead["stage"] == "identified"
    assert lead["estimated_value"] == "60000.00"
    event = session.exec(select(Event).where(Event.type == "lead.created")).one()
    assert (event.actor_id, event.lead_id) == (world["officer"].id, lead["id"])

    read = client.get(f"/api/v1/leads/{lead['id']}", headers=headers)
    assert read.get_json() == lead and read.headers["ETag"] == created.headers["ETag"]
    changed = client.patch(
        f"/api/v1/leads/{lead['id']}",
        json={"title": "Cybersecurity workshop in Rabat", "priority": "high"},
        headers={**headers, "If-Match": read.headers["ETag"]},
    )
    assert changed.status_code == 200
    assert changed.get_json()["title"] == "Cybersecurity workshop in Rabat"
    assert changed.headers["ETag"] != read.headers["ETag"]
    event = session.exec(select(Event).where(Event.type == "lead.updated")).one()
    assert set(event.payload["changes"]) == {"title", "priority"}

    moved = client.post(
        f"/api/v1/leads/{lead['id']}/stage", json={"stage": "proposal", "note": "Proposal sent"}, headers=headers
    )
    assert moved.status_code == 200 and moved.get_json()["stage"] == "proposal"
    event = session.exec(select(Event).where(Event.type == "lead.stage_changed")).one()
    assert event.payload["note"] == "Proposal sent" and event.payload["to"] == "proposal"


def test_a_stale_if_match_is_refused_with_412_and_changes_nothing(
    session: Session, client: Any, world: dict[str, Any]
) -> None:
    headers = bearer(world["token"])
    lead_id = client.post("/api/v1/leads", json=_lead_body(world), headers=headers).get_json()["id"]
    first = client.get(f"/api/v1/leads/{lead_id}", headers=headers).headers["ETag"]
    client.patch(f"/api/v1/leads/{lead_id}", json={"title": "Changed by someone else"}, headers=headers)
    current = client.get(f"/api/v1/leads/{lead_id}", headers=headers).headers["ETag"]

    for method, path, body in (
        ("PATCH", f"/api/v1/leads/{lead_id}", {"title": "My stale change"}),
        ("POST", f"/api/v1/leads/{lead_id}/stage", {"stage": "negotiation"}),
    ):
        answer = client.open(path, method=method, json=body, headers={**headers, "If-Match": first})
        assert answer.status_code == 412
        assert answer.get_json()["code"] == "precondition_failed"
        assert answer.headers["ETag"] == current
    session.expire_all()
    lead = session.get(Lead, lead_id)
    assert (lead.title, lead.stage) == ("Changed by someone else", Stage.IDENTIFIED)
    assert (
        client.patch(
            f"/api/v1/leads/{lead_id}", json={"title": "Fresh"}, headers={**headers, "If-Match": current}
        ).status_code
        == 200
    )
    any_version = client.patch(f"/api/v1/leads/{lead_id}", json={"title": "Any"}, headers={**headers, "If-Match": "*"})
    assert any_version.status_code == 200


def test_if_none_match_answers_304_until_the_resource_changes(client: Any, world: dict[str, Any]) -> None:
    headers = bearer(world["token"])
    org_id = world["ma"].id
    tag = client.get(f"/api/v1/organisations/{org_id}", headers=headers).headers["ETag"]
    unchanged = client.get(f"/api/v1/organisations/{org_id}", headers={**headers, "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == tag and not unchanged.data
    client.patch(f"/api/v1/organisations/{org_id}", json={"aliases": ["Agence du Digital"]}, headers=headers)
    assert client.get(f"/api/v1/organisations/{org_id}", headers={**headers, "If-None-Match": tag}).status_code == 200


def test_bad_input_answers_422_with_field_paths_in_the_callers_language(
    session: Session, client: Any, world: dict[str, Any]
) -> None:
    for language, required, moroccan in (
        ("en", "This field is required.", "Choose a Moroccan organisation."),
        ("fr", "Ce champ est obligatoire.", "Choisissez une organisation marocaine."),
        ("ar", "هذا الحقل إلزامي.", "اختر مؤسسة مغربية."),
    ):
        headers = bearer(world["token"], language=language)
        answer = client.post("/api/v1/leads", json={"title": "", "ma_organisation_id": "3"}, headers=headers)
        assert answer.status_code == 422 and answer.content_type == "application/problem+json"
        errors = {tuple(e["loc"]): e for e in answer.get_json()["errors"]}
        assert errors[("body", "title")]["message"] == required
        assert errors[("body", "us_organisation_id")]["type"] == "missing"
        assert errors[("body", "ma_organisation_id")]["type"] == "int_type"
        # The operation's own checks answer the same way, by field.
        wrong_side = _lead_body(world, ma_organisation_id=world["us"].id)
        answer = client.post("/api/v1/leads", json=wrong_side, headers=headers)
        assert answer.status_code == 422
        assert answer.get_json()["errors"] == [
            {"loc": ["body", "ma_organisation_id"], "message": moroccan, "type": "invalid"}
        ]
    assert session.exec(select(func.count()).select_from(Lead)).one() == 0


def test_without_accept_language_errors_speak_the_token_owners_language(session: Session, client: Any) -> None:
    arabic = make_user(session, language="ar")
    token = make_token(session, arabic)
    answer = client.get("/api/v1/leads?limit=500", headers=bearer(token, language=None))
    assert answer.get_json()["errors"][0]["loc"] == ["query", "limit"]
    assert answer.get_json()["errors"][0]["message"] == "أدخل عددًا لا يتجاوز 100."


def test_malformed_requests_answer_json_problems_never_html(client: Any, world: dict[str, Any]) -> None:
    headers = bearer(world["token"])
    not_json = client.post(
        "/api/v1/organisations", data="{country: MA", headers={**headers, "Content-Type": "application/json"}
    )
    assert (not_json.status_code, not_json.get_json()["code"]) == (400, "malformed_json")
    as_text = client.post(
        "/api/v1/organisations", data='{"country": "MA"}', headers={**headers, "Content-Type": "text/plain"}
    )
    assert as_text.status_code == 415
    assert client.post("/api/v1/leads", json=[1, 2], headers=headers).status_code == 422
    assert client.post("/api/v1/leads", headers=headers).get_json()["errors"][0]["loc"] == ["body"]
    wrong_method = client.put("/api/v1/leads", headers=headers)
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]
    for answer in (
        not_json,
        as_text,
        wrong_method,
        client.get("/api/v1/no-such-thing", headers=headers),
        client.get("/api/v1/leads/99999", headers=headers),
        client.get("/api/v1/leads/99999999999999", headers=headers),
        client.get("/api/v1/leads?colour=red", headers=headers),
    ):
        assert answer.content_type == "application/problem+json", answer.status_code
        assert answer.get_json()["status"] == answer.status_code
    assert client.get("/api/v1/leads?colour=red", headers=headers).get_json()["errors"][0]["loc"] == [
        "query",
        "colour",
    ]


def test_lists_are_paged_with_a_maximum_limit(session: Session, client: Any, world: dict[str, Any]) -> None:
    for n in range(5):
        make_lead(
            session,
            owner=world["officer"],
            title=f"Lead {n}",
            ma_organisation_id=world["ma"].id,
            us_organisation_id=world["us"].id,
        )
    session.commit()
    headers = bearer(world["token"])
    page = client.get("/api/v1/leads?limit=2&page=2&sort=title", headers=headers).get_json()
    assert [lead["title"] for lead in page["items"]] == ["Lead 2", "Lead 3"]
    assert (page["page"], page["limit"], page["total"]) == (2, 2, 5)
    assert client.get("/api/v1/leads?limit=2&page=9", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/leads?limit=101", headers=headers).status_code == 422
    assert client.get("/api/v1/leads?limit=0", headers=headers).status_code == 422
    assert len(client.get("/api/v1/leads", headers=headers).get_json()["items"]) == 5


def test_filters_and_sorting_come_from_an_allow_list(session: Session, client: Any, world: dict[str, Any]) -> None:
    officer = world["officer"]
    kwargs = {"ma_organisation_id": world["ma"].id, "us_organisation_id": world["us"].id, "owner": officer}
    cloud = make_lead(session, title="Cloud migration", estimated_value="900000", currency="MAD", **kwargs)
    ai = make_lead(session, title="AI pilot", estimated_value="100000", currency="MAD", **kwargs)
    make_lead(session, title="Training", **kwargs)
    from crm.leads.operations import move_lead_to_stage

    move_lead_to_stage(session, cloud, "proposal", actor=officer)
    move_lead_to_stage(session, ai, "proposal", actor=officer)
    make_followup(session, ai, datetime(2020, 1, 6, 9, 0))  # long overdue
    session.commit()
    headers = bearer(world["token"])

    def titles(query: str) -> list[str]:
        answer = client.get(f"/api/v1/leads?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return [lead["title"] for lead in answer.get_json()["items"]]

    assert titles("stage=proposal&sort=-estimated_value") == ["Cloud migration", "AI pilot"]
    assert titles("stage=proposal&stage=identified&sort=title") == ["AI pilot", "Cloud migration", "Training"]
    assert titles("overdue=true") == ["AI pilot"]
    assert titles("overdue=false&sort=title") == ["Cloud migration", "Training"]
    assert titles("q=migration") == ["Cloud migration"]
    # As the search page finds them: through the organisations' names and acronyms, any case
    # or accent, joined or split, every word somewhere.
    assert titles("q=ADD&sort=title") == ["AI pilot", "Cloud migration", "Training"]
    assert titles("q=developpement%20cloud") == ["Cloud migration"]
    assert titles("q=paloalto%20pilot") == ["AI pilot"]
    assert titles("q=nowhere") == []
    assert titles("sort=next_followup_due_at&limit=1") == ["AI pilot"]
    for bad in ("sort=search_text", "sort=-owner_id; DROP TABLE lead", "stage=won", "overdue=maybe"):
        assert client.get(f"/api/v1/leads?{bad}", headers=headers).status_code == 422


def test_follow_ups_are_scheduled_rescheduled_and_closed(session: Session, client: Any, world: dict[str, Any]) -> None:
    headers = bearer(world["token"])
    lead_id = client.post("/api/v1/leads", json=_lead_body(world), headers=headers).get_json()["id"]
    created = client.post(
        "/api/v1/followups",
        json={"lead_id": lead_id, "title": "Send the proposal", "due_local": "2030-03-15T09:00:00"},
        headers=headers,
    )
    assert created.status_code == 201
    followup = created.get_json()
    assert (followup["timezone"], followup["due_at"]) == ("Africa/Casablanca", "2030-03-15T09:00:00Z")
    moved = client.patch(
        f"/api/v1/followups/{followup['id']}",
        json={"due_local": "2030-03-20T10:30:00", "timezone": "America/Chicago"},
        headers=headers,
    ).get_json()
    assert (moved["due_version"], moved["due_at"]) == (2, "2030-03-20T15:30:00Z")
    done = client.patch(f"/api/v1/followups/{followup['id']}", json={"status": "done"}, headers=headers)
    assert done.get_json()["status"] == "done"
    again = client.patch(f"/api/v1/followups/{followup['id']}", json={"status": "cancelled"}, headers=headers)
    assert again.status_code == 422 and again.get_json()["errors"][0]["loc"] == ["body", "status"]
    types = session.exec(select(Event.type).where(Event.entity_type == "followup").order_by(Event.id)).all()
    assert types == ["followup.scheduled", "followup.rescheduled", "followup.done"]

    second = client.post(
        "/api/v1/followups",
        json={"lead_id": lead_id, "title": "Call back", "due_local": "2030-04-01T09:00:00"},
        headers=headers,
    ).get_json()
    cancelled = client.delete(f"/api/v1/followups/{second['id']}", headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert client.delete(f"/api/v1/followups/{second['id']}", headers=headers).get_json()["status"] == "cancelled"
    listed = client.get(f"/api/v1/followups?lead_id={lead_id}&status=cancelled", headers=headers).get_json()
    assert [f["id"] for f in listed["items"]] == [second["id"]]
    assert session.get(FollowUp, second["id"]).status.value == "cancelled"


def test_organisations_contacts_missions_meetings_and_activities_are_written_through_their_operations(
    session: Session, client: Any, world: dict[str, Any]
) -> None:
    sector = create_sector(session, code="cloud", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")
    session.commit()
    headers = bearer(world["token"])
    org = client.post(
        "/api/v1/organisations",
        json={
            "country": "MA",
            "kind": "agency",
            "name_ar": "المديرية العامة لأمن نظم المعلومات",
            "acronym": "DGSSI",
            "sector_ids": [sector.id],
            "website": "www.dgssi.gov.ma",
        },
        headers=headers,
    ).get_json()
    assert (org["sector_ids"], org["website"]) == ([sector.id], "https://www.dgssi.gov.ma")
    assert client.get("/api/v1/organisations?q=dgssi", headers=headers).get_json()["total"] == 1
    assert client.get("/api/v1/organisations?q=DGSSI%20%7C", headers=headers).get_json()["total"] == 1
    contact = client.post(
        "/api/v1/contacts",
        json={"organisation_id": org["id"], "name": "Sara Amrani", "phone": "0612345678", "email": "S@Example.ma"},
        headers=headers,
    ).get_json()
    assert (contact["phone"], contact["email"]) == ("+212612345678", "s@example.ma")
    mission = client.post(
        "/api/v1/missions",
        json={
            "name": "Digital trade mission",
            "starts_on": "2024-02-11",
            "ends_on": "2024-02-21",
            "places": [{"name": "Houston, Texas", "timezone": "America/Chicago"}],
            "organiser_ids": [world["us"].id],
        },
        headers=headers,
    ).get_json()
    renamed = client.patch(
        f"/api/v1/missions/{mission['id']}",
        json={"name": "Digital development trade mission", "delegate_ids": [contact["id"]]},
        headers=headers,
    ).get_json()
    assert (renamed["name"], renamed["delegate_ids"], renamed["organiser_ids"]) == (
        "Digital development trade mission",
        [contact["id"]],
        [world["us"].id],
    )
    assert client.get("/api/v1/missions?q=DEVELOPMENT", headers=headers).get_json()["total"] == 1
    assert client.get("/api/v1/missions?starts_after=2024-03-01", headers=headers).get_json()["total"] == 0
    backwards = client.patch(f"/api/v1/missions/{mission['id']}", json={"ends_on": "2024-02-01"}, headers=headers)
    assert backwards.get_json()["errors"][0]["loc"] == ["body", "ends_on"]
    meeting = client.post(
        "/api/v1/meetings",
        json={
            "title": "Round table",
            "starts_local": "2024-02-12T10:00:00",
            "timezone": "America/Chicago",
            "mission_id": mission["id"],
            "organisation_ids": [org["id"], world["us"].id],
        },
        headers=headers,
    ).get_json()
    assert meeting["starts_at"] == "2024-02-12T16:00:00Z"
    moved = client.patch(
        f"/api/v1/meetings/{meeting['id']}", json={"starts_local": "2024-02-12T11:00"}, headers=headers
    )
    assert moved.get_json()["starts_at"] == "2024-02-12T17:00:00Z"
    assert moved.get_json()["organisation_ids"] == sorted([org["id"], world["us"].id])  # not sent: kept
    fewer = client.patch(f"/api/v1/meetings/{meeting['id']}", json={"organisation_ids": [org["id"]]}, headers=headers)
    assert fewer.status_code == 200 and fewer.get_json()["organisation_ids"] == [org["id"]]
    unknown = client.patch(f"/api/v1/meetings/{meeting['id']}", json={"contact_ids": [999999]}, headers=headers)
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["loc"] == ["body", "contact_ids"]
    assert client.get(f"/api/v1/meetings/{meeting['id']}", headers=headers).get_json()["contact_ids"] == []
    lead_id = client.post(
        "/api/v1/leads", json=_lead_body(world, meeting_id=meeting["id"]), headers=headers
    ).get_json()["id"]
    assert client.get(f"/api/v1/leads/{lead_id}", headers=headers).get_json()["mission_id"] == mission["id"]
    activity = client.post(
        "/api/v1/activities", json={"lead_id": lead_id, "kind": "call", "body": "Called the CISO"}, headers=headers
    )
    assert activity.status_code == 201
    assert client.get(f"/api/v1/activities?lead_id={lead_id}", headers=headers).get_json()["total"] == 1
    future = client.post(
        "/api/v1/activities",
        json={"lead_id": lead_id, "kind": "call", "body": "Later", "occurred_at": "2190-01-01T00:00:00Z"},
        headers=headers,
    )
    assert future.get_json()["errors"][0]["loc"] == ["body", "occurred_at"]
    recorded = set(session.exec(select(Event.type)).all())
    assert {
        "organisation.created",
        "contact.created",
        "mission.created",
        "mission.updated",
        "meeting.logged",
        "meeting.updated",
        "lead.created",
        "activity.logged",
    } <= recorded


def test_a_viewers_token_reads_but_never_writes(session: Session, client: Any, world: dict[str, Any]) -> None:
    viewer = make_user(session, Role.VIEWER)
    token = make_token(session, viewer, scope="read")
    assert client.get("/api/v1/organisations", headers=bearer(token)).get_json()["total"] == 2
    assert (
        client.patch(
            f"/api/v1/organisations/{world['ma'].id}", json={"acronym": "X"}, headers=bearer(token)
        ).status_code
        == 403
    )
    session.expire_all()
    assert session.get(Organisation, world["ma"].id).acronym == "ADD"


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_lists_run_a_fixed_number_of_queries_whatever_the_page_size(
    app: Any, session: Session, client: Any, world: dict[str, Any]
) -> None:
    app.config["API_EVENT_FEED_SETTLE_SECONDS"] = 0  # events enter the feed as they commit
    officer = world["officer"]
    watcher = make_user(session)
    for n in range(12):
        lead = make_lead(
            session,
            owner=officer,
            ma_organisation_id=world["ma"].id,
            us_organisation_id=world["us"].id,
            watcher_ids=[watcher.id],
        )
        make_followup(session, lead, datetime(2030, 1, 1 + n, 9, 0))
        log_activity(session, lead, kind="note", body=f"Note {n}", actor=officer)
        create_contact(session, organisation_id=world["ma"].id, name=f"Contact {n}", actor=officer)
        make_organisation(session, Country.US)
        create_mission(session, name=f"M{n}", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), actor=officer)
    session.commit()
    headers = bearer(world["token"])
    client.get("/api/v1/me", headers=headers)  # the token's "last used" stamp, once a minute
    for path in ("leads", "organisations", "contacts", "missions", "followups", "activities", "events"):
        counts = []
        for limit in (1, 12):
            with counted_queries() as statements:
                answer = client.get(f"/api/v1/{path}?limit={limit}", headers=headers)
            assert answer.status_code == 200
            assert len(answer.get_json()["items"]) == limit
            counts.append(len(statements))
            cursor = answer.get_json()["next_cursor"]
            if path != "events" and cursor is not None:  # the next page, by cursor, costs the same
                with counted_queries() as statements:
                    assert (
                        client.get(f"/api/v1/{path}?limit={limit}&cursor={cursor}", headers=headers).status_code == 200
                    )
                counts.append(len(statements))
        assert len(set(counts)) == 1, (path, counts)
        assert counts[0] <= 5, (path, counts)
