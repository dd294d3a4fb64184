"""Today's page and the actions of its follow-up rows: done, done + the next one, snooze.

Each action calls one operation and commits once; htmx gets the follow-ups' part of the
page back (with the navigation's count, out of band), a plain form post a redirect.
Invalid input answers 400 with the row's form and its errors, a refusal 403."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from crm.core.db import db
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.forms import apply_errors
from crm.core.i18n import gettext as _
from crm.core.time import to_utc, utcnow
from crm.core.web import format_when
from crm.followups.links import next_week_target
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import close_followup, snooze_followup
from crm.leads.access import is_htmx, lead_or_404, require_writer
from crm.today.forms import NextForm, SnoozeForm
from crm.today.queries import NAV_COUNT_LIMIT, TodayPage, due_count, today_page

bp = Blueprint("today", __name__)


def nav_counts() -> dict[str, Any]:
    """``today_count()`` for the navigation: computed only where a page asks for it."""
    if not current_user or not current_user.is_authenticated:
        return {}
    return {"today_count": lambda: due_count(db.session, current_user, limit=NAV_COUNT_LIMIT)}


def _forms(page: TodayPage, submitted: dict[int, FlaskForm]) -> dict[int, dict[str, FlaskForm]]:
    """Each row's forms: "the next one" prefilled a week later at the same local hour."""
    forms: dict[int, dict[str, FlaskForm]] = {}
    for _key, items in page.agenda.groups()[:3]:
        for item in items:
            f = item.followup
            assert f.id is not None
            forms[f.id] = {
                "next": NextForm(
                    formdata=None, prefix=f"n{f.id}", title=f.title, due_local=next_week_target(f, page.now)
                ),
                "snooze": SnoozeForm(formdata=None, prefix=f"s{f.id}"),
            }
            if f.id in submitted:
                kind = "next" if isinstance(submitted[f.id], NextForm) else "snooze"
                forms[f.id][kind] = submitted[f.id]
    return forms


def _render(
    *,
    status: int = 200,
    message: str = "",
    warning: bool = False,
    submitted: dict[int, FlaskForm] | None = None,
    opened: int | None = None,
) -> Any:
    page = today_page(db.session, current_user)
    forms = _forms(page, submitted or {})
    hidden = [f for key, f in (submitted or {}).items() if key not in forms]  # its row is not shown
    if hidden:
        message = " ".join([*hidden[0].form_errors, *(e for field in hidden[0] for e in field.errors)]) or message
        warning = True
    context = {
        "page": page,
        "forms": forms,
        "message": message,
        "warning": warning,
        "opened": opened,
        "due_now": page.due_now,
    }
    template = "today/_followups.html" if is_htmx() else "today/index.html"
    return render_template(template, **context), status


@bp.route("/today")
@login_required
def index() -> Any:
    return _render()


def _followup(followup_id: int) -> FollowUp:
    require_writer()
    followup = db.session.get(FollowUp, followup_id)
    if followup is None:
        abort(404)
    lead_or_404(followup.lead_id)
    return followup


def _done(message: str) -> Any:
    db.session.commit()
    if is_htmx():
        return _render(message=message)
    flash(message, "success")
    return redirect(url_for("today.index"))


def _failed(followup_id: int, form: FlaskForm, exc: ValidationError | PermissionDenied | None = None) -> Any:
    db.session.rollback()
    if isinstance(exc, PermissionDenied):
        form.form_errors.append(str(exc.message or _("You do not have access to this page.")))
        page, status = _render(status=403, submitted={followup_id: form}, opened=followup_id)
        return page, status, {"X-Form-Refused": "true"}
    if exc is not None:
        apply_errors(form, exc)
    return _render(status=400, submitted={followup_id: form}, opened=followup_id)


def _closed() -> Any:
    """Closed meanwhile (in another tab, by a reminder's link): its row is gone; say so."""
    return _render(status=400, message=_("This follow-up is already closed."), warning=True)


def _due_text(followup: FollowUp, wall: datetime) -> str:
    return format_when(to_utc(wall, followup.timezone), "short")


@bp.route("/today/followups/<int:followup_id>/done", methods=["POST"])
@login_required
def done(followup_id: int) -> Any:
    followup = _followup(followup_id)
    form = NextForm(formdata=None, prefix=f"n{followup_id}")
    if followup.status != FollowUpStatus.OPEN:
        return _closed()
    try:
        close_followup(db.session, followup, actor=current_user)
    except (ValidationError, PermissionDenied) as exc:
        return _failed(followup_id, form, exc)
    return _done(_("“%(title)s” is done.", title=followup.title))


@bp.route("/today/followups/<int:followup_id>/next", methods=["POST"])
@login_required
def done_and_next(followup_id: int) -> Any:
    followup = _followup(followup_id)
    form = NextForm(prefix=f"n{followup_id}")
    if followup.status != FollowUpStatus.OPEN:
        return _closed()
    if not form.validate_on_submit() or form.due_local.data is None:
        return _failed(followup_id, form)
    try:
        close_followup(
            db.session, followup, next_due_local=form.due_local.data, next_title=form.title.data, actor=current_user
        )
    except (ValidationError, PermissionDenied) as exc:
        return _failed(followup_id, form, exc)
    return _done(
        _(
            "“%(title)s” is done; the next one is due %(when)s.",
            title=followup.title,
            when=_due_text(followup, form.due_local.data),
        )
    )


@bp.route("/today/followups/<int:followup_id>/snooze", methods=["POST"])
@login_required
def snooze(followup_id: int) -> Any:
    followup = _followup(followup_id)
    form = SnoozeForm(prefix=f"s{followup_id}")
    if followup.status != FollowUpStatus.OPEN:
        return _closed()
    by = request.form.get("by", "")
    if not form.validate_on_submit() or (by == "date" and form.on.data is None):
        if by == "date" and not form.on.errors:
            form.on.errors = [_("Choose a day.")]
        return _failed(followup_id, form)
    try:
        target = snooze_followup(db.session, followup, by=by, on=form.on.data, now=utcnow(), actor=current_user)
    except (ValidationError, PermissionDenied) as exc:
        return _failed(followup_id, form, exc)
    return _done(_("“%(title)s” is put off to %(when)s.", title=followup.title, when=_due_text(followup, target)))
