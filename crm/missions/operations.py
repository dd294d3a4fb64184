"""Writes to missions and meetings; each records its event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, delete, select

from crm.accounts.models import User
from crm.core.db import pk
from crm.core.errors import ValidationError
from crm.core.events import changes_of, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import to_utc, utcnow
from crm.core.validation import clean_enum, clean_text, clean_zone
from crm.missions.models import (
    DelegateRole,
    Meeting,
    MeetingContact,
    MeetingOrganisation,
    Mission,
    MissionLeg,
    MissionOrganiser,
    MissionStatus,
)
from crm.missions.plan import (
    clean_legs,
    clean_roles,
    current_roles,
    leg_rows,
    leg_summary,
    places_as_legs,
    replace_delegates,
    replace_legs,
    replace_sectors,
)
from crm.organisations.models import Contact, Organisation
from crm.search.texts import meeting_text


def _check_ids(session: Session, model: Any, ids: Iterable[int], field: str) -> list[int]:
    wanted = sorted(set(ids))
    if wanted:
        found = set(session.exec(select(model.id).where(model.id.in_(wanted))).all())
        if found != set(wanted):
            raise ValidationError.single(field, _l("Unknown item in the list."))
    return wanted


NAME_FIELDS = ("name_ar", "name_fr", "name_en")


def _clean_names(fields: Mapping[str, Any]) -> dict[str, str]:
    return {key: clean_text(fields[key], key, max_length=300, required=False) for key in NAME_FIELDS if key in fields}


def create_mission(
    session: Session,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    places: Iterable[Mapping[str, Any]] = (),
    legs: Iterable[Mapping[str, Any]] | None = None,
    description: str = "",
    status: str = MissionStatus.PLANNED.value,
    sector_ids: Iterable[int] = (),
    organiser_ids: Iterable[int] = (),
    delegate_ids: Iterable[int] = (),
    delegate_roles: Mapping[int, str] | None = None,
    actor: User | None = None,
    **names: str,
) -> Mission:
    """A mission with its legs (or ``places``: legs over the mission's dates), sectors,
    organisers and delegates with their roles."""
    from crm.accounts.permissions import require_editor

    require_editor(actor)
    unknown = set(names) - set(NAME_FIELDS)
    if unknown:
        raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
    if ends_on < starts_on:
        raise ValidationError.single("ends_on", _l("The mission cannot end before it starts."))
    clean_legs_ = clean_legs(list(places) if legs is None else legs, starts_on, ends_on)
    mission = Mission(
        name=clean_text(name, "name", max_length=300),
        **_clean_names(names),  # type: ignore[arg-type]
        status=clean_enum(MissionStatus, status, "status"),
        starts_on=starts_on,
        ends_on=ends_on,
        description=clean_text(description, "description", max_length=20000, required=False),
    )
    organisers = _check_ids(session, Organisation, organiser_ids, "organiser_ids")
    roles = clean_roles(session, delegate_ids, delegate_roles, {})
    session.add(mission)
    session.flush()
    for org_id in organisers:
        session.add(MissionOrganiser(mission_id=pk(mission), organisation_id=org_id))
    replace_delegates(session, mission, roles)
    sectors = replace_sectors(session, mission, sector_ids)
    replace_legs(session, mission, clean_legs_, actor=actor)
    record_event(
        session,
        "mission.created",
        mission,
        actor=actor,
        payload={
            "name": mission.name,
            **{key: getattr(mission, key) for key in NAME_FIELDS if getattr(mission, key)},
            "status": mission.status.value,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "legs": [{k: v for k, v in leg.items() if k != "id"} for leg in clean_legs_],
            "sector_ids": sectors[1] if sectors else [],
            "organiser_ids": organisers,
            "delegate_ids": sorted(roles),
            "delegate_roles": {str(k): v for k, v in sorted(roles.items())},
        },
    )
    return mission


def set_mission_delegates(
    session: Session,
    mission: Mission,
    contact_ids: Iterable[int],
    *,
    roles: Mapping[int, str] | None = None,
    actor: User | None = None,
) -> None:
    """The mission's delegates become ``contact_ids`` (and those in ``roles``), each with the
    role given, or the one they had, or delegate."""
    from crm.accounts.permissions import require_editor

    require_editor(actor)
    wanted = clean_roles(session, contact_ids, roles, current_roles(session, mission.id))
    changed = replace_delegates(session, mission, wanted)
    if changed is None:
        return
    before, after = changed
    changes: dict[str, Any] = {}
    if sorted(before) != sorted(after):
        changes["delegate_ids"] = [sorted(int(k) for k in before), sorted(int(k) for k in after)]
    special = [{k: v for k, v in roles.items() if v != DelegateRole.DELEGATE.value} for roles in (before, after)]
    if special[0] != special[1]:
        changes["delegate_roles"] = special
    mission.updated_at = utcnow()
    record_event(session, "mission.updated", mission, actor=actor, payload={"changes": changes})


def update_mission(
    session: Session,
    mission: Mission,
    *,
    actor: User | None = None,
    organiser_ids: Iterable[int] | None = None,
    sector_ids: Iterable[int] | None = None,
    legs: Iterable[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, list[Any]]:
    """Change a mission's names, dates, status, legs (or ``places``), description, sectors or
    organisers (one event)."""
    from crm.accounts.permissions import require_editor

    require_editor(actor)
    allowed = {"name", *NAME_FIELDS, "starts_on", "ends_on", "places", "description", "status"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
    clean: dict[str, Any] = _clean_names(fields)
    if "name" in fields:
        clean["name"] = clean_text(fields["name"], "name", max_length=300)
    if "description" in fields:
        clean["description"] = clean_text(fields["description"], "description", max_length=20000, required=False)
    if "status" in fields:
        clean["status"] = clean_enum(MissionStatus, fields["status"], "status")
    for key in ("starts_on", "ends_on"):
        if key in fields:
            clean[key] = fields[key]
    starts_on, ends_on = clean.get("starts_on", mission.starts_on), clean.get("ends_on", mission.ends_on)
    if ends_on < starts_on:
        raise ValidationError.single("ends_on", _l("The mission cannot end before it starts."))
    if legs is None and "places" in fields:
        legs = places_as_legs(session, mission, fields["places"])
    if legs is None and ("starts_on" in clean or "ends_on" in clean):
        legs = [{**leg_summary(leg), "id": leg.id} for leg in leg_rows(session, pk(mission))]
    if legs is not None and (starts_on, ends_on) != (mission.starts_on, mission.ends_on):
        # A leg that spanned the whole mission keeps spanning it.
        old = (mission.starts_on, mission.ends_on)
        legs = [
            {**leg, "starts_on": starts_on, "ends_on": ends_on}
            if (leg.get("starts_on"), leg.get("ends_on")) == old
            else leg
            for leg in legs
        ]
    wanted_legs = clean_legs(legs, starts_on, ends_on) if legs is not None else None
    wanted = _check_ids(session, Organisation, organiser_ids, "organiser_ids") if organiser_ids is not None else None
    changes = changes_of(mission, clean)
    if wanted is not None:
        before = sorted(
            session.exec(
                select(MissionOrganiser.organisation_id).where(MissionOrganiser.mission_id == mission.id)
            ).all()
        )
        if before != wanted:
            session.exec(delete(MissionOrganiser).where(MissionOrganiser.mission_id == mission.id))  # type: ignore[call-overload, arg-type]
            for org_id in wanted:
                session.add(MissionOrganiser(mission_id=pk(mission), organisation_id=org_id))
            changes["organiser_ids"] = [before, wanted]
    if sector_ids is not None and (sectors := replace_sectors(session, mission, sector_ids)) is not None:
        changes["sector_ids"] = sectors
    if wanted_legs is not None and (moved := replace_legs(session, mission, wanted_legs, actor=actor)) is not None:
        changes["legs"] = moved
    if changes:
        mission.updated_at = utcnow()
        record_event(session, "mission.updated", mission, actor=actor, payload={"changes": changes})
    return changes


def _duration(value: Any) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise ValidationError.single("duration_minutes", _l("Enter a whole number of minutes.")) from None
    if not 5 <= minutes <= 24 * 60:
        raise ValidationError.single("duration_minutes", _l("A meeting lasts from 5 minutes to 24 hours."))
    return minutes


def _leg_of(session: Session, leg_id: int | None, mission_id: int | None) -> MissionLeg | None:
    """The meeting's leg, which must be one of its mission's."""
    if leg_id is None:
        return None
    leg = session.get(MissionLeg, leg_id)
    if leg is None or leg.mission_id != mission_id:
        raise ValidationError.single("leg_id", _l("Choose one of the mission's places."))
    return leg


def log_meeting(
    session: Session,
    *,
    title: str,
    starts_local: datetime,
    timezone: str = "",
    mission_id: int | None = None,
    leg_id: int | None = None,
    duration_minutes: int = 60,
    place: str = "",
    notes: str = "",
    organisation_ids: Iterable[int] = (),
    contact_ids: Iterable[int] = (),
    actor: User | None = None,
) -> Meeting:
    """A meeting at ``starts_local`` on the wall clock of its leg's zone (or of ``timezone``
    when it is on no leg)."""
    if starts_local.tzinfo is not None:
        raise ValidationError.single("starts_local", _l("Give the local time of the meeting's place."))
    if mission_id is not None and session.get(Mission, mission_id) is None:
        raise ValidationError.single("mission_id", _l("Unknown mission."))
    leg = _leg_of(session, leg_id, mission_id)
    zone = leg.timezone if leg is not None else clean_zone(timezone)
    orgs = _check_ids(session, Organisation, organisation_ids, "organisation_ids")
    contacts = _check_ids(session, Contact, contact_ids, "contact_ids")
    meeting = Meeting(
        mission_id=mission_id,
        leg_id=leg_id,
        title=clean_text(title, "title", max_length=300),
        starts_local=starts_local,
        timezone=zone,
        starts_at=to_utc(starts_local, zone),
        duration_minutes=_duration(duration_minutes),
        place=clean_text(place, "place", max_length=300, required=False),
        notes=clean_text(notes, "notes", max_length=50000, required=False),
    )
    meeting.search_text = meeting_text(meeting)
    session.add(meeting)
    session.flush()
    for org_id in orgs:
        session.add(MeetingOrganisation(meeting_id=pk(meeting), organisation_id=org_id))
    for contact_id in contacts:
        session.add(MeetingContact(meeting_id=pk(meeting), contact_id=contact_id))
    record_event(
        session,
        "meeting.logged",
        meeting,
        actor=actor,
        payload={
            "title": meeting.title,
            "mission_id": mission_id,
            "leg_id": leg_id,
            "starts_local": starts_local,
            "timezone": zone,
            "duration_minutes": meeting.duration_minutes,
            "organisation_ids": orgs,
            "contact_ids": contacts,
        },
    )
    return meeting


def _replace_links(
    session: Session, model: Any, meeting: Meeting, column: str, wanted: list[int]
) -> list[list[int]] | None:
    """Set a meeting's organisations or people to ``wanted``; ``[before, wanted]`` if it changed."""
    link = getattr(model, column)
    before = sorted(session.exec(select(link).where(model.meeting_id == meeting.id)).all())
    if before == wanted:
        return None
    session.exec(delete(model).where(model.meeting_id == meeting.id))  # type: ignore[call-overload]
    for value in wanted:
        session.add(model(meeting_id=pk(meeting), **{column: value}))
    return [before, wanted]


