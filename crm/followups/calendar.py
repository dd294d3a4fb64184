"""iCalendar for follow-ups: the feed of a user's open follow-ups (at a secret URL) and the
.ics attached to each reminder.

Times are written in UTC (``DTSTART:20260921T100000Z``), with no ``TZID`` and no
``VTIMEZONE``.  Every client (Outlook, Google Calendar, Apple Calendar, Thunderbird) reads a
UTC instant the same way and shows it in its reader's own zone, whereas a ``VTIMEZONE`` for
Africa/Casablanca would freeze the rules known when the file was written (Morocco left
UTC+1 and Ramadan switches for permanent UTC+0 on 2026-09-20; Outlook takes the rules from
the file, not from its own database) and some clients ignore it for their own.  A follow-up
is an instant, due at ``due_at``, so nothing is lost.  ``METHOD:PUBLISH`` says the file
informs: clients offer to add the entry, not to answer an invitation.  The text is UTF-8;
``icalendar`` folds lines at 75 octets without splitting a character.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from crm.core.i18n import gettext as _
from crm.core.time import utcnow
from crm.followups.agenda import AgendaItem

DURATION = timedelta(minutes=30)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime (a naive one, as SQLite gives back, is UTC): written with ``Z``."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def followup_uid(item: AgendaItem) -> str:
    """Stable per follow-up: a reschedule updates the same calendar entry (its SEQUENCE is
    the due version), in the feed and in the .ics of every reminder alike."""
    return f"followup-{item.followup.id}@jisr"


def build_calendar(items: list[AgendaItem], lead_url: Callable[[int], str]) -> bytes:
    """One VEVENT per open follow-up, starting at its UTC instant (call inside the owner's locale)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Jisr//Follow-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("Jisr follow-ups"))
    stamp = utcnow()
    for item in items:
        followup, lead = item.followup, item.lead
        event = Event()
        event.add("uid", followup_uid(item))
        event.add("dtstamp", as_utc(stamp))
        start = as_utc(followup.due_at)
        event.add("dtstart", start)
        event.add("dtend", start + DURATION)
        event.add("summary", f"{followup.title} — {lead.title}")
        url = lead_url(lead.id or 0)
        event.add(
            "description",
            "\n".join(
                [
                    _("Lead: %(title)s", title=lead.title),
                    _("Moroccan organisation: %(name)s", name=item.ma_organisation.name()),
                    _("US organisation: %(name)s", name=item.us_organisation.name()),
                    url,
                ]
            ),
        )
        event.add("url", url)
        event.add("sequence", followup.due_version)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
