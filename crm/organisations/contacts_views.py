"""Contact pages: list, detail, create and edit (phone in E.164, email checked)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.core.db import db, parse_id, pk
from crm.core.forms import options, save_form
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.i18n import gettext as _
from crm.core.keyset import first_if_lost
from crm.core.time import available_zones
from crm.organisations.forms import ContactForm
from crm.organisations.models import Contact, Organisation
from crm.organisations.operations import create_contact, update_contact
from crm.organisations.queries import contact_meetings, contact_missions, contact_page, organisation_choices
from crm.organisations.views import require_editor

bp = Blueprint("contacts", __name__)


@bp.route("/contacts")
@login_required
def index() -> Any:
    org_id = parse_id(request.args.get("organisation"))
    organisation = db.session.get(Organisation, org_id) if org_id else None
    org_id = pk(organisation) if organisation else None
    result = first_if_lost(lambda cursor: contact_page(db.session, organisation_id=org_id, cursor=cursor))
    return render_template("contacts/index.html", result=result, organisation=organisation)


@bp.route("/contacts/<int:contact_id>")
@login_required
def detail(contact_id: int) -> Any:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        abort(404)
    org = db.session.get(Organisation, contact.organisation_id)
    return render_template(
        "contacts/detail.html",
        contact=contact,
        org=org,
        language_names=LANGUAGE_NAMES,
        meetings=contact_meetings(db.session, contact_id),
        missions=contact_missions(db.session, contact_id),
    )


def _form(obj: Contact | None = None) -> ContactForm:
    form = ContactForm(obj=obj)
    form.organisation_id.choices = options(organisation_choices(db.session))
    if request.method == "GET":
        if obj is not None:
            form.language.data = obj.language.value
        else:
            form.organisation_id.data = parse_id(request.args.get("organisation"))
            form.timezone.data = "Africa/Casablanca"
            form.language.data = "fr"
    return form


def _fields(form: ContactForm) -> dict[str, Any]:
    return {
        "organisation_id": form.organisation_id.data,
        "name": form.name.data or "",
        "title": form.title.data or "",
        "email": form.email.data or "",
        "phone": form.phone.data or "",
        "language": form.language.data,
        "timezone": (form.timezone.data or "").strip(),
    }


def _render(form: ContactForm, contact: Contact | None, status: int) -> Any:
    return render_template("contacts/form.html", form=form, contact=contact, zones=available_zones()), status


@bp.route("/contacts/new", methods=["GET", "POST"])
@login_required
def create() -> Any:
    require_editor()
    form = _form()
    if request.method == "GET":
        return _render(form, None, 200)
    if form.validate():
        created = save_form(
            form, lambda: create_contact(db.session, actor=current_user, **_fields(form)), _("The contact is saved.")
        )
        if created:
            return redirect(url_for("contacts.detail", contact_id=pk(created.value)))
    return _render(form, None, 400)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id: int) -> Any:
    require_editor()
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        abort(404)
    if contact.is_erased:  # erased for good: nothing to edit
        flash(_("This contact's personal data was erased; it cannot be changed."), "warning")
        return redirect(url_for("contacts.detail", contact_id=contact_id))
    form = _form(contact)
    if request.method == "GET":
        return _render(form, contact, 200)
    if form.validate():
        saved = save_form(
            form,
            lambda: update_contact(db.session, contact, actor=current_user, **_fields(form)),
            _("The contact is saved."),
        )
        if saved:
            return redirect(url_for("contacts.detail", contact_id=contact_id))
    return _render(form, contact, 400)
