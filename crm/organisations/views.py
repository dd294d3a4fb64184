"""Organisation pages: list with filters, detail, create (with a duplicate warning), edit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlmodel import col, select

from crm.accounts.auth import role_required
from crm.accounts.models import Role
from crm.core.db import db, parse_id, pk
from crm.core.errors import ValidationError
from crm.core.forms import options, save_form
from crm.core.i18n import gettext as _
from crm.core.keyset import first_if_lost
from crm.organisations.forms import OrganisationForm
from crm.organisations.labels import country_choices, country_label, kind_choices, kind_label
from crm.organisations.merging import plan_merge
from crm.organisations.models import Country, Organisation, OrganisationKind
from crm.organisations.operations import create_organisation, merge_organisations, update_organisation
from crm.organisations.queries import (
    active_sectors,
    find_similar_organisations,
    organisation_contacts,
    organisation_leads,
    organisation_meetings,
    organisation_page,
    sectors_of,
)

bp = Blueprint("organisations", __name__)


def require_editor() -> None:
    if not current_user.can_edit():
        abort(403)


def _enum_arg(enum_cls: Any, name: str) -> Any:
    try:
        return enum_cls(request.args.get(name, ""))
    except ValueError:
        return None


@bp.app_template_global()
def organisation_kind_label(value: Any) -> str:
    return kind_label(value)


@bp.app_template_global()
def organisation_country_label(value: Any) -> str:
    return country_label(value)


@bp.route("/organisations")
@login_required
def index() -> Any:
    sectors = active_sectors(db.session)
    sector = request.args.get("sector", "")
    sector_id = parse_id(sector) if parse_id(sector) in {pk(s) for s in sectors} else None
    country, kind = _enum_arg(Country, "country"), _enum_arg(OrganisationKind, "kind")
    result = first_if_lost(
        lambda cursor: organisation_page(db.session, country=country, kind=kind, sector_id=sector_id, cursor=cursor)
    )
    return render_template(
        "organisations/index.html",
        result=result,
        sectors=sectors,
        sectors_by_org=sectors_of(db.session, [pk(o) for o in result.rows]),
        countries=country_choices(),
        kinds=kind_choices(),
        selected={"country": request.args.get("country", ""), "kind": request.args.get("kind", ""), "sector": sector},
    )


@bp.route("/organisations/<int:org_id>")
@login_required
def detail(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    return render_template(
        "organisations/detail.html",
        org=org,
        sectors=sectors_of(db.session, [org_id])[org_id],
        leads=organisation_leads(db.session, current_user, org_id),
        contacts=organisation_contacts(db.session, org_id),
        meetings=organisation_meetings(db.session, org_id),
    )


def _form(obj: Organisation | None = None) -> OrganisationForm:
    form = OrganisationForm(obj=obj)
    form.country.choices = options(country_choices())
    form.kind.choices = options(kind_choices())
    form.sectors.choices = options([(pk(s), s.name()) for s in active_sectors(db.session)])
    if obj is not None and request.method == "GET":
        form.country.data = obj.country.value
        form.kind.data = obj.kind.value
        form.sectors.data = [pk(s) for s in sectors_of(db.session, [pk(obj)])[pk(obj)]]
    return form


def _fields(form: OrganisationForm) -> dict[str, Any]:
    return {
        "country": form.country.data,
        "kind": form.kind.data,
        "name_ar": form.name_ar.data or "",
        "name_fr": form.name_fr.data or "",
        "name_en": form.name_en.data or "",
        "acronym": form.acronym.data or "",
        "aliases": form.alias_list(),
        "website": form.website.data or "",
    }


@bp.route("/organisations/new", methods=["GET", "POST"])
@login_required
def create() -> Any:
    require_editor()
    form = _form()
    similar: list[Organisation] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            fields = _fields(form)
            similar = find_similar_organisations(
                db.session,
                fields["name_ar"],
                fields["name_fr"],
                fields["name_en"],
                fields["acronym"],
                *fields["aliases"],
            )
            if similar and not form.create_anyway.data:
                status = 409
            else:
                created = save_form(
                    form,
                    lambda: create_organisation(
                        db.session, actor=current_user, sector_ids=form.sectors.data or [], **fields
                    ),
                    _("The organisation is saved."),
                )
                if created:
                    return redirect(url_for("organisations.detail", org_id=pk(created.value)))
    return render_template("organisations/form.html", form=form, org=None, similar=similar), status


@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit(org_id: int) -> Any:
    require_editor()
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    form = _form(org)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            saved = save_form(
                form,
                lambda: update_organisation(
                    db.session, org, actor=current_user, sector_ids=form.sectors.data or [], **_fields(form)
                ),
                _("The organisation is saved."),
            )
            if saved:
                return redirect(url_for("organisations.detail", org_id=org_id))
    return render_template("organisations/form.html", form=form, org=org, similar=[]), status


@bp.route("/organisations/<int:org_id>/merge", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def merge(org_id: int) -> Any:
    """Choose a duplicate of this organisation, see what moving it here takes, confirm."""
    keep = db.session.get(Organisation, org_id)
    if keep is None:
        abort(404)
    raw = request.values.get("duplicate_id", "")
    duplicate_id = parse_id(raw)
    duplicate = db.session.get(Organisation, duplicate_id) if duplicate_id is not None else None
    candidates = db.session.exec(
        select(Organisation)
        .where(Organisation.country == keep.country, col(Organisation.id) != keep.id)
        .order_by(col(Organisation.acronym), col(Organisation.name_fr), col(Organisation.name_en))
    ).all()
    errors: list[str] = []
    if request.method == "POST" and duplicate is not None:
        if FlaskForm().validate_on_submit():
            name = duplicate.short_name()
            try:
                merge_organisations(db.session, keep, duplicate, actor=current_user)
            except ValidationError as exc:
                db.session.rollback()
                errors = [str(m) for m in exc.errors.values()]
            else:
                db.session.commit()
                flash(_("%(duplicate)s is merged into %(keep)s.", duplicate=name, keep=keep.short_name()), "success")
                return redirect(url_for("organisations.detail", org_id=keep.id))
    elif request.method == "POST" or (raw and duplicate is None):
        errors = [_("Choose the duplicate among the organisations of the list.")]
    plan = plan_merge(db.session, keep, duplicate) if duplicate is not None and duplicate.id != keep.id else None
    status = 400 if errors else 200
    return render_template(
        "organisations/merge.html", keep=keep, duplicate=duplicate, candidates=candidates, plan=plan, errors=errors
    ), status
