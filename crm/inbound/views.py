"""Pages of inbound mail: an email on a lead (its sanitised body, images on request, the
original .eml and its attachments), the "To file" tray and the administrators' review.

Every email page first finds the lead through the viewer's visibility: a confidential
lead's mail is as absent as the lead for whoever may not see it."""

from __future__ import annotations

import secrets
from email.message import Message
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlmodel import col, select

from crm.accounts.models import Role
from crm.core.db import db, parse_id
from crm.core.errors import ValidationError
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.i18n import gettext as _
from crm.inbound.addresses import lead_address, user_address
from crm.inbound.models import EmailMessage, InboundMail, InboundState
from crm.inbound.operations import file_from_tray, set_aside
from crm.inbound.outbound import lead_contacts, raw_of_sent, send_lead_email
from crm.inbound.parsing import ParsedMail, parse_mail, part_at
from crm.inbound.queries import lead_emails, tray_count
from crm.inbound.sanitize import clean_mail_html
from crm.inbound.starters import STARTERS, starter_text
from crm.leads.access import lead_or_404, require_writer
from crm.leads.models import Lead
from crm.leads.queries import visible_to
from crm.organisations.models import Organisation

bp = Blueprint("inbound", __name__)
TRAY_LIMIT = 100


def _email_or_404(lead_id: int, email_id: int) -> tuple[Lead, EmailMessage]:
    lead = lead_or_404(lead_id)
    email = db.session.get(EmailMessage, email_id)
    if email is None or email.lead_id != lead.id:
        abort(404)
    return lead, email


def _raw_of(email: EmailMessage) -> bytes | None:
    if email.inbound_mail_id is not None:
        mail = db.session.get(InboundMail, email.inbound_mail_id)
        return mail.raw if mail is not None else None
    if email.outbound_key:
        return raw_of_sent(db.session, email.outbound_key, str(current_app.config["MAIL_FROM"]))
    return None


