"""Document pages: upload onto a lead, meeting or mission, download, remove.

A download is an attachment whatever its type (``Content-Disposition: attachment``, the
type recognised at upload, ``nosniff``), so a browser never renders an uploaded file as
part of Jisr.  A lead's documents are seen by those who see the lead: for anyone else a
confidential lead's document answers 404, as a missing one does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from crm.core.db import db, pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.i18n import lazy_gettext as _l
from crm.documents import settings
from crm.documents.content import ACCEPT
from crm.documents.models import Document
from crm.documents.operations import FileTooLarge, add_document, remove_document
from crm.documents.queries import (
    Owner,
    document_count,
    documents_of,
    meeting_documents_of_mission,
    owner_kind,
    visible_document,
)
from crm.documents.storage import storage
from crm.exchange.labels import human_size
from crm.leads.access import lead_or_404
from crm.missions.models import Meeting, Mission

bp = Blueprint("documents", __name__)


def owner_url(owner: Owner) -> str:
    kind = owner_kind(owner)
    if kind == "lead":
        return url_for("lead.show", lead_id=pk(owner))
    if kind == "mission":
        return url_for("missions.detail", mission_id=pk(owner))
    return url_for("missions.edit_meeting", meeting_id=pk(owner))


def _refused(owner: Owner, message: Any, status: int) -> Any:
    db.session.rollback()
    return render_template("documents/refused.html", message=message, back=owner_url(owner)), status


def _upload(owner: Owner) -> Any:
    if not current_user.can_edit():
        abort(403)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(owner, _l("Choose a file."), 400)
    try:
        add_document(db.session, owner, file_name=upload.filename, content=upload.stream, actor=current_user)
    except FileTooLarge as exc:
        return _refused(owner, exc.errors["file"], 413)
    except ValidationError as exc:
        return _refused(owner, next(iter(exc.errors.values())), 400)
    except PermissionDenied as exc:
        return _refused(owner, exc.message or _l("Access denied"), 403)
    db.session.commit()
    flash(str(_l("The document is saved.")), "success")
    return redirect(owner_url(owner) + "#documents")


def _found(owner: Meeting | Mission | None) -> Meeting | Mission:
    if owner is None:
        abort(404)
    return owner


@bp.route("/leads/<int:lead_id>/documents", methods=["POST"])
@login_required
def upload_lead(lead_id: int) -> Any:
    return _upload(lead_or_404(lead_id))


@bp.route("/meetings/<int:meeting_id>/documents", methods=["POST"])
@login_required
def upload_meeting(meeting_id: int) -> Any:
    return _upload(_found(db.session.get(Meeting, meeting_id)))


@bp.route("/missions/<int:mission_id>/documents", methods=["POST"])
@login_required
def upload_mission(mission_id: int) -> Any:
    return _upload(_found(db.session.get(Mission, mission_id)))


def _visible(document_id: int) -> tuple[Document, Owner]:
    found = visible_document(db.session, current_user, document_id)
    if found is None:
        abort(404)
    return found


@bp.route("/documents/<int:document_id>")
@login_required
def download(document_id: int) -> Any:
    document, _owner = _visible(document_id)
    try:
        content = storage().open(document.storage_key)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        content,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.file_name,
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def delete(document_id: int) -> Any:
    if not current_user.can_edit():
        abort(403)
    document, owner = _visible(document_id)
    name = document.file_name
    try:
        remove_document(db.session, document, owner, actor=current_user)
    except PermissionDenied as exc:
        return _refused(owner, exc.message or _l("Access denied"), 403)
    db.session.commit()
    flash(str(_l("The document “%(name)s” is deleted.", name=name)), "success")
    return redirect(owner_url(owner) + "#documents")


def _section(kind: str, owner_id: int) -> dict[str, Any]:
    """What a page's documents section shows (one query), for its template."""
    params: dict[str, Any] = {f"{kind}_id": owner_id}
    return {
        "rows": documents_of(db.session, kind, owner_id),
        "meeting_rows": meeting_documents_of_mission(db.session, owner_id) if kind == "mission" else [],
        "upload_url": url_for(f"documents.upload_{kind}", **params),
        "accept": ACCEPT,
        "max_size": human_size(settings.max_bytes()),
    }


def init_app(app: Flask) -> None:
    settings.init_app(app)
    app.register_blueprint(bp)
    app.jinja_env.globals["documents_section"] = _section
    app.jinja_env.globals["document_count"] = lambda kind, owner_id: document_count(db.session, kind, owner_id)
    app.jinja_env.filters["file_size"] = human_size
