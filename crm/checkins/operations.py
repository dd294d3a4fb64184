"""Writes of the check-ins: an answer from a signed link, and a contact's "stop these mails".

Neither has a user as actor: the signed link is the authority, and the event names the
contact in its payload (``contact_id``), never their name or address."""

from __future__ import annotations

from sqlmodel import Session

from crm.checkins.links import AnswerLink
from crm.checkins.models import CheckinAnswer, CheckinOptOut, Outcome
from crm.checkins.outcomes import contradicts
from crm.checkins.queries import answer_of
from crm.core.db import pk
from crm.core.errors import ValidationError
from crm.core.events import record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.validation import clean_enum, clean_text
from crm.leads.models import Lead
from crm.organisations.models import Contact

COMMENT_MAX = 2000
VIA = ("email", "one-click")


def answer_checkin(
    session: Session, link: AnswerLink, lead: Lead, *, outcome: str | Outcome, comment: str | None = ""
) -> CheckinAnswer:
    """Record a contact's answer about ``lead`` as an event on the lead.  A link answers
    once: an existing answer raises :class:`ValidationError` (and two at once meet the
    unique constraint; the caller rolls back and shows the first)."""
    chosen: Outcome = clean_enum(Outcome, outcome, "outcome")
    text = clean_text(comment, "comment", max_length=COMMENT_MAX, required=False)
    if link.expired:
        raise ValidationError.single("token", _l("This link has expired."))
    if lead.id != link.lead_id:
        raise ValidationError.single("token", _l("This link is about another lead."))
    if answer_of(session, link) is not None:
        raise ValidationError.single("token", _l("This question was already answered."))
    answer = CheckinAnswer(
        meeting_id=link.meeting_id,
        days=link.days,
        contact_id=link.contact_id,
        lead_id=link.lead_id,
        outcome=chosen,
        comment=text,
        stage=lead.stage.value,
        contradicts=contradicts(chosen, lead.stage),
    )
    session.add(answer)
    session.flush()
    record_event(
        session,
        "lead.checkin_answered",
        answer,
        lead_id=lead.id,
        payload={
            "outcome": chosen.value,
            "comment": text,
            "contact_id": link.contact_id,
            "meeting_id": link.meeting_id,
            "days": link.days,
            "stage": lead.stage.value,
            "contradicts": answer.contradicts,
        },
    )
    return answer


def stop_checkins(session: Session, contact: Contact, *, via: str = "email") -> bool:
    """The contact gets no more check-in mail; False when they had already asked."""
    if via not in VIA:
        raise ValidationError.single("via", _l("Not a valid choice."))
    if session.get(CheckinOptOut, contact.id) is not None:
        return False
    session.add(CheckinOptOut(contact_id=pk(contact), via=via))
    record_event(session, "contact.checkins_stopped", contact, payload={"via": via})
    return True
