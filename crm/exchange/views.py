"""Import pages: upload → column mapping → preview → confirm → results (with the progress of
a large import, the error report and the revert). Officers and admins import; an import is
seen by its author and the admins only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlmodel import select

from crm.core.db import db, pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.forms import apply_errors, options
from crm.core.i18n import gettext as _
from crm.core.i18n import ngettext
from crm.core.paging import page_arg, page_count, page_within
from crm.exchange.defaults import DEFAULTABLE, default_fields, field_key
from crm.exchange.display import plan_views, row_views, tab_of, template_helpers
from crm.exchange.fields import FIELDS, header_signature
from crm.exchange.forms import ActionForm, ReadingForm, UploadForm
from crm.exchange.jobs import execute_import, job_progress, queue_import, queue_planning
from crm.exchange.labels import human_size
from crm.exchange.models import DataImport, ImportMapping, ImportStatus, RowAction
from crm.exchange.operations import (
    FileTooLarge,
    cancel_import,
    confirm_import,
    map_import_columns,
    reread_import,
    revert_import,
    upload_import,
)
from crm.exchange.queries import (
    import_rows,
    imports_for,
    limit,
    plan_counts,
    plan_import,
    read_import,
    stored_plan_counts,
    stored_plan_page,
    visible_import,
)
from crm.exchange.read_limits import MAX_FIELD_BYTES
from crm.exchange.rejections import ACCEPT_FIELD, mostly_rejected, rejection_warning
from crm.exchange.report import error_report
from crm.exchange.reverting import revert_check
from crm.leads.access import is_htmx, require_writer

bp = Blueprint("imports", __name__, url_prefix="/imports")
PER_PAGE = 100


def _import(import_id: int) -> DataImport:
    require_writer()
    data_import = visible_import(db.session, current_user, import_id)
    if data_import is None:
        abort(404)
    return data_import


def _page() -> int:
    return page_arg(request.args.get("page"))


def _index(form: UploadForm, status: int = 200) -> Any:
    return render_template(
        "exchange/index.html",
        form=form,
        imports=imports_for(db.session, current_user),
        max_size=human_size(limit("IMPORT_MAX_BYTES")),
        max_rows=limit("IMPORT_MAX_ROWS"),
        max_field=human_size(MAX_FIELD_BYTES),
    ), status


@bp.route("")
@login_required
def index() -> Any:
    require_writer()
    return _index(UploadForm(formdata=None))


@bp.route("", methods=["POST"])
@login_required
def upload() -> Any:
    require_writer()
    form = UploadForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    upload = request.files.get("file")
    content = upload.stream.read(limit("IMPORT_MAX_BYTES") + 1) if upload else b""
    try:
        data_import = upload_import(
            db.session,
            kind=form.kind.data or "",
            filename=(upload.filename or "") if upload else "",
            content=content,
            actor=current_user,
        )
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _index(form, 413 if isinstance(exc, FileTooLarge) else 400)
    return redirect(url_for("imports.mapping", import_id=pk(data_import)))


def _mapping_page(
    data_import: DataImport,
    form: ReadingForm,
    errors: list[str],
    status: int = 200,
    posted: tuple[list[str], dict[str, str]] | None = None,
    field_errors: dict[str, str] | None = None,
) -> Any:
    """The columns and the values for all rows: those of the import, or those just posted
    (``posted``, shown again with ``field_errors`` when they were refused)."""
    mapping, defaults = posted or (data_import.mapping, data_import.defaults)
    try:  # a few rows to show under each header: the file is not read past them
        samples = [cells for _, cells in read_import(db.session, data_import, first=3).rows]
    except ValidationError as exc:
        samples, errors, status = [], [*errors, *(str(m) for m in exc.errors.values())], 400
    form.sheet.choices = options([(s, s) for s in data_import.detected.get("sheets", [])])
    if request.method == "GET":
        form.encoding.data = data_import.options.get("encoding") or ""
        form.delimiter.data = data_import.options.get("delimiter") or ""
        form.sheet.data = data_import.options.get("sheet") or ""
    remembered = db.session.exec(
        select(ImportMapping.id).where(
            ImportMapping.kind == data_import.kind,
            ImportMapping.signature == header_signature(data_import.kind, data_import.headers),
        )
    ).first()
    columns = [
        (i, header, [row[i] if i < len(row) else "" for row in samples], mapping[i] if i < len(mapping) else "")
        for i, header in enumerate(data_import.headers)
    ]
    return render_template(
        "exchange/mapping.html",
        data_import=data_import,
        form=form,
        action_form=ActionForm(formdata=None),
        columns=columns,
        fields=FIELDS[data_import.kind],
        remembered=remembered is not None,
        errors=errors,
        defaults=default_fields(db.session, data_import.kind, mapping, defaults),
        field_errors=field_errors or {},
    ), status


@bp.route("/<int:import_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping(import_id: int) -> Any:
    data_import = _import(import_id)
    if not data_import.status.is_open:
        return redirect(url_for("imports.show", import_id=import_id))
    form = ReadingForm()
    if request.method == "GET":
        return _mapping_page(data_import, form, [])
    if not ActionForm().validate_on_submit():
        abort(400)
    in_worker = data_import.row_count > limit("IMPORT_INLINE_ROWS")  # a large file: planned by a worker
    mapping = request.form.getlist("mapping")
    defaults = {name: request.form.get(field_key(name), "") for name in DEFAULTABLE[data_import.kind]}
    try:
        map_import_columns(
            db.session, data_import, mapping=mapping, defaults=defaults, actor=current_user, plan_in_worker=in_worker
        )
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        errors = {key: str(message) for key, message in exc.errors.items()}
        return _mapping_page(data_import, form, list(errors.values()), 400, (mapping, defaults), errors)
    if in_worker:
        queue_planning(db.session, data_import)
    return redirect(url_for("imports.preview", import_id=import_id))


@bp.route("/<int:import_id>/reading", methods=["POST"])
@login_required
def reading(import_id: int) -> Any:
    data_import = _import(import_id)
    form = ReadingForm()
    form.sheet.choices = options([(s, s) for s in data_import.detected.get("sheets", [])])
    if not form.validate_on_submit():
        return _mapping_page(data_import, form, [], 400)
    try:
        reread_import(
            db.session,
            data_import,
            actor=current_user,
            encoding=form.encoding.data or None,
            delimiter=form.delimiter.data or None,
            sheet=form.sheet.data or None,
        )
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        db.session.refresh(data_import)
        return _mapping_page(data_import, form, [str(m) for m in exc.errors.values()], 400)
    flash(_("The file was read again."), "success")
    return redirect(url_for("imports.mapping", import_id=import_id))


@bp.route("/<int:import_id>/preview")
@login_required
def preview(import_id: int) -> Any:
    return _preview_page(_import(import_id))


def _preview_page(data_import: DataImport, status: int = 200, must_accept: bool = False) -> Any:
    """The preview; ``must_accept`` when confirming without accepting that most rows are left out."""
    import_id = pk(data_import)
    plans = None
    if data_import.status == ImportStatus.PLANNING:  # a worker is planning it: this page follows it
        return render_template("exchange/planning.html", **_status_context(data_import))
    if data_import.status not in (ImportStatus.MAPPED, ImportStatus.FAILED):
        return redirect(
            url_for("imports.show" if not data_import.status.is_open else "imports.mapping", import_id=import_id)
        )
    if data_import.planned_at is not None:  # a large file: the plan its worker stored
        counts = stored_plan_counts(db.session, data_import)
        show, wanted = tab_of(request.args.get("show", "problems" if counts["error"] else "all"))
        total = counts[wanted.value] if wanted else sum(counts.values())
        stored = stored_plan_page(db.session, data_import, action=wanted, total=total, page=_page(), per_page=PER_PAGE)
        shown, page, pages = stored.rows, stored.page, stored.pages
    else:
        try:
            plans = plan_import(db.session, data_import, current_user)
        except ValidationError as exc:  # the file cannot be read within the limits now
            flash(" ".join(str(m) for m in exc.errors.values()), "danger")
            return redirect(url_for("imports.mapping", import_id=import_id))
        counts = plan_counts(plans)
        show, wanted = tab_of(request.args.get("show", "problems" if counts["error"] else "all"))
        listed = [p for p in plans if wanted is None or p.action == wanted]
        pages = page_count(len(listed), PER_PAGE)
        page = page_within(_page(), len(listed), PER_PAGE)
        shown = listed[(page - 1) * PER_PAGE : page * PER_PAGE]
    return render_template(
        "exchange/preview.html",
        data_import=data_import,
        counts=counts,
        rows=plan_views(db.session, data_import.kind, shown, data_import.headers, data_import.mapping),
        show=show,
        page=page,
        pages=pages,
        form=ActionForm(formdata=None),
        background=data_import.row_count > limit("IMPORT_INLINE_ROWS"),
        warning=rejection_warning(db.session, data_import, counts, plans),
        accept_field=ACCEPT_FIELD,
        must_accept=must_accept,
    ), status


@bp.route("/<int:import_id>/confirm", methods=["POST"])
@login_required
def confirm(import_id: int) -> Any:
    data_import = _import(import_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not request.form.get(ACCEPT_FIELD) and mostly_rejected(db.session, data_import, current_user):
        return _preview_page(data_import, 400, must_accept=True)
    background = data_import.row_count > limit("IMPORT_INLINE_ROWS")
    try:
        confirm_import(db.session, data_import, actor=current_user, background=background)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        flash(" ".join(str(m) for m in exc.errors.values()), "info")
        return redirect(url_for("imports.show", import_id=import_id))
    if background:
        queue_import(db.session, data_import)
    else:
        execute_import(db.session, pk(data_import))
    return redirect(url_for("imports.show", import_id=import_id))


def _status_context(data_import: DataImport) -> dict[str, Any]:
    progress = job_progress(data_import) if data_import.status.is_working else None
    done, total = progress if progress else (0, data_import.row_count)
    return {"data_import": data_import, "done": done, "total": max(total, 1), "reported": progress is not None}


@bp.route("/<int:import_id>")
@login_required
def show(import_id: int) -> Any:
    data_import = _import(import_id)
    if data_import.status == ImportStatus.PLANNING:
        return redirect(url_for("imports.preview", import_id=import_id))
    if data_import.status.is_open and data_import.status != ImportStatus.FAILED:
        return redirect(url_for("imports.mapping", import_id=import_id))
    show, action = tab_of(request.args.get("show", "all"))
    result = import_rows(db.session, data_import, action=action, page=_page(), per_page=PER_PAGE)
    return render_template(
        "exchange/show.html",
        **_status_context(data_import),
        rows=row_views(db.session, data_import.kind, result.rows, data_import.headers, data_import.mapping),
        result=result,
        show=show,
        form=ActionForm(formdata=None),
    )


@bp.route("/<int:import_id>/status")
@login_required
def status(import_id: int) -> Any:
    """The progress fragment that the results page polls while the import runs."""
    data_import = _import(import_id)
    response = Response(render_template("exchange/_status.html", **_status_context(data_import)))
    waiting = data_import.status.is_working or data_import.status == ImportStatus.PLANNING
    if is_htmx() and not waiting and request.args.get("was") in ("queued", "running", "planning"):
        response.headers["HX-Refresh"] = "true"  # finished: show the results (or the preview)
    return response


@bp.route("/<int:import_id>/errors")
@login_required
def errors(import_id: int) -> Any:
    data_import = _import(import_id)
    try:
        report = error_report(db.session, data_import, current_user)
    except ValidationError as exc:  # a cancelled import keeps no file
        flash(" ".join(str(m) for m in exc.errors.values()), "info")
        return redirect(url_for("imports.show", import_id=import_id))
    return Response(
        report.content,
        mimetype=report.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
    )


@bp.route("/<int:import_id>/cancel", methods=["POST"])
@login_required
def cancel(import_id: int) -> Any:
    data_import = _import(import_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cancel_import(db.session, data_import, actor=current_user)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        flash(" ".join(str(m) for m in exc.errors.values()), "info")
        return redirect(url_for("imports.show", import_id=import_id))
    flash(_("The import is cancelled; its file is deleted."), "success")
    return redirect(url_for("imports.index"))


@bp.route("/<int:import_id>/revert", methods=["GET", "POST"])
@login_required
def revert(import_id: int) -> Any:
    data_import = _import(import_id)
    if data_import.status != ImportStatus.COMPLETED:
        flash(_("Only a completed import can be reverted."), "info")
        return redirect(url_for("imports.show", import_id=import_id))
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        try:
            result = revert_import(db.session, data_import, actor=current_user)
            db.session.commit()
        except (ValidationError, PermissionDenied):
            db.session.rollback()
            abort(400)
        message = ngettext("%(num)d row was reverted.", "%(num)d rows were reverted.", result.reverted)
        if result.kept:
            message += " " + ngettext(
                "%(num)d row was kept: see why below.", "%(num)d rows were kept: see why below.", result.kept
            )
        flash(message, "success")
        return redirect(url_for("imports.show", import_id=import_id))
    check = revert_check(db.session, data_import)
    kept_rows = [row for row, _ in check.kept]
    kept = row_views(db.session, data_import.kind, kept_rows[:PER_PAGE], data_import.headers, data_import.mapping)
    for view, (_row, problem) in zip(kept, check.kept, strict=False):
        view.kept_because = problem.text()
    return render_template(
        "exchange/revert.html",
        data_import=data_import,
        removable=sum(1 for r in check.revertible if r.action == RowAction.CREATE),
        restorable=sum(1 for r in check.revertible if r.action == RowAction.UPDATE),
        kept=kept,
        kept_total=len(check.kept),
        form=ActionForm(formdata=None),
    )


bp.app_context_processor(template_helpers)
