"""Writes of inbound mail: storing a raw message (once per Message-ID and address), filing
it on a lead, and filing from a tray by hand.

Storing records ``email.received``; the "inbound" consumer (``crm.inbound.consumers``)
files it.  Filing makes one activity of kind ``email`` on the lead and records
``email.filed``; the same message reaching a lead twice (by its address and by a
personal address) is one email there.  Its attachments that the documents accept become
the lead's documents too."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.core.db import pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.inbound.addresses import domain, parse_address
from crm.inbound.models import Direction, EmailMessage, InboundMail, InboundState
from crm.inbound.parsing import ParsedMail, message_id_of, parse_mail, part_at
from crm.inbound.sanitize import clean_mail_html
from crm.leads.models import Activity, ActivityKind, Lead
from crm.leads.queries import can_see, visible_to
from crm.organisations.models import Contact

ACTIVITY_TEXT = 2000  # the activity is a summary; the email keeps all its text
SUGGESTIONS = 5


def store_inbound(
    session: Session, raw: bytes, address: str, *, via: str = "smtp", envelope_from: str = ""
) -> InboundMail | None:
    """Keep the raw message delivered to ``address`` and record ``email.received``, in the
    caller's transaction; None when this message was already stored for this address."""
    if via not in ("smtp", "imap"):
        raise ValueError(f"unknown inbound channel {via!r}")
    wanted = address.strip().strip("<>").lower()[:254]
    message_id = message_id_of(raw)
    known = select(InboundMail.id).where(InboundMail.message_id == message_id, InboundMail.address == wanted)
    if session.exec(known).first() is not None:
        return None
    recipient = parse_address(wanted)
    mail = InboundMail(
        message_id=message_id,
        address=wanted,
        via=via,
        envelope_from=envelope_from.strip()[:254],
        raw=raw,
        size=len(raw),
        user_id=recipient.owner_id if recipient is not None and recipient.kind == "user" else None,
    )
    try:
        with session.begin_nested():
            session.add(mail)
            session.flush()
    except IntegrityError:
        return None  # delivered twice at once: the other delivery stored it
    record_event(session, "email.received", mail, payload={"inbound_mail_id": mail.id, "via": via, "size": mail.size})
    return mail


def _active_user_by_email(session: Session, emails: list[str]) -> dict[str, User]:
    if not emails:
        return {}
    users = session.exec(select(User).where(func.lower(User.email).in_(emails), col(User.is_active).is_(True))).all()
    return {u.email.lower(): u for u in users}


def _thread_leads(session: Session, parsed: ParsedMail) -> list[int]:
    """Leads that hold this message already (it was also sent to a lead's address) or one
    it answers or forwards."""
    ids = [i for i in [parsed.message_id, parsed.in_reply_to, *parsed.references] if i]
    rows = session.exec(select(EmailMessage.lead_id).where(col(EmailMessage.message_id).in_(ids)).distinct()).all()
    return sorted(set(rows))


def _suggested_leads(session: Session, user: User, parsed: ParsedMail) -> tuple[list[int], bool]:
    """Leads this message may belong to for ``user``, best first, and whether the first is
    certain (the message answers one already on it)."""
    threaded = [i for i in _thread_leads(session, parsed) if _visible(session, user, i)]
    if len(threaded) == 1:
        return threaded, True
    others = [a for a in parsed.participants() if not a.endswith("@" + domain())]
    users = _active_user_by_email(session, others)
    outside = [a for a in others if a not in users]
    if not outside:
        return threaded, False
    organisations = select(Contact.organisation_id).where(
        func.lower(Contact.email).in_(outside), col(Contact.erased_at).is_(None)
    )
    leads = session.exec(
        select(Lead.id)
        .where(
            (col(Lead.us_organisation_id).in_(organisations)) | (col(Lead.ma_organisation_id).in_(organisations)),
            col(Lead.stage).not_in(["agreement_signed", "closed_no_go"]),
            visible_to(user),
        )
        .order_by(col(Lead.updated_at).desc())
        .limit(SUGGESTIONS)
    ).all()
    found = threaded + [int(i) for i in leads if i is not None and i not in threaded]
    return found[:SUGGESTIONS], False


def _visible(session: Session, user: User, lead_id: int) -> bool:
    lead = session.get(Lead, lead_id)
    return lead is not None and can_see(session, user, lead)


