"""Ready-made emails to start from on the lead page, written in the language of the
contact they go to (the contact's own language, whatever the officer's): a thank-you
after a meeting, a follow-up, a proposal sent, a call to set a date.  The officer edits
the text before sending; nothing is sent from a template as it stands."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale

from crm.accounts.models import User
from crm.core.i18n import gettext
from crm.core.i18n import lazy_gettext as _l
from crm.leads.models import Lead
from crm.organisations.models import Contact, Organisation


def N_(message: str) -> str:
    """Marks a message for the catalogues; it is translated later, in the contact's language."""
    return message


@dataclass(frozen=True)
class Starter:
    label: str  # lazily translated, in the officer's language
    subject: str  # messages, translated in the contact's language
    body: str


# The placeholders: %(contact)s, %(lead)s, %(organisation)s (the other side of the
# contact's), %(officer)s.
STARTERS: dict[str, Starter] = {
    "thanks": Starter(
        _l("Thank you for the meeting"),
        N_("Thank you for our meeting: %(lead)s"),
        N_(
            "Dear %(contact)s,\n\nThank you for the time you gave us. As agreed, we will follow up on "
            "“%(lead)s” with %(organisation)s and come back to you with the next steps.\n\n"
            "Kind regards,\n%(officer)s"
        ),
    ),
    "follow_up": Starter(
        _l("Follow-up"),
        N_("Following up: %(lead)s"),
        N_(
            "Dear %(contact)s,\n\nI am following up on “%(lead)s”. Could you tell us where things stand "
            "on your side and what you need from us to move forward?\n\nKind regards,\n%(officer)s"
        ),
    ),
    "proposal": Starter(
        _l("Proposal sent"),
        N_("Our proposal: %(lead)s"),
        N_(
            "Dear %(contact)s,\n\nPlease find our proposal for “%(lead)s”. We would be glad to discuss "
            "it with you and %(organisation)s at your convenience.\n\nKind regards,\n%(officer)s"
        ),
    ),
    "meeting": Starter(
        _l("Set a meeting"),
        N_("A meeting about %(lead)s"),
        N_(
            "Dear %(contact)s,\n\nWould you be available for a call about “%(lead)s” in the coming "
            "days? Please tell us the times that suit you, with your time zone.\n\nKind regards,\n%(officer)s"
        ),
    ),
}


def starter_text(
    key: str, *, contact: Contact, lead: Lead, other_side: Organisation | None, officer: User
) -> tuple[str, str]:
    """The subject and the body of the template ``key`` in the contact's language."""
    starter = STARTERS[key]
    language = getattr(contact.language, "value", contact.language) or "fr"
    with force_locale(language):
        values = {
            "contact": contact.name,
            "lead": lead.title,
            "organisation": other_side.name(language) if other_side is not None else "",
            "officer": officer.display_name,
        }
        return gettext(starter.subject, **values), gettext(starter.body, **values)