def update_meeting(
    session: Session,
    meeting: Meeting,
    *,
    actor: User | None = None,
    organisation_ids: Iterable[int] | None = None,
    contact_ids: Iterable[int] | None = None,
    **fields: Any,
) -> dict[str, list[Any]]:
    """Change a meeting's title, leg, time, duration, place, notes, organisations or people
    (one event).  On a leg, the meeting keeps the leg's zone."""
    from crm.accounts.permissions import require_editor

    require_editor(actor)
    if isinstance(fields.get("starts_local"), datetime) and fields["starts_local"].tzinfo is not None:
        raise ValidationError.single("starts_local", _l("Give the local time of the meeting's place."))
    orgs = (
        _check_ids(session, Organisation, organisation_ids, "organisation_ids")
        if organisation_ids is not None
        else None
    )
    contacts = _check_ids(session, Contact, contact_ids, "contact_ids") if contact_ids is not None else None
    clean: dict[str, Any] = {}
    if "title" in fields:
        clean["title"] = clean_text(fields["title"], "title", max_length=300)
    if "place" in fields:
        clean["place"] = clean_text(fields["place"], "place", max_length=300, required=False)
    if "notes" in fields:
        clean["notes"] = clean_text(fields["notes"], "notes", max_length=50000, required=False)
    if "duration_minutes" in fields:
        clean["duration_minutes"] = _duration(fields["duration_minutes"])
    leg_id = fields.get("leg_id", meeting.leg_id)
    leg = _leg_of(session, leg_id, meeting.mission_id)
    if "leg_id" in fields:
        clean["leg_id"] = leg_id
    if "starts_local" in fields or "timezone" in fields or "leg_id" in fields:
        wall = fields.get("starts_local", meeting.starts_local)
        zone = leg.timezone if leg is not None else clean_zone(fields.get("timezone", meeting.timezone))
        clean.update(starts_local=wall, timezone=zone, starts_at=to_utc(wall, zone))
    changes = changes_of(meeting, clean)
    for model, column, wanted in (
        (MeetingOrganisation, "organisation_id", orgs),
        (MeetingContact, "contact_id", contacts),
    ):
        changed = _replace_links(session, model, meeting, column, wanted) if wanted is not None else None
        if changed is not None:
            changes[f"{column}s"] = changed
    if changes:
        meeting.search_text = meeting_text(meeting)
        meeting.updated_at = utcnow()
        record_event(session, "meeting.updated", meeting, actor=actor, payload={"changes": changes})
    return changes


def log_meeting_with_leads(
    session: Session,
    *,
    meeting: dict[str, Any],
    leads: Iterable[dict[str, Any]] = (),
    actor: User | None = None,
) -> tuple[Meeting, list[Any]]:
    """Log a meeting and the leads born from it, as one unit: the caller commits only if
    this returns, and rolls back on :class:`ValidationError`, so it is all or nothing.

    Errors of the i-th lead are reported under ``leads-<i>-<field>`` (the names of the
    form's repeated rows); the errors of every row are collected before raising."""
    from crm.accounts.permissions import require_editor
    from crm.leads.operations import create_lead

    require_editor(actor)
    logged = log_meeting(session, actor=actor, **meeting)
    created: list[Any] = []
    errors: dict[str, Any] = {}
    for index, row in enumerate(leads):
        try:
            created.append(
                create_lead(session, actor=actor, meeting_id=pk(logged), mission_id=logged.mission_id, **row)
            )
        except ValidationError as exc:
            errors.update({f"leads-{index}-{name}": message for name, message in exc.errors.items()})
    if errors:
        raise ValidationError(errors)
    return logged, created
