"""The lead page and its quick actions.

Each action parses its form, calls one operation, commits, and answers with the page's
live part as a fragment to htmx (``HX-Request``) or with a redirect to a plain form post.
Invalid input answers 400 with the form and its errors, in either mode.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from crm.core.db import db, parse_id, pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.forms import apply_errors, refuse_field
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import to_local, utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import (
    cancel_followup,
    complete_followup,
    reassign_followup,
    reschedule_followup,
    schedule_followup,
)
from crm.leads.access import is_htmx, lead_or_404, require_writer
from crm.leads.forms import ActivityForm, FollowUpForm, RescheduleForm, StageForm, WatcherForm
from crm.leads.models import Lead
from crm.leads.operations import add_watcher, log_activity, move_lead_to_stage, remove_watcher
from crm.leads.queries import lead_detail
from crm.leads.rights import may_manage_lead, may_reassign_followup
from crm.leads.timeline import lead_timeline

bp = Blueprint("lead", __name__)


def _default_due() -> datetime:
    """Tomorrow 09:00 on the viewer's clock."""
    tomorrow = to_local(utcnow(), current_user.timezone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(9, 0))


def _forms(lead: Lead, submitted: dict[str, FlaskForm]) -> dict[str, Any]:
    """The page's forms: the submitted one as posted (with its errors), the others fresh."""
    forms: dict[str, Any] = {
        "activity": ActivityForm(formdata=None, prefix="activity"),
        "followup": FollowUpForm(
            formdata=None, prefix="followup", timezone=current_user.timezone, due_local=_default_due()
        ),
        "stage": StageForm(formdata=None, prefix="stage", stage=lead.stage.value),
        "watcher": WatcherForm(formdata=None, prefix="watcher"),
    }
    forms.update(submitted)
    return forms


def render_lead(lead: Lead, submitted: dict[str, FlaskForm] | None = None, status: int = 200) -> Any:
    detail = lead_detail(db.session, lead)
    reschedule = {
        f.id: RescheduleForm(
            formdata=None, prefix=f"r{f.id}", due_local=f.due_local, timezone=f.timezone, owner_id=f.owner_id
        )
        for f, _owner in detail.open_followups
    }
    for f, _owner in detail.open_followups:  # it stays with its owner unless the user may give it away
        if not may_reassign_followup(current_user, f.owner_id, lead):
            reschedule[pk(f)].owner_id.lock()
    closed_errors: list[str] = []
    for key, form in (submitted or {}).items():
        if key.startswith("r") and key[1:].isdecimal():
            if int(key[1:]) in reschedule:
                reschedule[int(key[1:])] = form
            else:  # closed meanwhile: its form is gone from the page, its errors are not
                closed_errors += [*form.form_errors, *(e for f in form for e in f.errors)]
    context = {
        "d": detail,
        "lead": lead,
        "timeline": lead_timeline(db.session, pk(lead)),
        "forms": _forms(lead, {k: v for k, v in (submitted or {}).items() if not k[1:].isdecimal()}),
        "reschedule": reschedule,
        "closed_errors": closed_errors,
        "now": utcnow(),
        "manages": may_manage_lead(current_user, lead),
    }
    template = "leads/_live.html" if is_htmx() else "leads/detail.html"
    return render_template(template, **context), status


def _done(lead: Lead) -> Any:
    db.session.commit()
    if is_htmx():
        return render_lead(lead)
    return redirect(url_for("lead.show", lead_id=lead.id))


def _failed(lead: Lead, key: str, form: FlaskForm, exc: ValidationError | PermissionDenied | None = None) -> Any:
    """The page again with the form's errors: 400, or 403 when an operation refused the user."""
    db.session.rollback()
    if isinstance(exc, PermissionDenied):
        refuse_field(form, exc, rename={"watcher_ids": "user_id"})  # the watcher form's one field
        page, status = render_lead(lead, {key: form}, 403)
        return page, status, {"X-Form-Refused": "true"}  # htmx shows it, as it shows a 400
    if exc is not None:
        apply_errors(form, exc)
    return render_lead(lead, {key: form}, 400)


@bp.route("/leads/<int:lead_id>")
@login_required
def show(lead_id: int) -> Any:
    return render_lead(lead_or_404(lead_id))


@bp.route("/leads/<int:lead_id>/timeline")
@login_required
def timeline(lead_id: int) -> Any:
    """Older events of the timeline: the next entries for htmx, a page of their own without it."""
    lead = lead_or_404(lead_id)
    before = parse_id(request.args.get("before"))
    if before is None:
        abort(400)
    page = lead_timeline(db.session, lead_id, before=before)
    template = "leads/_timeline_entries.html" if is_htmx() else "leads/timeline.html"
    return render_template(template, lead=lead, timeline=page)


