"""``/missions`` and ``/meetings``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import exists, func, select
from sqlmodel import col

from crm.api.framework import Call, created, endpoint
from crm.api.listing import links_of, list_page, page_reply
from crm.api.problems import ApiError
from crm.api.schemas.missions import (
    MeetingCreate,
    MeetingList,
    MeetingOut,
    MeetingQuery,
    MeetingUpdate,
    MissionCreate,
    MissionList,
    MissionOut,
    MissionQuery,
    MissionUpdate,
)
from crm.core.db import db, pk
from crm.missions.models import (
    Meeting,
    MeetingContact,
    MeetingOrganisation,
    Mission,
    MissionDelegate,
    MissionLeg,
    MissionOrganiser,
)
from crm.missions.operations import create_mission, log_meeting, set_mission_delegates, update_meeting, update_mission


def mission_out(missions: list[Mission]) -> list[MissionOut]:
    """The missions with their organisers, delegates and places (legs), read in one query."""
    ids = [pk(m) for m in missions]
    organisers: dict[int, list[int]] = {}
    delegates: dict[int, list[int]] = {}
    places: dict[int, list[dict[str, str]]] = {}
    if ids:
        blank, zero = sa.literal("", sa.String), sa.literal(0, sa.Integer)
        links: Any = sa.union_all(
            select(
                col(MissionOrganiser.mission_id),
                sa.literal("o", sa.String),
                col(MissionOrganiser.organisation_id),
                blank,
                blank,
                zero,
            ).where(col(MissionOrganiser.mission_id).in_(ids)),
            select(
                col(MissionDelegate.mission_id),
                sa.literal("d", sa.String),
                col(MissionDelegate.contact_id),
                blank,
                blank,
                zero,
            ).where(col(MissionDelegate.mission_id).in_(ids)),
            select(
                col(MissionLeg.mission_id),
                sa.literal("l", sa.String),
                col(MissionLeg.id),
                col(MissionLeg.name),
                col(MissionLeg.timezone),
                col(MissionLeg.position),
            ).where(col(MissionLeg.mission_id).in_(ids)),
        )
        for mission_id, kind, other, name, zone, _ in sorted(
            db.session.execute(links).all(), key=lambda r: (r[0], r[1], r[5], r[2])
        ):
            if kind == "o":
                organisers.setdefault(mission_id, []).append(other)
            elif kind == "d":
                delegates.setdefault(mission_id, []).append(other)
            else:
                places.setdefault(mission_id, []).append({"name": name, "timezone": zone})
    return [
        MissionOut.model_validate(
            {
                **m.model_dump(),
                "places": places.get(pk(m), []),
                "organiser_ids": organisers.get(pk(m), []),
                "delegate_ids": delegates.get(pk(m), []),
            }
        )
        for m in missions
    ]


def meeting_out(meetings: list[Meeting]) -> list[MeetingOut]:
    ids = [pk(m) for m in meetings]
    organisations = links_of(db.session, MeetingOrganisation, "meeting_id", "organisation_id", ids)
    contacts = links_of(db.session, MeetingContact, "meeting_id", "contact_id", ids)
    return [
        MeetingOut.model_validate(
            {**m.model_dump(), "organisation_ids": organisations.get(pk(m), []), "contact_ids": contacts.get(pk(m), [])}
        )
        for m in meetings
    ]


def _mission(mission_id: int) -> Mission:
    mission = db.session.get(Mission, mission_id)
    if mission is None:
        raise ApiError(404)
    return mission


def _meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise ApiError(404)
    return meeting


@endpoint(
    "GET",
    "/missions",
    name="list_missions",
    tag="missions",
    summary="List missions",
    query=MissionQuery,
    response=MissionList,
)
def list_missions(call: Call) -> Any:
    """Trade missions and delegation visits, latest first."""
    q: MissionQuery = call.query
    columns = {
        "starts_on": col(Mission.starts_on),
        "name": func.lower(Mission.name),
        "created_at": col(Mission.created_at),
        "id": col(Mission.id),
    }
    query = select(Mission)
    if q.q is not None:
        query = query.where(func.lower(Mission.name).contains(q.q.strip().lower(), autoescape=True))
    if q.starts_after is not None:
        query = query.where(col(Mission.starts_on) >= q.starts_after)
    found = list_page(db.session, query, q, name="missions", columns=columns, tie=col(Mission.id))
    return page_reply(MissionList, mission_out([row[0] for row in found.rows]), found)


@endpoint(
    "GET",
    "/missions/<int:mission_id>",
    name="get_mission",
    tag="missions",
    summary="Read a mission",
    response=MissionOut,
    conditional=True,
)
def get_mission(call: Call, mission_id: int) -> Any:
    return mission_out([_mission(mission_id)])[0]


@endpoint(
    "POST",
    "/missions",
    name="create_mission",
    tag="missions",
    summary="Create a mission",
    body=MissionCreate,
    response=MissionOut,
    status=201,
    conditional=True,
)
def create_mission_endpoint(call: Call) -> Any:
    fields = call.body.model_dump()
    mission = create_mission(db.session, actor=call.user, **fields)
    return created(mission_out([mission])[0], "get_mission", mission_id=pk(mission))


@endpoint(
    "PATCH",
    "/missions/<int:mission_id>",
    name="update_mission",
    tag="missions",
    summary="Change a mission",
    body=MissionUpdate,
    response=MissionOut,
    conditional=True,
)
def update_mission_endpoint(call: Call, mission_id: int) -> Any:
    mission = _mission(mission_id)
    call.require_match(mission_out([mission])[0])
    fields = call.changes()
    delegate_ids = fields.pop("delegate_ids", None)
    update_mission(db.session, mission, actor=call.user, organiser_ids=fields.pop("organiser_ids", None), **fields)
    if delegate_ids is not None:
        set_mission_delegates(db.session, mission, delegate_ids, actor=call.user)
    return mission_out([mission])[0]


@endpoint(
    "GET",
    "/meetings",
    name="list_meetings",
    tag="meetings",
    summary="List meetings",
    query=MeetingQuery,
    response=MeetingList,
)
def list_meetings(call: Call) -> Any:
    """The meetings where leads are born, latest first."""
    q: MeetingQuery = call.query
    query = select(Meeting)
    if q.mission_id is not None:
        query = query.where(col(Meeting.mission_id) == q.mission_id)
    if q.organisation_id is not None:
        query = query.where(
            exists().where(
                col(MeetingOrganisation.meeting_id) == col(Meeting.id),
                col(MeetingOrganisation.organisation_id) == q.organisation_id,
            )
        )
    if q.starts_after is not None:
        query = query.where(col(Meeting.starts_at) >= q.starts_after)
    if q.starts_before is not None:
        query = query.where(col(Meeting.starts_at) < q.starts_before)
    columns = {
        "starts_at": col(Meeting.starts_at),
        "created_at": col(Meeting.created_at),
        "updated_at": col(Meeting.updated_at),
        "id": col(Meeting.id),
    }
    found = list_page(db.session, query, q, name="meetings", columns=columns, tie=col(Meeting.id))
    return page_reply(MeetingList, meeting_out([row[0] for row in found.rows]), found)


@endpoint(
    "GET",
    "/meetings/<int:meeting_id>",
    name="get_meeting",
    tag="meetings",
    summary="Read a meeting",
    response=MeetingOut,
    conditional=True,
)
def get_meeting(call: Call, meeting_id: int) -> Any:
    return meeting_out([_meeting(meeting_id)])[0]


@endpoint(
    "POST",
    "/meetings",
    name="create_meeting",
    tag="meetings",
    summary="Log a meeting",
    body=MeetingCreate,
    response=MeetingOut,
    status=201,
    conditional=True,
)
def create_meeting(call: Call) -> Any:
    """Log a meeting at its local time; leads born from it are then created with its ``meeting_id``."""
    meeting = log_meeting(db.session, actor=call.user, **call.body.model_dump())
    return created(meeting_out([meeting])[0], "get_meeting", meeting_id=pk(meeting))


@endpoint(
    "PATCH",
    "/meetings/<int:meeting_id>",
    name="update_meeting",
    tag="meetings",
    summary="Change a meeting",
    body=MeetingUpdate,
    response=MeetingOut,
    conditional=True,
)
def update_meeting_endpoint(call: Call, meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    call.require_match(meeting_out([meeting])[0])
    update_meeting(db.session, meeting, actor=call.user, **call.changes())
    return meeting_out([meeting])[0]
