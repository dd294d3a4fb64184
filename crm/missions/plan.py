"""The parts of a mission's plan that operations change as wholes: its legs, its sectors
and its delegates with their roles.  Each function leaves the event to its caller and
returns ``[before, after]`` when something changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlmodel import Session, col, delete, select, update

from crm.core.db import pk
from crm.core.errors import ValidationError
from crm.core.events import record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import to_utc, utcnow
from crm.core.validation import clean_enum, clean_text, clean_zone
from crm.missions.models import DelegateRole, Meeting, Mission, MissionDelegate, MissionLeg, MissionSector
from crm.organisations.models import Contact
from crm.reference.models import Sector

MAX_LEGS = 20


def _day(value: Any, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError.single(field, _l("Enter a valid date.")) from None


def clean_legs(legs: Iterable[Mapping[str, Any]], starts_on: date, ends_on: date) -> list[dict[str, Any]]:
    """Each leg with its name, zone and dates (the mission's when it gives none), inside the
    mission's dates.  A leg may carry the ``id`` of the leg it changes."""
    clean: list[dict[str, Any]] = []
    for leg in legs:
        if not str(leg.get("name") or "").strip():
            raise ValidationError.single("places", _l("Give each place its name."))
        name = clean_text(leg.get("name"), "places", max_length=200)
        if not str(leg.get("timezone") or "").strip():
            raise ValidationError.single("places", _l("Give %(place)s its time zone.", place=name))
        first = _day(leg.get("starts_on"), "places") or starts_on
        last = _day(leg.get("ends_on"), "places") or ends_on
        if last < first:
            raise ValidationError.single("places", _l("The leg %(place)s cannot end before it starts.", place=name))
        if first < starts_on or last > ends_on:
            raise ValidationError.single(
                "places", _l("The leg %(place)s must fall within the mission's dates.", place=name)
            )
        row: dict[str, Any] = {
            "name": name,
            "timezone": clean_zone(leg.get("timezone"), "places"),
            "starts_on": first,
            "ends_on": last,
        }
        if leg.get("id"):
            row["id"] = int(leg["id"])
        clean.append(row)
    if len(clean) > MAX_LEGS:
        raise ValidationError.single("places", _l("At most %(n)d places.", n=MAX_LEGS))
    return clean


def leg_rows(session: Session, mission_id: int) -> list[MissionLeg]:
    return list(
        session.exec(
            select(MissionLeg)
            .where(MissionLeg.mission_id == mission_id)
            .order_by(col(MissionLeg.position), col(MissionLeg.id))
        ).all()
    )


def leg_summary(leg: MissionLeg | Mapping[str, Any]) -> dict[str, Any]:
    get = leg.get if isinstance(leg, Mapping) else lambda key: getattr(leg, key)
    return {key: get(key) for key in ("name", "timezone", "starts_on", "ends_on")}


def places_as_legs(session: Session, mission: Mission, places: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Places without dates (the API's and older callers' shape): the i-th place changes the
    i-th leg and keeps its dates; a new place spans the mission."""
    existing = leg_rows(session, pk(mission)) if mission.id is not None else []
    legs = []
    for index, place in enumerate(places):
        leg = dict(place)
        if index < len(existing) and "starts_on" not in leg:
            leg.update(id=existing[index].id, starts_on=existing[index].starts_on, ends_on=existing[index].ends_on)
        legs.append(leg)
    return legs


def replace_legs(
    session: Session, mission: Mission, legs: list[dict[str, Any]], *, actor: Any = None
) -> list[list[dict[str, Any]]] | None:
    """Make the mission's legs ``legs`` (from :func:`clean_legs`).  A leg given with its id
    keeps it, so its meetings stay on it; a leg left out is removed and its meetings keep
    their time and zone without a leg.  Meetings of a leg whose zone changes move to the same
    wall time in the new zone (each records ``meeting.updated``)."""
    existing = {pk(leg): leg for leg in leg_rows(session, pk(mission))}
    before = [leg_summary(leg) for leg in existing.values()]
    after = [leg_summary(leg) for leg in legs]
    unchanged_ids = [leg.get("id") for leg in legs] == list(existing)
    if before == after and unchanged_ids:
        return None
    for wanted in legs:
        if wanted.get("id") is not None and wanted["id"] not in existing:
            raise ValidationError.single("places", _l("Unknown item in the list."))
    kept = {wanted["id"] for wanted in legs if wanted.get("id") is not None}
    gone = [leg_id for leg_id in existing if leg_id not in kept]
    if gone:
        session.exec(update(Meeting).where(col(Meeting.leg_id).in_(gone)).values(leg_id=None))  # type: ignore[call-overload]
        session.exec(delete(MissionLeg).where(col(MissionLeg.id).in_(gone)))  # type: ignore[call-overload]
    moved_zones: dict[int, str] = {}
    for position, data in enumerate(legs):
        found = existing.get(data["id"]) if data.get("id") is not None else None
        leg = found if found is not None else MissionLeg(mission_id=pk(mission), **leg_summary(data))
        if found is not None and leg.timezone != data["timezone"]:
            moved_zones[pk(leg)] = data["timezone"]
        leg.position, leg.name, leg.timezone = position, data["name"], data["timezone"]
        leg.starts_on, leg.ends_on = data["starts_on"], data["ends_on"]
        session.add(leg)
    if moved_zones:
        for meeting in session.exec(select(Meeting).where(col(Meeting.leg_id).in_(list(moved_zones)))).all():
            zone = moved_zones[meeting.leg_id or 0]
            change = {"timezone": [meeting.timezone, zone]}
            meeting.timezone, meeting.starts_at = zone, to_utc(meeting.starts_local, zone)
            meeting.updated_at = utcnow()
            session.add(meeting)
            record_event(session, "meeting.updated", meeting, actor=actor, payload={"changes": change})
    session.flush()
    return [before, after]


def replace_sectors(session: Session, mission: Mission, sector_ids: Iterable[int]) -> list[list[int]] | None:
    wanted = sorted(set(int(i) for i in sector_ids))
    if wanted:
        found = set(session.exec(select(Sector.id).where(col(Sector.id).in_(wanted))).all())
        if found != set(wanted):
            raise ValidationError.single("sector_ids", _l("Unknown item in the list."))
    before = sorted(session.exec(select(MissionSector.sector_id).where(MissionSector.mission_id == mission.id)).all())
    if before == wanted:
        return None
    session.exec(delete(MissionSector).where(col(MissionSector.mission_id) == mission.id))  # type: ignore[call-overload]
    for sector_id in wanted:
        session.add(MissionSector(mission_id=pk(mission), sector_id=sector_id))
    return [before, wanted]


def clean_roles(
    session: Session, contact_ids: Iterable[int], roles: Mapping[int, Any] | None, current: Mapping[int, str]
) -> dict[int, str]:
    """Each chosen delegate with a role: the one given, else the one they had, else delegate."""
    wanted = sorted(set(int(i) for i in contact_ids) | set(int(i) for i in (roles or {})))
    if wanted:
        found = set(session.exec(select(Contact.id).where(col(Contact.id).in_(wanted))).all())
        if found != set(wanted):
            raise ValidationError.single("delegate_ids", _l("Unknown item in the list."))
    given = roles or {}
    return {
        contact_id: clean_enum(
            DelegateRole, given.get(contact_id) or current.get(contact_id) or DelegateRole.DELEGATE, "delegate_roles"
        ).value
        for contact_id in wanted
    }


def current_roles(session: Session, mission_id: int | None) -> dict[int, str]:
    if mission_id is None:
        return {}
    rows = session.exec(
        select(MissionDelegate.contact_id, MissionDelegate.role).where(MissionDelegate.mission_id == mission_id)
    ).all()
    return {contact_id: DelegateRole(role).value for contact_id, role in rows}


def replace_delegates(session: Session, mission: Mission, wanted: dict[int, str]) -> list[dict[str, str]] | None:
    """Set the mission's delegates and roles; ``[before, after]`` keyed by contact id (text)."""
    before = current_roles(session, mission.id)
    if before == wanted:
        return None
    session.exec(delete(MissionDelegate).where(col(MissionDelegate.mission_id) == mission.id))  # type: ignore[call-overload]
    session.flush()
    for contact_id, role in sorted(wanted.items()):
        session.add(MissionDelegate(mission_id=pk(mission), contact_id=contact_id, role=DelegateRole(role)))
    return [{str(k): v for k, v in sorted(before.items())}, {str(k): v for k, v in sorted(wanted.items())}]
