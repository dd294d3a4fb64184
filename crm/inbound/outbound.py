"""Writing to a lead's contact from the lead page: the message goes through the mail
ledger (so it is sent once, retried, and kept), with ``Reply-To`` the lead's logging
address so that the answer comes back onto the lead, in the same thread."""

from __future__ import annotations

from sqlmodel import Session, col, or_, select

from crm.accounts.models import User
from crm.accounts.permissions import require_editor
from crm.core.db import pk
from crm.core.errors import ValidationError
from crm.core.events import kick_after_commit
from crm.core.i18n import lazy_gettext as _l
from crm.core.ledger import OutboundMail, build_message, queue_mail
from crm.core.time import utcnow
from crm.core.validation import clean_text
from crm.inbound.addresses import domain, lead_address
from crm.inbound.models import Direction, EmailMessage
from crm.inbound.operations import record_email
from crm.inbound.parsing import ParsedMail, clean_id
from crm.leads.models import Lead
from crm.leads.queries import can_see
from crm.organisations.models import Contact

SUBJECT_MAX = 300
BODY_MAX = 20000
KEY_MAX = 64
MAIL_SWEEP = "crm.mail.sweep"


def lead_contacts(session: Session, lead: Lead) -> list[Contact]:
    """The people one may write to from the lead: contacts of its two organisations who
    have an address (and were not erased)."""
    return list(
        session.exec(
            select(Contact)
            .where(
                or_(
                    Contact.organisation_id == lead.us_organisation_id,
                    Contact.organisation_id == lead.ma_organisation_id,
                ),
                col(Contact.email).is_not(None),
                col(Contact.erased_at).is_(None),
            )
            .order_by(col(Contact.name))
        ).all()
    )


def send_lead_email(
    session: Session,
    lead: Lead,
    *,
    actor: User,
    contact_id: int,
    subject: str,
    body: str,
    send_key: str,
    reply_to_email: EmailMessage | None = None,
) -> EmailMessage:
    """Queue the message in the mail ledger and put it on the lead (``email.sent``).
    ``send_key`` comes with the form: the same form sent twice writes one message."""
    require_editor(actor)
    if not can_see(session, actor, lead):
        raise ValidationError.single("lead_id", _l("Choose a lead."))
    contact = next((c for c in lead_contacts(session, lead) if c.id == contact_id), None)
    if contact is None or not contact.email:
        raise ValidationError.single("contact_id", _l("Choose a contact of this lead who has an email address."))
    clean_subject = clean_text(subject, "subject", max_length=SUBJECT_MAX)
    clean_body = clean_text(body, "body", max_length=BODY_MAX)
    key = send_key.strip()
    if not key.isalnum() or len(key) > KEY_MAX:
        raise ValidationError.single("send_key", _l("The form has expired. Reload the page and try again."))
    dedupe_key = f"lead-email:{pk(lead)}:{key}"
    existing = session.exec(select(EmailMessage).where(EmailMessage.outbound_key == dedupe_key)).first()
    if existing is not None:
        return existing
    headers = {"Reply-To": lead_address(lead), "Auto-Submitted": "no"}
    references: list[str] = []
    if reply_to_email is not None and reply_to_email.lead_id == lead.id:
        references = [reply_to_email.thread_id, reply_to_email.message_id]
        references = list(dict.fromkeys(r for r in references if r))
        headers["In-Reply-To"] = f"<{reply_to_email.message_id}>"
        headers["References"] = " ".join(f"<{r}>" for r in references)
    queue_mail(
        session,
        dedupe_key=dedupe_key,
        kind="lead_email",
        to=contact.email,
        to_name=contact.name,
        language=contact.language.value,
        subject=clean_subject,
        text=clean_body,
        headers=headers,
        user_id=actor.id,
        domain=domain(),
    )
    kick_after_commit(session, MAIL_SWEEP)
    row = session.exec(select(OutboundMail).where(OutboundMail.dedupe_key == dedupe_key)).one()
    parsed = ParsedMail(
        message_id=clean_id(row.message_id),
        in_reply_to=reply_to_email.message_id if reply_to_email is not None and references else "",
        references=references,
        from_address=actor.email.lower(),
        from_name=actor.display_name,
        to=[{"name": contact.name, "email": contact.email.lower()}],
        cc=[],
        subject=clean_subject,
        sent_at=utcnow(),
        text=clean_body,
    )
    return record_email(
        session, lead, parsed, direction=Direction.OUTBOUND, author=actor, actor=actor, outbound_key=dedupe_key
    )


def raw_of_sent(session: Session, dedupe_key: str, sender: str) -> bytes | None:
    """The message as the ledger sends it (its .eml)."""
    row = session.exec(select(OutboundMail).where(OutboundMail.dedupe_key == dedupe_key)).first()
    return build_message(row, sender).data if row is not None else None