@bp.route("/leads/<int:lead_id>/activities", methods=["POST"])
@login_required
def log(lead_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    form = ActivityForm(prefix="activity")
    if not form.validate_on_submit():
        return _failed(lead, "activity", form)
    try:
        log_activity(db.session, lead, kind=form.kind.data or "note", body=form.body.data or "", actor=current_user)
    except ValidationError as exc:
        return _failed(lead, "activity", form, exc)
    return _done(lead)


@bp.route("/leads/<int:lead_id>/followups", methods=["POST"])
@login_required
def schedule(lead_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    form = FollowUpForm(prefix="followup")
    if not form.validate_on_submit() or form.due_local.data is None:
        return _failed(lead, "followup", form)
    try:
        schedule_followup(
            db.session,
            lead,
            title=form.title.data or "",
            due_local=form.due_local.data,
            timezone=(form.timezone.data or "").strip(),
            owner_id=form.owner_id.data,
            actor=current_user,
        )
    except ValidationError as exc:
        return _failed(lead, "followup", form, exc)
    return _done(lead)


@bp.route("/leads/<int:lead_id>/stage", methods=["POST"])
@login_required
def move(lead_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    form = StageForm(prefix="stage")
    if not form.validate_on_submit():
        return _failed(lead, "stage", form)
    try:
        move_lead_to_stage(db.session, lead, form.stage.data or "", actor=current_user, note=form.note.data or "")
    except ValidationError as exc:
        return _failed(lead, "stage", form, exc)
    return _done(lead)


@bp.route("/leads/<int:lead_id>/watchers", methods=["POST"])
@login_required
def watch(lead_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    form = WatcherForm(prefix="watcher")
    if not form.validate_on_submit() or form.user_id.data is None:
        return _failed(lead, "watcher", form)
    try:
        add_watcher(db.session, lead, form.user_id.data, actor=current_user)
    except (ValidationError, PermissionDenied) as exc:
        return _failed(lead, "watcher", form, exc)
    return _done(lead)


@bp.route("/leads/<int:lead_id>/watchers/<int:user_id>/remove", methods=["POST"])
@login_required
def unwatch(lead_id: int, user_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    try:
        remove_watcher(db.session, lead, user_id, actor=current_user)
    except PermissionDenied as exc:
        return _failed(lead, "watcher", WatcherForm(formdata=None, prefix="watcher"), exc)
    return _done(lead)


def _followup_or_404(lead: Lead, followup_id: int) -> FollowUp:
    followup = db.session.get(FollowUp, followup_id)
    if followup is None or followup.lead_id != lead.id:
        abort(404)
    return followup


@bp.route("/leads/<int:lead_id>/followups/<int:followup_id>/done", methods=["POST"])
@login_required
def followup_done(lead_id: int, followup_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    followup = _followup_or_404(lead, followup_id)
    if followup.status == FollowUpStatus.OPEN:
        complete_followup(db.session, followup, actor=current_user)
    return _done(lead)


@bp.route("/leads/<int:lead_id>/followups/<int:followup_id>/cancel", methods=["POST"])
@login_required
def followup_cancel(lead_id: int, followup_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    followup = _followup_or_404(lead, followup_id)
    if followup.status == FollowUpStatus.OPEN:
        cancel_followup(db.session, followup, actor=current_user)
    return _done(lead)


@bp.route("/leads/<int:lead_id>/followups/<int:followup_id>/reschedule", methods=["POST"])
@login_required
def followup_reschedule(lead_id: int, followup_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    followup = _followup_or_404(lead, followup_id)
    key = f"r{followup.id}"
    form = RescheduleForm(prefix=key)
    if followup.status != FollowUpStatus.OPEN:
        return _failed(lead, key, form, ValidationError.single("status", _l("This follow-up is already closed.")))
    if not form.validate_on_submit() or form.due_local.data is None:
        return _failed(lead, key, form)
    try:
        reschedule_followup(
            db.session,
            followup,
            due_local=form.due_local.data,
            timezone=(form.timezone.data or "").strip(),
            actor=current_user,
        )
        if form.owner_id.data and form.owner_id.data != followup.owner_id:
            reassign_followup(db.session, followup, form.owner_id.data, actor=current_user)
    except (ValidationError, PermissionDenied) as exc:
        return _failed(lead, key, form, exc)
    return _done(lead)
