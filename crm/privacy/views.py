"""A contact's personal data, from the contact's page: export (a JSON file and a printable
page), erasure and deletion, each behind a page that says what will happen."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup

from crm.audit.labels import event_label
from crm.core.db import db
from crm.core.i18n import gettext as _
from crm.core.web import when_html
from crm.organisations.models import Contact, Organisation
from crm.privacy.operations import delete_contact, erase_contact, export_contact_data
from crm.privacy.queries import counts, may_handle_personal_data, personal_data

bp = Blueprint("privacy", __name__)


def _contact_for_admin(contact_id: int) -> Contact:
    if not may_handle_personal_data(current_user):
        abort(403)
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        abort(404)
    return contact


def _instant(value: str | None) -> Markup | str:
    """An instant of the export (ISO 8601) on the reader's clock."""
    if not value:
        return "—"
    try:
        return when_html(datetime.fromisoformat(value))
    except ValueError:
        return value


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)


@bp.route("/contacts/<int:contact_id>/personal-data")
@login_required
def export_page(contact_id: int) -> Any:
    """The export as a page to read or print, in the administrator's language."""
    contact = _contact_for_admin(contact_id)
    document = export_contact_data(db.session, contact, actor=current_user, format="html")
    db.session.commit()
    return render_template(
        "privacy/export.html",
        contact=contact,
        data=document,
        instant=_instant,
        pretty=_pretty,
        event_label=event_label,
    )


@bp.route("/contacts/<int:contact_id>/personal-data.json")
@login_required
def export_json(contact_id: int) -> Any:
    contact = _contact_for_admin(contact_id)
    document = export_contact_data(db.session, contact, actor=current_user, format="json")
    db.session.commit()
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="jisr-contact-{contact_id}-personal-data.json"'},
    )


def _holdings(contact: Contact) -> dict[str, int]:
    return counts(personal_data(db.session, contact))


@bp.route("/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@login_required
def erase(contact_id: int) -> Any:
    """Says what erasure does and what it reaches, then erases on confirmation."""
    contact = _contact_for_admin(contact_id)
    if request.method == "POST" and FlaskForm().validate_on_submit():
        done = erase_contact(db.session, contact, actor=current_user)
        db.session.commit()
        if done.already_erased:
            flash(_("This contact's personal data was already erased."), "info")
        else:
            flash(_("The contact's personal data is erased."), "success")
        return redirect(url_for("contacts.detail", contact_id=contact_id))
    org = db.session.get(Organisation, contact.organisation_id)
    return render_template("privacy/erase.html", contact=contact, org=org, holds=_holdings(contact))


@bp.route("/contacts/<int:contact_id>/delete", methods=["GET", "POST"])
@login_required
def delete(contact_id: int) -> Any:
    contact = _contact_for_admin(contact_id)
    if request.method == "POST" and FlaskForm().validate_on_submit():
        organisation_id = contact.organisation_id
        delete_contact(db.session, contact, actor=current_user)
        db.session.commit()
        flash(_("The contact is deleted, and their personal data with it."), "success")
        return redirect(url_for("organisations.detail", org_id=organisation_id))
    org = db.session.get(Organisation, contact.organisation_id)
    return render_template("privacy/delete.html", contact=contact, org=org, holds=_holdings(contact))
