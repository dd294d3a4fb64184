"""A delegate's itinerary as iCalendar.

Unlike the follow-up feed (UTC instants: a follow-up is only a deadline), a meeting
happens at a place, at a wall time there: each ``DTSTART``/``DTEND`` carries its
meeting's ``TZID`` (America/Chicago, America/Los_Angeles, Africa/Casablanca…), and the
file carries a ``VTIMEZONE`` for each zone, built from the tz data Jisr runs with (the
pinned PyPI ``tzdata``, which knows Morocco's permanent UTC+0 since 2026-09-20).  A client
that trusts the file's rules over its own (Outlook) then agrees with one that uses its own
database.  The feed is built afresh on every fetch, so its rules are never older than the
running program's.

The ``UID`` is the meeting's (``meeting-<id>@jisr``): moving a meeting moves the same entry
in every calendar that holds it.  The text is in the delegate's language (call inside
``force_locale``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from icalendar import Calendar, Event

from crm.core.emails import in_other_zone
from crm.core.i18n import current_language, list_separator
from crm.core.i18n import gettext as _
from crm.core.time import to_local, utcnow
from crm.itineraries.queries import Entry, Itinerary


def meeting_uid(meeting_id: int) -> str:
    return f"meeting-{meeting_id}@jisr"


def _description(entry: Entry, itinerary: Itinerary, language: str) -> str:
    meeting, home = entry.meeting, itinerary.delegate.timezone
    lines = [_("Mission: %(name)s", name=itinerary.mission.name)]
    if entry.organisations:
        names = list_separator(language).join(o.name(language) for o in entry.organisations)
        lines.append(_("Organisations: %(names)s", names=names))
    if entry.attendees:
        people = list_separator(language).join(c.display_name for c, _o in entry.attendees)
        lines.append(_("Attendees: %(names)s", names=people))
    lines.append(_("Local time: %(moment)s", moment=in_other_zone(meeting.starts_at, meeting.timezone, language)))
    if to_local(meeting.starts_at, home).utcoffset() != to_local(meeting.starts_at, meeting.timezone).utcoffset():
        lines.append(_("Your time: %(moment)s", moment=in_other_zone(meeting.starts_at, home, language)))
    return "\n".join(lines)


def ical_time(instant: datetime, zone_name: str) -> datetime:
    """The instant on its zone's clock (written with ``TZID``), except the second of a wall
    time that happens twice (a fall-back hour): RFC 5545 reads such a local time as the first
    one, so it is written in UTC instead — a meeting from 01:00 to 01:00 the second time
    in Chicago on 1 November would otherwise end before it begins."""
    local = to_local(instant, zone_name)
    if local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset():
        return instant.astimezone(UTC)
    return local


def _location(entry: Entry) -> str:
    return entry.meeting.place or entry.meeting.timezone.rsplit("/", 1)[-1].replace("_", " ")


def build_calendar(itinerary: Itinerary) -> bytes:
    """One ``VEVENT`` per meeting of the itinerary, in the meeting's own zone."""
    language = current_language()
    calendar = Calendar()
    calendar.add("prodid", "-//Jisr//Itineraries//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("calscale", "GREGORIAN")
    name = _(
        "%(mission)s — itinerary of %(name)s",
        mission=itinerary.mission.name,
        name=itinerary.delegate.display_name,
    )
    calendar.add("x-wr-calname", name)
    stamp = utcnow()
    for entry in itinerary.entries:
        meeting = entry.meeting
        event = Event()
        event.add("uid", meeting_uid(meeting.id or 0))
        event.add("dtstamp", stamp)
        event.add("dtstart", ical_time(meeting.starts_at, meeting.timezone))
        event.add("dtend", ical_time(entry.ends_at, meeting.timezone))
        event.add("summary", meeting.title)
        event.add("location", _location(entry))
        event.add("description", _description(entry, itinerary, language))
        event.add("last-modified", meeting.updated_at)
        calendar.add_component(event)
    if itinerary.entries:
        first = min(e.meeting.starts_at for e in itinerary.entries).date()
        last = max(e.ends_at for e in itinerary.entries).date()
        calendar.add_missing_timezones(first_date=date(first.year, 1, 1), last_date=date(last.year + 1, 12, 31))
    return bytes(calendar.to_ical())