def file_received(session: Session, mail: InboundMail) -> EmailMessage | None:
    """File a stored message: on the lead its address names, or by its participants for a
    personal address (an ambiguous one waits in the user's tray; one not from a user waits
    for an administrator)."""
    if mail.state != InboundState.RECEIVED:
        return None
    parsed = parse_mail(mail.raw)
    recipient = parse_address(mail.address)
    if recipient is None:
        # Copied to a polled mailbox, naming no logging address: filed as if the sender
        # (a user) had sent it to their personal address.
        sender = _active_user_by_email(session, [parsed.from_address]).get(parsed.from_address)
        if mail.via == "imap" and sender is not None and not parsed.is_report:
            mail.user_id = sender.id
            return _file_for_user(session, mail, parsed, sender)
        mail.state = InboundState.REVIEW
        return None
    if recipient.kind == "lead":
        lead = session.get(Lead, recipient.owner_id)
        if lead is None or parsed.is_report:
            mail.state = InboundState.REVIEW
            return None
        return file_on_lead(session, mail, lead, parsed=parsed)
    user = session.get(User, recipient.owner_id)
    sender = _active_user_by_email(session, [parsed.from_address]).get(parsed.from_address)
    if user is None or sender is None or parsed.is_report:
        mail.state = InboundState.REVIEW
        return None
    return _file_for_user(session, mail, parsed, user)


def _file_for_user(session: Session, mail: InboundMail, parsed: ParsedMail, user: User) -> EmailMessage | None:
    suggestions, certain = _suggested_leads(session, user, parsed)
    if certain or len(suggestions) == 1:
        lead = session.get(Lead, suggestions[0])
        if lead is not None:
            return file_on_lead(session, mail, lead, parsed=parsed)
    mail.state = InboundState.TO_FILE
    mail.suggestions = suggestions
    return None


def _thread_id(session: Session, lead: Lead, parsed: ParsedMail) -> str:
    ids = [i for i in [parsed.in_reply_to, *parsed.references] if i]
    if ids:
        known = session.exec(
            select(EmailMessage.thread_id).where(EmailMessage.lead_id == lead.id, col(EmailMessage.message_id).in_(ids))
        ).first()
        if known:
            return known
        return (parsed.references or [parsed.in_reply_to])[0]
    return parsed.message_id


def file_on_lead(
    session: Session, mail: InboundMail, lead: Lead, *, parsed: ParsedMail | None = None, actor: User | None = None
) -> EmailMessage:
    """Make ``mail`` an email on ``lead`` (the existing one if the message is already there)."""
    parsed = parsed or parse_mail(mail.raw)
    mail.state, mail.lead_id, mail.filed_at, mail.suggestions = InboundState.FILED, lead.id, utcnow(), []
    _settle_copies(session, mail, lead)
    existing = session.exec(
        select(EmailMessage).where(EmailMessage.lead_id == lead.id, EmailMessage.message_id == parsed.message_id)
    ).first()
    if existing is not None:
        return existing
    sender = _active_user_by_email(session, [parsed.from_address]).get(parsed.from_address)
    direction = Direction.OUTBOUND if sender is not None else Direction.INBOUND
    return record_email(
        session,
        lead,
        parsed,
        direction=direction,
        author=sender,
        actor=actor,
        inbound_mail_id=pk(mail),
    )


def _settle_copies(session: Session, mail: InboundMail, lead: Lead) -> None:
    """Copies of the message waiting in a tray (it was also sent to a personal address) are
    settled by this filing when their user may see the lead."""
    waiting = session.exec(
        select(InboundMail).where(
            InboundMail.message_id == mail.message_id,
            InboundMail.id != mail.id,
            InboundMail.state == InboundState.TO_FILE,
        )
    ).all()
    for copy in waiting:
        user = session.get(User, copy.user_id) if copy.user_id else None
        if user is not None and can_see(session, user, lead):
            copy.state, copy.lead_id, copy.filed_at, copy.suggestions = InboundState.FILED, lead.id, utcnow(), []


def record_email(
    session: Session,
    lead: Lead,
    parsed: ParsedMail,
    *,
    direction: Direction,
    author: User | None,
    actor: User | None,
    inbound_mail_id: int | None = None,
    outbound_key: str | None = None,
) -> EmailMessage:
    """The email's row, its activity on the lead and its event: ``email.sent`` for one
    written in Jisr (it has a mail ledger key), ``email.filed`` otherwise."""
    when = min(parsed.sent_at, utcnow())
    body = "\n\n".join(p for p in (parsed.subject, parsed.text.strip()) if p)[:ACTIVITY_TEXT]
    activity = Activity(
        lead_id=pk(lead),
        kind=ActivityKind.EMAIL,
        body=body or "-",
        occurred_at=when,
        author_id=author.id if author is not None else None,
    )
    session.add(activity)
    session.flush()
    if lead.last_activity_at is None or when > lead.last_activity_at:
        lead.last_activity_at = when
    clean = clean_mail_html(parsed.html) if parsed.html else None
    email = EmailMessage(
        lead_id=pk(lead),
        activity_id=pk(activity),
        inbound_mail_id=inbound_mail_id,
        outbound_key=outbound_key,
        direction=direction,
        message_id=parsed.message_id,
        thread_id=_thread_id(session, lead, parsed),
        in_reply_to=parsed.in_reply_to,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to=parsed.to,
        cc=parsed.cc,
        subject=parsed.subject,
        sent_at=when,
        text=parsed.text,
        html=clean.html if clean else "",
        has_remote_images=bool(clean and clean.remote_images),
        attachments=parsed.attachments,
    )
    session.add(email)
    session.flush()
    if inbound_mail_id is not None and parsed.attachments:
        email.attachments = _attachments_as_documents(session, lead, inbound_mail_id, parsed.attachments)
    payload = {
        "kind": "email",
        "activity_id": activity.id,
        "direction": direction.value,
        "subject": parsed.subject[:300],
        "participants": len(parsed.participants()),
        "attachments": len(parsed.attachments),
    }
    if outbound_key is None:
        record_event(session, "email.filed", email, actor=actor, lead_id=lead.id, payload=payload)
    else:
        record_event(session, "email.sent", email, actor=actor, lead_id=lead.id, payload=payload)
    return email


