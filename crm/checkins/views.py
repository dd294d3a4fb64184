"""The pages of a check-in mail's links (no login: the signed token is the authority, and
it is in the address, out of reach of another site, so the forms need no CSRF token), and
the template helpers of the mission and contact pages.

A page opened from a link speaks the contact's language; a link we cannot read speaks the
default one.  GET never records anything (mail scanners follow links); the form POSTs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import force_locale
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from crm.checkins.links import AnswerLink, read_answer_link, read_stop_link
from crm.checkins.models import Checkin, CheckinOptOut, Outcome
from crm.checkins.operations import COMMENT_MAX, answer_checkin, stop_checkins
from crm.checkins.outcomes import OUTCOME_LABELS, outcome_label
from crm.checkins.queries import MissionCheckins, answer_of, mission_checkins, opt_out_of
from crm.core.db import db, serialise_writers
from crm.core.emails import format_local
from crm.core.errors import ValidationError
from crm.core.security import csrf
from crm.leads.models import Lead
from crm.missions.models import Meeting
from crm.organisations.models import Contact, Organisation

bp = Blueprint("checkins", __name__)


def _page(template: str, state: str, status: int, **context: Any) -> Response:
    response = Response(render_template(template, state=state, **context), status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _asked(link: AnswerLink) -> bool:
    """Whether the check-in this link belongs to was sent, about this lead."""
    checkin = db.session.exec(
        select(Checkin).where(
            Checkin.meeting_id == link.meeting_id, Checkin.days == link.days, Checkin.contact_id == link.contact_id
        )
    ).first()
    return checkin is not None and link.lead_id in (checkin.lead_ids or [])


@bp.route("/checkins/answer/<token>", methods=["GET", "POST"])
@csrf.exempt
def answer(token: str) -> Any:
    link = read_answer_link(token)
    if link is None:
        return _page("checkins/answer.html", "invalid", 404)
    if request.method == "POST":  # SQLite: one answer at a time (PostgreSQL: the unique key)
        db.session.rollback()
        serialise_writers(db.session, "checkin-answers")
    contact = db.session.get(Contact, link.contact_id)
    if contact is None or contact.is_erased:
        return _page("checkins/answer.html", "invalid", 404)
    with force_locale(contact.language.value):
        return _answer(link, contact)


def _answer(link: AnswerLink, contact: Contact) -> Any:
    lead = db.session.get(Lead, link.lead_id)
    meeting = db.session.get(Meeting, link.meeting_id)
    if lead is None or meeting is None or not _asked(link):
        return _page("checkins/answer.html", "gone", 404)
    language, zone = contact.language.value, contact.timezone
    page: dict[str, Any] = {
        "lead": lead,
        "meeting": meeting,
        "ma_organisation": db.session.get(Organisation, lead.ma_organisation_id),
        "us_organisation": db.session.get(Organisation, lead.us_organisation_id),
        "language": language,
        "outcomes": [(o.value, OUTCOME_LABELS[o]) for o in Outcome],
        "outcome_label": outcome_label,
        "comment_max": COMMENT_MAX,
        "when": lambda instant: format_local(instant, zone, language, "medium", offset=False),
    }
    if link.expired:
        return _page("checkins/answer.html", "expired", 410, **page)
    existing = answer_of(db.session, link)
    if existing is not None:
        return _page("checkins/answer.html", "used", 409, answer=existing, **page)
    chosen = request.values.get("outcome", "")
    selected = chosen if chosen in {o.value for o in Outcome} else ""
    if request.method != "POST":  # GET, HEAD: a mail scanner, or the reader about to choose
        return _page("checkins/answer.html", "form", 200, selected=selected, comment="", errors={}, **page)
    comment = request.form.get("comment", "")
    try:
        saved = answer_checkin(db.session, link, lead, outcome=chosen, comment=comment)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        existing = answer_of(db.session, link)
        if existing is not None:
            return _page("checkins/answer.html", "used", 409, answer=existing, **page)
        return _page("checkins/answer.html", "form", 400, selected=selected, comment=comment, errors=exc.errors, **page)
    except IntegrityError:  # answered by a request at the same moment
        db.session.rollback()
        return _page("checkins/answer.html", "used", 409, answer=answer_of(db.session, link), **page)
    return _page("checkins/answer.html", "answered", 200, answer=saved, **page)


@bp.route("/checkins/stop/<token>", methods=["GET", "POST"])
@csrf.exempt
def stop(token: str) -> Any:
    """GET asks, POST stops: the page's button, or a mail client's RFC 8058 one-click POST
    (``List-Unsubscribe=One-Click`` in its body)."""
    contact_id = read_stop_link(token)
    contact = db.session.get(Contact, contact_id) if contact_id else None
    if contact is None:
        return _page("checkins/stop.html", "invalid", 404)
    with force_locale(contact.language.value):
        done = opt_out_of(db.session, contact.id or 0) is not None
        if request.method == "POST" and not done:
            one_click = request.form.get("List-Unsubscribe") == "One-Click"
            stop_checkins(db.session, contact, via="one-click" if one_click else "email")
            db.session.commit()
            done = True
        return _page("checkins/stop.html", "stopped" if done else "confirm", 200, contact=contact)


@bp.app_template_global("mission_checkins")
def mission_checkins_for(mission_id: int) -> MissionCheckins:
    """The mission page's "Outcome check-ins" section, for the viewer."""
    return mission_checkins(db.session, current_user, mission_id)


@bp.app_template_global("checkin_opt_out")
def checkin_opt_out(contact_id: int) -> CheckinOptOut | None:
    return opt_out_of(db.session, contact_id)


bp.add_app_template_global(outcome_label, "checkin_outcome_label")
