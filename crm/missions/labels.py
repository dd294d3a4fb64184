"""Translated labels of the mission vocabulary: statuses, delegate roles and agenda conflicts."""

from __future__ import annotations

from datetime import date, datetime

from markupsafe import Markup, escape

from crm.core import formats
from crm.core.i18n import current_language
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.core.web import isolated, viewer_hour_cycle
from crm.missions.conflicts import Conflict, ConflictKind
from crm.missions.models import DelegateRole, MissionStatus

STATUS_LABELS = {
    MissionStatus.PLANNED: _l("Planned"),
    MissionStatus.UNDER_WAY: _l("Under way"),
    MissionStatus.CLOSED: _l("Closed"),
    MissionStatus.ARCHIVED: _l("Archived"),
}

ROLE_LABELS = {
    DelegateRole.HEAD: _l("Head of delegation"),
    DelegateRole.DELEGATE: _l("Delegate"),
    DelegateRole.ORGANISER: _l("Organiser"),
    DelegateRole.INTERPRETER: _l("Interpreter"),
}


def conflict_text(conflict: Conflict) -> Markup:
    """One sentence naming the meetings (and the person or the legs) in the reader's language."""
    titles = [isolated(m.title) for m in conflict.meetings]
    if conflict.kind == ConflictKind.DOUBLE_BOOKED and conflict.contact is not None:
        return escape(_("%(person)s is expected at %(first)s and %(second)s at the same time.")) % {
            "person": isolated(conflict.contact.display_name),
            "first": titles[0],
            "second": titles[1],
        }
    if conflict.kind == ConflictKind.OUTSIDE_LEG:
        return escape(_("%(meeting)s falls outside the dates of %(place)s.")) % {
            "meeting": titles[0],
            "place": isolated(conflict.legs[0].name),
        }
    return escape(_("Too little time to travel from %(from)s to %(to)s between %(first)s and %(second)s.")) % {
        "from": isolated(conflict.legs[0].name),
        "to": isolated(conflict.legs[1].name),
        "first": titles[0],
        "second": titles[1],
    }


def clock(local: datetime) -> Markup:
    """A local time of day in the reader's language and hour cycle: "14:30", "2:30 PM"."""
    return isolated(formats.time_text(local, current_language(), viewer_hour_cycle()))


def weekday(day: date) -> Markup:
    """ "mer. 21 févr. 2024"."""
    return isolated(formats.date_text(day, current_language(), weekday=True))


def zone_place(local: datetime, zone_name: str) -> Markup:
    """The zone's city and offset at that time: "Chicago, UTC−06:00"."""
    return isolated(formats.zone_label(local, zone_name, current_language()))