def _attachments_as_documents(
    session: Session, lead: Lead, inbound_mail_id: int, attachments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each attachment the documents accept (a PDF, an Office file, an image...) also
    becomes a document of the lead, with its event; the others (an archive, a file whose
    content belies its name, one too large) stay with the message only.  Each attachment
    says which document it became."""
    from crm.documents.operations import add_document

    raw = session.exec(select(InboundMail.raw).where(InboundMail.id == inbound_mail_id)).one()
    kept = []
    for attachment in attachments:
        part = part_at(raw, int(attachment["index"]))
        data = part.get_payload(decode=True) if part is not None and not part.is_multipart() else None
        if isinstance(data, bytes) and data and attachment.get("content_type") != "message/rfc822":
            try:
                document = add_document(
                    session, lead, file_name=str(attachment["filename"]), content=io.BytesIO(data), actor=None
                )
            except ValidationError:
                pass
            else:
                attachment = {**attachment, "document_id": document.id}
        kept.append(attachment)
    return kept


def file_from_tray(
    session: Session, mail: InboundMail, lead: Lead, *, actor: User, add_contact: bool = False
) -> EmailMessage:
    """File a message that waits in a tray: its user's (or, for one waiting for review, an
    administrator's) choice, on a lead they may see and work on.  With ``add_contact``, the
    people outside Jisr on the message who are nobody's contact yet become contacts of the
    lead's US organisation (so their next mail files by itself)."""
    if not actor.can_edit() or not actor.is_active:
        raise PermissionDenied(_l("Viewers cannot file mail."))
    if mail.state == InboundState.TO_FILE:
        if mail.user_id != actor.id and actor.role != Role.ADMIN:
            raise PermissionDenied(_l("This message waits in someone else's tray."))
    elif mail.state == InboundState.REVIEW:
        if actor.role != Role.ADMIN:
            raise PermissionDenied(_l("Only an administrator can file a message waiting for review."))
    else:
        raise ValidationError.single("mail", _l("This message was already filed."))
    if not can_see(session, actor, lead):
        raise ValidationError.single("lead_id", _l("Choose a lead."))
    parsed = parse_mail(mail.raw)
    if add_contact:
        _add_contacts(session, parsed, lead, actor)
    return file_on_lead(session, mail, lead, parsed=parsed, actor=actor)


def _add_contacts(session: Session, parsed: ParsedMail, lead: Lead, actor: User) -> None:
    from crm.organisations.operations import create_contact

    outside = [a for a in parsed.participants() if not a.endswith("@" + domain())]
    users = _active_user_by_email(session, outside)
    known = set(session.exec(select(func.lower(Contact.email)).where(func.lower(Contact.email).in_(outside))).all())
    names = {p["email"]: p["name"] for p in [*parsed.to, *parsed.cc]} | {parsed.from_address: parsed.from_name}
    for address in outside:
        if address not in users and address not in known:
            name = names.get(address) or address.split("@")[0]
            create_contact(
                session, organisation_id=lead.us_organisation_id, name=name[:200], email=address, actor=actor
            )


def set_aside(session: Session, mail: InboundMail, *, actor: User) -> None:
    """Take a message out of a tray without filing it (its raw copy stays in the ledger)."""
    if not actor.can_edit() or not actor.is_active:
        raise PermissionDenied(_l("Viewers cannot file mail."))
    if mail.state not in (InboundState.TO_FILE, InboundState.REVIEW):
        raise ValidationError.single("mail", _l("This message was already filed."))
    if actor.role != Role.ADMIN and (mail.state == InboundState.REVIEW or mail.user_id != actor.id):
        raise PermissionDenied(_l("This message waits in someone else's tray."))
    mail.state = InboundState.DROPPED
    mail.filed_at = utcnow()
    session.add(mail)
    record_event(session, "email.set_aside", mail, actor=actor, payload={"inbound_mail_id": mail.id})