@bp.route("/leads/<int:lead_id>/emails", methods=["POST"])
@login_required
def send_email(lead_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    form = request.form
    reply_id = form.get("reply_to", "")
    replied = db.session.get(EmailMessage, reply_key) if (reply_key := parse_id(reply_id)) else None
    contact = form.get("contact_id", "")
    try:
        email = send_lead_email(
            db.session,
            lead,
            actor=current_user,
            contact_id=parse_id(contact) or 0,
            subject=form.get("subject", ""),
            body=form.get("body", ""),
            send_key=form.get("send_key", ""),
            reply_to_email=replied if replied is not None and replied.lead_id == lead.id else None,
        )
    except ValidationError as exc:
        db.session.rollback()
        return render_template(
            "inbound/write.html",
            lead=lead,
            errors=exc.errors,
            form=form,
            send_key=form.get("send_key", ""),
            starters=STARTERS,
            language_names=LANGUAGE_NAMES,
        ), 400
    db.session.commit()
    flash(_("The email is on its way."), "success")
    return redirect(url_for("inbound.email_page", lead_id=lead.id, email_id=email.id)), 303


@bp.route("/leads/<int:lead_id>/emails/new")
@login_required
def write_email(lead_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    reply_id = request.args.get("reply_to", "")
    replied = db.session.get(EmailMessage, reply_key) if (reply_key := parse_id(reply_id)) else None
    values: dict[str, str] = {}
    if replied is not None and replied.lead_id == lead.id:
        subject = replied.subject if replied.subject.lower().startswith("re:") else f"Re: {replied.subject}"
        values = {"subject": subject, "reply_to": str(replied.id)}
        sender = next((c for c in lead_contacts(db.session, lead) if c.email == replied.from_address), None)
        if sender is not None:
            values["contact_id"] = str(sender.id)
    errors: dict[str, str] = {}
    if "template" in request.args:
        errors = _start_from_template(lead, values)
    page = render_template(
        "inbound/write.html",
        lead=lead,
        errors=errors,
        form=values,
        send_key=secrets.token_hex(16),
        starters=STARTERS,
        language_names=LANGUAGE_NAMES,
    )
    return (page, 400) if errors else page


def _start_from_template(lead: Lead, values: dict[str, str]) -> dict[str, str]:
    """Fill ``values`` with the chosen template in the chosen contact's language, or say
    what is wrong with the choice."""
    key, chosen = request.args.get("template", ""), request.args.get("contact_id", "")
    contact = next((c for c in lead_contacts(db.session, lead) if str(c.id) == chosen), None)
    if contact is None:
        return {"contact_id": str(_("Choose a contact of this lead who has an email address."))}
    values["contact_id"] = chosen
    if key not in STARTERS:
        return {"template": str(_("Choose one of the templates."))}
    values["template"] = key
    other = lead.ma_organisation_id if contact.organisation_id == lead.us_organisation_id else lead.us_organisation_id
    subject, values["body"] = starter_text(
        key, contact=contact, lead=lead, other_side=db.session.get(Organisation, other), officer=current_user
    )
    values.setdefault("subject", subject)  # an answer keeps its "Re:" subject
    return {}


@bp.route("/leads/<int:lead_id>/emails/<int:email_id>")
@login_required
def email_page(lead_id: int, email_id: int) -> Any:
    lead, email = _email_or_404(lead_id, email_id)
    load_images = request.args.get("images") == "1" and email.has_remote_images
    html = email.html
    if load_images:
        raw = _raw_of(email)
        source = parse_mail(raw).html if raw else ""
        html = clean_mail_html(source, load_images=True).html
    thread = db.session.exec(
        select(EmailMessage)
        .where(EmailMessage.lead_id == lead.id, EmailMessage.thread_id == email.thread_id)
        .order_by(col(EmailMessage.sent_at), col(EmailMessage.id))
    ).all()
    response = Response(
        render_template("inbound/email.html", lead=lead, email=email, html=html, load_images=load_images, thread=thread)
    )
    if load_images:  # the reader asked for this message's remote images, on this page only
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
            "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _download(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/leads/<int:lead_id>/emails/<int:email_id>/original.eml")
@login_required
def email_original(lead_id: int, email_id: int) -> Any:
    _lead, email = _email_or_404(lead_id, email_id)
    raw = _raw_of(email)
    if raw is None:
        abort(404)
    response = _download(raw, f"email-{email.id}.eml")
    response.mimetype = "message/rfc822"
    return response


@bp.route("/leads/<int:lead_id>/emails/<int:email_id>/attachments/<int:index>")
@login_required
def email_attachment(lead_id: int, email_id: int, index: int) -> Any:
    _lead, email = _email_or_404(lead_id, email_id)
    listed = next((a for a in email.attachments if a.get("index") == index), None)
    raw = _raw_of(email)
    part = part_at(raw, index) if raw is not None and listed is not None else None
    if part is None or listed is None:
        abort(404)
    if part.get_content_type() == "message/rfc822":
        data = part.as_bytes()
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            data = inner[0].as_bytes()
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    return _download(data, str(listed.get("filename") or "attachment"))


def _preview(mail: InboundMail) -> ParsedMail:
    return parse_mail(mail.raw)


@bp.route("/mail/to-file")
@login_required
def tray() -> Any:
    mine = db.session.exec(
        select(InboundMail)
        .where(InboundMail.user_id == current_user.id, InboundMail.state == InboundState.TO_FILE)
        .order_by(col(InboundMail.received_at).desc())
        .limit(TRAY_LIMIT)
    ).all()
    review: list[InboundMail] = []
    if current_user.role == Role.ADMIN:
        review = list(
            db.session.exec(
                select(InboundMail)
                .where(InboundMail.state == InboundState.REVIEW)
                .order_by(col(InboundMail.received_at).desc())
                .limit(TRAY_LIMIT)
            ).all()
        )
    suggested = {i for m in mine for i in (m.suggestions or [])}
    leads = {
        lead.id: lead
        for lead in db.session.exec(
            select(Lead).where(col(Lead.id).in_(sorted(suggested)), visible_to(current_user))
        ).all()
    }
    return render_template(
        "inbound/tray.html",
        mine=[(m, _preview(m), [leads[i] for i in (m.suggestions or []) if i in leads]) for m in mine],
        review=[(m, _preview(m)) for m in review],
    )


def _waiting(mail_id: int) -> InboundMail:
    mail = db.session.get(InboundMail, mail_id)
    if mail is None:
        abort(404)
    if current_user.role != Role.ADMIN and mail.user_id != current_user.id:
        abort(404)
    return mail


@bp.route("/mail/<int:mail_id>/file", methods=["POST"])
@login_required
def file_mail(mail_id: int) -> Any:
    require_writer()
    mail = _waiting(mail_id)
    raw_id = request.form.get("lead_id", "").strip()
    lead = None
    if (lead_key := parse_id(raw_id)) is not None:
        lead = db.session.exec(select(Lead).where(Lead.id == lead_key, visible_to(current_user))).first()
    if lead is None:
        flash(_("Choose a lead."), "danger")
        return redirect(url_for("inbound.tray")), 303
    try:
        email = file_from_tray(
            db.session, mail, lead, actor=current_user, add_contact=request.form.get("add_contact") == "1"
        )
    except ValidationError as exc:
        db.session.rollback()
        flash("; ".join(str(m) for m in exc.errors.values()), "danger")
        return redirect(url_for("inbound.tray")), 303
    db.session.commit()
    flash(_("The message is filed on the lead."), "success")
    return redirect(url_for("inbound.email_page", lead_id=lead.id, email_id=email.id)), 303


@bp.route("/mail/<int:mail_id>/set-aside", methods=["POST"])
@login_required
def set_aside_mail(mail_id: int) -> Any:
    require_writer()
    mail = _waiting(mail_id)
    try:
        set_aside(db.session, mail, actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        flash("; ".join(str(m) for m in exc.errors.values()), "danger")
        return redirect(url_for("inbound.tray")), 303
    db.session.commit()
    flash(_("The message is set aside."), "success")
    return redirect(url_for("inbound.tray")), 303


@bp.app_template_global("lead_email_address")
def lead_email_address(lead: Lead) -> str:
    return lead_address(lead)


@bp.app_template_global("my_email_address")
def my_email_address() -> str:
    return user_address(current_user.id)


@bp.app_template_global("mail_to_file_count")
def mail_to_file_count() -> int:
    return tray_count(db.session, current_user)


@bp.app_template_global("lead_mail_contacts")
def lead_mail_contacts(lead: Lead) -> list[Any]:
    return lead_contacts(db.session, lead)


@bp.app_template_global("lead_emails")
def lead_emails_of(lead: Lead) -> list[EmailMessage]:
    return lead_emails(db.session, lead)
