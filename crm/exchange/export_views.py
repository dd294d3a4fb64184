"""Exports of the lead list (with exactly the list's filters and the viewer's visibility),
the organisations and the contacts, as CSV or XLSX, named like ``jisr-leads-2026-12-01.csv``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, request, stream_with_context
from flask_login import current_user, login_required

from crm.core.db import db, parse_id
from crm.core.i18n import current_language, text_direction
from crm.core.time import to_local, utcnow
from crm.exchange.exports import Export, contact_export, lead_export, organisation_export
from crm.exchange.writing import csv_chunks, xlsx_bytes
from crm.leads.filters import parse_filter
from crm.organisations.models import Country, Organisation, OrganisationKind
from crm.reference.models import Sector

bp = Blueprint("exports", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _format() -> str:
    wanted = request.args.get("format", "csv")
    if wanted not in ("csv", "xlsx"):
        abort(400)
    return wanted


def _send(export: Export, file_format: str) -> Response:
    today = to_local(utcnow(), current_user.timezone).date().isoformat()
    filename = f"jisr-{export.name}-{today}.{file_format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    language = current_language()
    if file_format == "xlsx":
        content = xlsx_bytes(export.title, export.headers, export.rows, right_to_left=text_direction(language) == "rtl")
        return Response(content, mimetype=XLSX, headers=headers)
    chunks = (chunk.encode("utf-8") for chunk in csv_chunks(export.headers, export.rows, language=language))
    return Response(stream_with_context(chunks), mimetype="text/csv", headers=headers)


def _enum_arg(enum_cls: Any, name: str) -> Any:
    try:
        return enum_cls(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/leads/export")
@login_required
def leads() -> Any:
    file_format = _format()
    lead_filter = parse_filter(request.args, current_user)
    return _send(lead_export(db.session, current_user, lead_filter, utcnow()), file_format)


@bp.route("/organisations/export")
@login_required
def organisations() -> Any:
    file_format = _format()
    sector_id = parse_id(request.args.get("sector"))
    if sector_id is not None and db.session.get(Sector, sector_id) is None:
        sector_id = None
    export = organisation_export(
        db.session,
        current_user,
        country=_enum_arg(Country, "country"),
        kind=_enum_arg(OrganisationKind, "kind"),
        sector_id=sector_id,
    )
    return _send(export, file_format)


@bp.route("/contacts/export")
@login_required
def contacts() -> Any:
    file_format = _format()
    org_id = parse_id(request.args.get("organisation"))
    organisation = db.session.get(Organisation, org_id) if org_id else None
    export = contact_export(db.session, current_user, organisation_id=organisation.id if organisation else None)
    return _send(export, file_format)
