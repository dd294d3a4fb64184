"""iCalendar for follow-ups: the feed of a user's open follow-ups (at a secret URL) and the
.ics attached to each reminder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from icalendar import Calendar, Event

from crm.core.i18n import gettext as _
from crm.core.time import utcnow
from crm.followups.agenda import AgendaItem

DURATION = timedelta(minutes=30)


def followup_uid(item: AgendaItem) -> str:
    """Stable per follow-up: a reschedule updates the same calendar entry (its SEQUENCE is
    the due version), in the feed and in the .ics of every reminder alike."""
    return f"followup-{item.followup.id}@jisr"


def build_calendar(items: list[AgendaItem], lead_url: Callable[[int], str]) -> bytes:
    """One VEVENT per open follow-up, starting at its UTC instant (call inside the owner's locale)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Jisr//Follow-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("Jisr follow-ups"))
    stamp = utcnow()
    for item in items:
        followup, lead = item.followup, item.lead
        event = Event()
        event.add("uid", followup_uid(item))
        event.add("dtstamp", stamp)
        event.add("dtstart", followup.due_at)
        event.add("dtend", followup.due_at + DURATION)
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
