"""The pickers' JSON: search a source, and create an organisation or a contact from a
picker ("Create “…”") with the same duplicate warning as the organisation form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request, url_for
from flask_login import current_user, login_required
from sqlmodel import col, select
from werkzeug.exceptions import HTTPException

from crm.core.db import db, parse_id, pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.i18n import gettext as _
from crm.core.text import normalise
from crm.core.time import available_zones
from crm.organisations.models import Contact, Organisation, OrganisationKind
from crm.organisations.operations import create_contact, create_organisation
from crm.organisations.queries import find_similar_organisations
from crm.pickers.fields import picker_texts
from crm.pickers.sources import SIDES, SOURCES, ask, check_params, organisation_label, zone_offset

bp = Blueprint("pickers", __name__, url_prefix="/pickers")
MAX_QUERY = 200


def _problem(message: str, status: int, **extra: Any) -> tuple[Response, int]:
    return jsonify({"detail": message, **extra}), status


@bp.route("/<source>")
@login_required
def search(source: str) -> Any:
    """``{"results": [{"value", "text", "hint"}, …]}``: at most 20, in the reader's language."""
    if source not in SOURCES:
        return _problem(_("There is nothing at this address."), 404)
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        return _problem(_("At most %(n)d characters.", n=MAX_QUERY), 400)
    try:
        params = check_params(source, request.args)
    except ValidationError as exc:
        return _problem(str(next(iter(exc.errors.values()))), 400)
    options = ask(db.session, current_user, source, query=query, params=params)
    return jsonify({"results": [o.as_json() for o in options]})


def _refusal(exc: ValidationError) -> tuple[Response, int]:
    db.session.rollback()
    return _problem(str(next(iter(exc.errors.values()))), 400, fields={k: str(v) for k, v in exc.errors.items()})


@bp.route("/organisations/new", methods=["POST"])
@login_required
def new_organisation() -> Any:
    """Create an organisation named in the reader's language on one side.  When names like
    it exist (and ``create_anyway`` is not sent), nothing is created: the answer (a 200,
    nothing is wrong with the request) lists them, so the picker can offer to use one."""
    if not current_user.can_edit():
        return _problem(_("You do not have access to this page."), 403)
    name = (request.form.get("name") or "").strip()
    side = request.form.get("side") or ""
    if side not in SIDES:
        return _problem(_("Unknown side: choose MA or US."), 400)
    if not name:
        return _problem(_("This field is required."), 400)
    if not request.form.get("create_anyway"):
        similar = find_similar_organisations(db.session, name)
        if similar:
            return _problem(
                _("Organisations with this name already exist. Use one of them, or create anyway."),
                200,
                duplicates=[{"value": str(pk(o)), "text": organisation_label(o)} for o in similar[:10]],
            )
    language = getattr(current_user.language, "value", "fr")
    names = {f"name_{code}": name if code == language else "" for code in ("ar", "fr", "en")}
    try:
        org = create_organisation(
            db.session,
            country=SIDES[side],
            kind=OrganisationKind.OTHER,
            actor=current_user,
            name_ar=names["name_ar"],
            name_fr=names["name_fr"],
            name_en=names["name_en"],
        )
    except ValidationError as exc:
        return _refusal(exc)
    db.session.commit()
    return jsonify({"value": str(pk(org)), "text": organisation_label(org)}), 201


@bp.route("/contacts/new", methods=["POST"])
@login_required
def new_contact() -> Any:
    """Create a contact of an organisation; the same name at that organisation is a
    probable duplicate (answered with them, unless ``create_anyway``)."""
    if not current_user.can_edit():
        return _problem(_("You do not have access to this page."), 403)
    name = (request.form.get("name") or "").strip()
    organisation_id = parse_id(request.form.get("organisation"))
    org = db.session.get(Organisation, organisation_id) if organisation_id is not None else None
    if org is None:
        return _problem(_("Unknown organisation."), 400)
    if not name:
        return _problem(_("This field is required."), 400)
    if not request.form.get("create_anyway"):
        term = normalise(name)
        similar = db.session.exec(
            select(Contact).where(
                Contact.organisation_id == organisation_id,
                col(Contact.erased_at).is_(None),
                (col(Contact.search_text) == term) | col(Contact.search_text).startswith(term + " | ", autoescape=True),
            )
        ).all()
        if similar:
            return _problem(
                _("People with this name already work there. Use one of them, or create anyway."),
                200,
                duplicates=[{"value": str(pk(c)), "text": f"{c.display_name} · {org.short_name()}"} for c in similar],
            )
    try:
        contact = create_contact(db.session, organisation_id=pk(org), name=name, actor=current_user)
    except ValidationError as exc:
        return _refusal(exc)
    db.session.commit()
    return jsonify({"value": str(pk(contact)), "text": f"{contact.display_name} · {org.short_name()}"}), 201


def _json_error(exc: BaseException) -> Any:
    """Errors under /pickers/ answer JSON in the reader's language, never a page."""
    if isinstance(exc, PermissionDenied):
        db.session.rollback()
        return _problem(_("You do not have access to this page."), 403)
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        messages = {
            400: _("The request could not be understood. Check what you entered and try again."),
            405: _("This action is not available here."),
        }
        return _problem(messages.get(code, _("There is nothing at this address.")), code)
    return None


def picker_attributes(source: str, **params: Any) -> dict[str, Any]:
    """The ``data-picker`` attributes of a select written by hand in a template."""
    return {
        "data-picker": source,
        "data-picker-url": url_for("pickers.search", source=source, **params),
        **picker_texts(),
    }


def zone_options(current: str | None) -> list[tuple[str, str]]:
    """Every time zone with its offset now; an unknown ``current`` is kept, to be refused."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    known = [(z, f"{z} ({zone_offset(z, hour)})") for z in available_zones()]
    if current and current not in {z for z, _text in known}:
        known.insert(0, (current, current))
    return known


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(picker_attributes=picker_attributes, zone_options=zone_options)
    app.extensions.setdefault("jisr.json_errors", {})["/pickers/"] = _json_error
