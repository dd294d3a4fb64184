"""How itineraries and briefing sheets write times: each meeting on the clock of its place,
with another zone's clock beside it (the delegate's home, the reader's), in the language
the document is written in.  Each helper returns isolated markup (``<bdi>``), which a PDF
turns into Unicode isolates, so a time keeps its digits together in an Arabic line."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import url_for
from markupsafe import Markup
from sqlmodel import Session

from crm.core import formats
from crm.core.db import pk
from crm.core.i18n import current_language, list_separator
from crm.core.time import to_local
from crm.core.web import isolated
from crm.itineraries.links import feed_token, generations
from crm.itineraries.queries import Entry, Itinerary, meeting_end
from crm.leads.labels import stage_label
from crm.organisations.labels import country_label, kind_label


def day_title(day: date) -> Markup:
    """ "lun. 12 oct. 2026": a day of the itinerary, with its weekday."""
    return isolated(formats.date_text(day, current_language(), weekday=True))


def hours(entry: Entry, zone_name: str) -> Markup:
    """ "09:00–10:00" on the clock of ``zone_name`` (kept left to right, also in Arabic); the
    day is named first when it is not the meeting's own day there (a meeting in Houston is
    late at night in Casablanca)."""
    language = current_language()
    start = to_local(entry.meeting.starts_at, zone_name)
    end = to_local(meeting_end(entry.meeting), zone_name)
    clock = isolated(f"{formats.time_text(start, language)}–{formats.time_text(end, language)}", "ltr")
    if start.date() == entry.local_day:
        return clock
    day = isolated(formats.date_text(start.date(), language, weekday=True))
    return Markup("{}{}{}").format(day, list_separator(language), clock)


def city(zone_name: str) -> str:
    """ "Casablanca", "الدار البيضاء": the place a zone is named after, in the document's language."""
    return formats.zone_city(zone_name, current_language())


def zone_label(instant: datetime, zone_name: str) -> Markup:
    """ "Chicago, UTC−05:00": the zone's place and its offset at that instant."""
    return isolated(formats.zone_label(instant, zone_name, current_language()))


def moment(instant: datetime, zone_name: str) -> Markup:
    """ "12 oct. 2026, 09:00 (Chicago, UTC−05:00)"."""
    language = current_language()
    text = formats.instant_text(instant, zone_name, language, weekday=True)
    return isolated(f"{text} ({formats.zone_label(instant, zone_name, language)})")


def same_clock(entry: Entry, zone_name: str) -> bool:
    return formats.same_clock(entry.meeting.starts_at, entry.meeting.timezone, zone_name)


HELPERS: dict[str, Any] = {
    "day_title": day_title,
    "hours": hours,
    "city": city,
    "zone_label": zone_label,
    "moment": moment,
    "same_clock": same_clock,
    "list_separator": list_separator,
    "stage_label": stage_label,
    "kind_label": kind_label,
    "country_label": country_label,
}


def feed_url(session: Session, itin: Itinerary) -> str:
    """The delegate's current calendar feed address (absolute, to paste in a calendar)."""
    mission_id, contact_id = pk(itin.mission), pk(itin.delegate)
    generation = generations(session, mission_id).get(contact_id, 0)
    return url_for("itineraries.feed", token=feed_token(mission_id, contact_id, generation), _external=True)
