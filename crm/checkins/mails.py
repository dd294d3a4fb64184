"""The check-in mail: in the contact's language and zone, one short question per lead
born in the meeting, five one-click answers each, and the link to stop these mails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from babel.dates import format_date

from crm.checkins.links import answer_url, stop_url
from crm.checkins.models import Outcome
from crm.checkins.outcomes import OUTCOME_LABELS
from crm.core.db import pk
from crm.core.emails import RenderedEmail, format_locale, render_email
from crm.leads.models import Lead
from crm.missions.models import Meeting
from crm.organisations.models import Contact, Organisation


@dataclass(frozen=True)
class LeadQuestion:
    lead: Lead
    ma_organisation: Organisation
    us_organisation: Organisation


def render_checkin(contact: Contact, meeting: Meeting, days: int, questions: Sequence[LeadQuestion]) -> RenderedEmail:
    contact_id, meeting_id = pk(contact), pk(meeting)
    links = {
        pk(q.lead): [(o.value, answer_url(contact_id, pk(q.lead), meeting_id, days, o.value)) for o in Outcome]
        for q in questions
    }
    language = contact.language.value
    # The meeting's day where it was held: the day both sides remember.
    meeting_day = format_date(meeting.starts_local.date(), "long", locale=format_locale(language))
    return render_email(
        "checkin",
        language=language,
        timezone=contact.timezone,
        meeting_day=meeting_day,
        contact=contact,
        meeting=meeting,
        days=days,
        questions=questions,
        links=links,
        outcome_labels={o.value: label for o, label in OUTCOME_LABELS.items()},
        stop_url=stop_url(contact_id),
    )
