"""Follow-up pages: "my follow-ups" by due date, everyone's for admins, the iCalendar
feed at a secret per-user URL (no login: calendar apps cannot log in), and the one-click
links of reminder mail (no login: the signed link is the authority; see ``links``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from crm.accounts.models import Role, User
from crm.accounts.operations import find_user_by_calendar_token, generate_calendar_token
from crm.core.db import db, serialise_writers
from crm.core.emails import format_local
from crm.core.errors import ValidationError
from crm.core.keyset import first_if_lost
from crm.core.security import csrf
from crm.core.time import to_utc, utcnow
from crm.followups.agenda import GROUPS, Agenda, agenda, group_page, open_followups
from crm.followups.calendar import build_calendar
from crm.followups.links import (
    DONE_NEXT_WEEK,
    NOT_YOURS,
    SNOOZE,
    USED,
    ReminderLink,
    link_problem,
    next_week_target,
    read_link,
    snooze_target,
    use_of,
)
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import complete_followup, follow_reminder_link
from crm.leads.access import is_htmx, lead_or_404, require_writer

bp = Blueprint("followups", __name__)


def _all_owners(value: str | None) -> bool:
    if value != "all":
        return False
    if current_user.role != Role.ADMIN:
        abort(403)
    return True


def _render(all_owners: bool, group: str | None = None) -> Any:
    """The agenda, each group's first rows; or one group (``group``) a page at a time."""
    context: dict[str, Any] = {"all_owners": all_owners, "paged": None, "group": None}
    if group in GROUPS:
        assert group is not None
        paged = first_if_lost(
            lambda cursor: group_page(db.session, current_user, group, all_owners=all_owners, cursor=cursor)
        )
        shown = Agenda(counts={group: paged.count})
        dict(shown.groups())[group].extend(paged.rows)
        context.update(agenda=shown, paged=paged, group=group)
    else:
        context["agenda"] = agenda(db.session, current_user, all_owners=all_owners)
    if is_htmx():
        return render_template("followups/_agenda.html", **context)
    return render_template("followups/index.html", **context)


@bp.route("/followups")
@login_required
def index() -> Any:
    return _render(_all_owners(request.args.get("owner")), request.args.get("group"))


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
    group = request.form.get("group") or None
    if is_htmx():
        return _render(all_owners, group)
    return redirect(url_for("followups.index", owner="all" if all_owners else None, group=group))


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


@bp.route("/followups/link/<token>", methods=["GET", "POST"])
@csrf.exempt
def reminder_link(token: str) -> Any:
    """A reminder's one-click link: GET shows what it will do (mail scanners fetch links and
    must change nothing), POST does it.  The page speaks the recipient's language."""
    link = read_link(token)
    if link is None:
        return _link_page("invalid", 404)
    if request.method == "POST":  # SQLite: one use at a time (PostgreSQL: the unique digest)
        db.session.rollback()
        serialise_writers(db.session, "reminder-links")
    followup = db.session.get(FollowUp, link.followup_id)
    reader = db.session.get(User, link.recipient_id)
    if followup is None or reader is None:
        return _link_page("gone", 404)
    with force_locale(reader.language.value):
        return _act_on_link(link, followup, reader)


def _act_on_link(link: ReminderLink, followup: FollowUp, reader: User) -> Any:
    language, zone = reader.language.value, reader.timezone

    def when(instant: Any) -> str:
        return format_local(instant, zone, language, hour_cycle=reader.hour_cycle)

    def target_of(action: str) -> str:
        wall = snooze_target(followup, utcnow()) if action == SNOOZE else next_week_target(followup, utcnow())
        return when(to_utc(wall, followup.timezone))

    page = {"link": link, "followup": followup, "reader": reader, "when": when}
    if link.expired:
        return _link_page("expired", 410, **page)
    problem = link_problem(db.session, followup, link, reader)
    if problem == USED:
        use = use_of(db.session, link)
        return _link_page("used", 200, used_at=when(use.used_at) if use else "", **page)
    if problem == NOT_YOURS:
        return _link_page(NOT_YOURS, 403)
    if problem is not None:
        owner = db.session.get(User, followup.owner_id)
        return _link_page("changed", 409, reason=problem, owner=owner, **page)
    target = target_of(link.action) if link.action in (SNOOZE, DONE_NEXT_WEEK) else ""
    if request.method == "GET":
        return _link_page("confirm", 200, target=target, **page)
    try:
        follow_reminder_link(db.session, followup, link, reader)
        db.session.commit()
    except (IntegrityError, ValidationError):  # used, or changed, by a request at the same moment
        db.session.rollback()
        if link_problem(db.session, followup, link, reader) is not None:
            return _act_on_link(link, followup, reader)  # now says what happened
        return _link_page("used", 409, used_at="", **page)
    return _link_page("acted", 200, target=target, **page)


def _link_page(state: str, status: int, **context: Any) -> Any:
    response = Response(render_template("followups/link.html", state=state, **context), status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
