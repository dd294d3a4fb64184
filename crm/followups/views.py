"""Follow-up pages: "my follow-ups" by due date, everyone's for admins, and the
iCalendar feed at a secret per-user URL (no login: calendar apps cannot log in)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from crm.accounts.models import Role
from crm.accounts.operations import find_user_by_calendar_token, generate_calendar_token
from crm.core.db import db
from crm.followups.agenda import agenda, open_followups
from crm.followups.calendar import build_calendar
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import complete_followup
from crm.leads.access import is_htmx, lead_or_404, require_writer

bp = Blueprint("followups", __name__)


def _all_owners(value: str | None) -> bool:
    if value != "all":
        return False
    if current_user.role != Role.ADMIN:
        abort(403)
    return True


def _render(all_owners: bool) -> Any:
    context = {"agenda": agenda(db.session, current_user, all_owners=all_owners), "all_owners": all_owners}
    if is_htmx():
        return render_template("followups/_agenda.html", **context)
    return render_template("followups/index.html", **context)


@bp.route("/followups")
@login_required
def index() -> Any:
    return _render(_all_owners(request.args.get("owner")))


@bp.route("/followups/<int:followup_id>/done", methods=["POST"])
@login_required
def done(followup_id: int) -> Any:
    require_writer()
    all_owners = _all_owners(request.form.get("owner"))
    followup = db.session.get(FollowUp, followup_id)
    if followup is None:
        abort(404)
    lead_or_404(followup.lead_id)
    if followup.status == FollowUpStatus.OPEN:
        complete_followup(db.session, followup, actor=current_user)
        db.session.commit()
    if is_htmx():
        return _render(all_owners)
    return redirect(url_for("followups.index", owner="all" if all_owners else None))


@bp.route("/followups/calendar/token", methods=["POST"])
@login_required
def new_calendar_token() -> Any:
    token = generate_calendar_token(db.session, current_user)
    db.session.commit()
    feed_url = url_for("followups.calendar", token=token, _external=True)
    return render_template("followups/calendar_token.html", feed_url=feed_url)


@bp.route("/followups/calendar/<token>.ics")
def calendar(token: str) -> Any:
    user = find_user_by_calendar_token(db.session, token)
    if user is None:
        abort(404)
    items = open_followups(db.session, user, owner=user)
    with force_locale(user.language.value):
        body = build_calendar(items, lambda lead_id: url_for("lead.show", lead_id=lead_id, _external=True))
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
