"""Writes to missions and meetings; each records its event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, delete, select

from crm.accounts.models import User
from crm.core.db import pk
from crm.core.errors import ValidationError
from crm.core.events import changes_of, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import to_utc, utcnow
from crm.core.validation import clean_text, clean_zone
from crm.missions.models import (
    Meeting,
    MeetingContact,
    MeetingOrganisation,
    Mission,
    MissionDelegate,
    MissionOrganiser,
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


def _clean_places(places: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    clean = []
    for place in places:
        if not str(place.get("name") or "").strip():
            raise ValidationError.single("places", _l("Give each place its name."))
        name = clean_text(place.get("name"), "places", max_length=200)
        if not str(place.get("timezone") or "").strip():
            raise ValidationError.single("places", _l("Give %(place)s its time zone.", place=name))
        clean.append({"name": name, "timezone": clean_zone(place.get("timezone"), "places")})
    return clean


def create_mission(
    session: Session,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    places: Iterable[dict[str, str]] = (),
    description: str = "",
    organiser_ids: Iterable[int] = (),
    delegate_ids: Iterable[int] = (),
    actor: User | None = None,
) -> Mission:
    from crm.accounts.permissions import require_editor

    require_editor(actor)
    if ends_on < starts_on:
        raise ValidationError.single("ends_on", _l("The mission cannot end before it starts."))
    mission = Mission(
        name=clean_text(name, "name", max_length=300),
        starts_on=starts_on,
        ends_on=ends_on,
        places=_clean_places(places),
        description=clean_text(description, "description", max_length=20000, required=False),
    )
    organisers = _check_ids(session, Organisation, organiser_ids, "organiser_ids")
    delegates = _check_ids(session, Contact, delegate_ids, "delegate_ids")
    session.add(mission)
    session.flush()
    for org_id in organisers:
        session.add(MissionOrganiser(mission_id=pk(mission), organisation_id=org_id))
    for contact_id in delegates:
        session.add(MissionDelegate(mission_id=pk(mission), contact_id=contact_id))
    record_event(
        session,
        "mission.created",
        mission,
        actor=actor,
        payload={
            "name": mission.name,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "places": mission.places,
            "organiser_ids": organisers,
            "delegate_ids": delegates,
        },
    )
    return mission


def set_mission_delegates(
    session: Session, mission: Mission, contact_ids: Iterable[int], *, actor: User | None = None
) -> None:
    wanted = _check_ids(session, Contact, contact_ids, "delegate_ids")
    before = sorted(
        session.exec(select(MissionDelegate.contact_id).where(MissionDelegate.mission_id == mission.id)).all()
    )
    if before == wanted:
        return
    session.exec(delete(MissionDelegate).where(MissionDelegate.mission_id == mission.id))  # type: ignore[call-overload, arg-type]
    for contact_id in wanted:
        session.add(MissionDelegate(mission_id=pk(mission), contact_id=contact_id))
    mission.updated_at = utcnow()
    record_event(
        session, "mission.updated", mission, actor=actor, payload={"changes": {"delegate_ids": [before, wanted]}}
    )


def update_mission(
    session: Session,
    mission: Mission,
    *,
    actor: User | None = None,
    organiser_ids: Iterable[int] | None = None,
    **fields: Any,
) -> dict[str, list[Any]]:
    """Change a mission's name, dates, places, description or organisers (one event)."""
    from crm.accounts.permissions import require_editor

    require_editor(actor)
    allowed = {"name", "starts_on", "ends_on", "places", "description"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
    clean: dict[str, Any] = {}
    if "name" in fields:
        clean["name"] = clean_text(fields["name"], "name", max_length=300)
    if "description" in fields:
        clean["description"] = clean_text(fields["description"], "description", max_length=20000, required=False)
    if "places" in fields:
        clean["places"] = _clean_places(fields["places"])
    for key in ("starts_on", "ends_on"):
        if key in fields:
            clean[key] = fields[key]
    if clean.get("ends_on", mission.ends_on) < clean.get("starts_on", mission.starts_on):
        raise ValidationError.single("ends_on", _l("The mission cannot end before it starts."))
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
    if changes:
        mission.updated_at = utcnow()
        record_event(session, "mission.updated", mission, actor=actor, payload={"changes": changes})
    return changes


def log_meeting(
    session: Session,
    *,
    title: str,
    starts_local: datetime,
    timezone: str,
    mission_id: int | None = None,
    place: str = "",
    notes: str = "",
    organisation_ids: Iterable[int] = (),
    contact_ids: Iterable[int] = (),
    actor: User | None = None,
) -> Meeting:
    if starts_local.tzinfo is not None:
        raise ValidationError.single("starts_local", _l("Give the local time of the meeting's place."))
    zone = clean_zone(timezone)
    if mission_id is not None and session.get(Mission, mission_id) is None:
        raise ValidationError.single("mission_id", _l("Unknown mission."))
    orgs = _check_ids(session, Organisation, organisation_ids, "organisation_ids")
    contacts = _check_ids(session, Contact, contact_ids, "contact_ids")
    meeting = Meeting(
        mission_id=mission_id,
        title=clean_text(title, "title", max_length=300),
        starts_local=starts_local,
        timezone=zone,
        starts_at=to_utc(starts_local, zone),
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
            "starts_local": starts_local,
            "timezone": zone,
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
    """Change a meeting's title, time, place, notes, organisations or people (one event)."""
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
    if "starts_local" in fields or "timezone" in fields:
        wall = fields.get("starts_local", meeting.starts_local)
        zone = clean_zone(fields.get("timezone", meeting.timezone))
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
