"""Itinerary and briefing pages: a delegate's itinerary (page, .ics, PDF), the delegate's
calendar feed at a signed address (no login: the token is the authority), and a meeting's
briefing sheet (PDF).  Anyone who may open the mission may read them; the leads on a
briefing sheet are those the reader may see."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from crm.core.db import db, pk
from crm.core.errors import ValidationError
from crm.core.i18n import LANGUAGES, current_language
from crm.core.i18n import lazy_gettext as _l
from crm.core.pdf import pdf_response, render_pdf
from crm.itineraries.briefing import briefing
from crm.itineraries.calendar import build_calendar
from crm.itineraries.display import HELPERS, feed_url
from crm.itineraries.links import is_current, read_feed_token
from crm.itineraries.operations import revoke_feed
from crm.itineraries.queries import Itinerary, delegate_of, itinerary
from crm.missions.models import Meeting, Mission
from crm.organisations.models import Contact

bp = Blueprint("itineraries", __name__)


def _itinerary(mission_id: int, contact_id: int) -> Itinerary:
    mission = db.session.get(Mission, mission_id)
    if mission is None:
        abort(404)
    found = delegate_of(db.session, mission, contact_id)
    if found is None:
        abort(404)
    return itinerary(db.session, mission, *found)


def _language(default: str) -> str | None:
    """The language asked for (``?lang=``), ``default`` without one, ``None`` for a bad one."""
    chosen = request.args.get("lang", "")
    if not chosen:
        return default
    return chosen if chosen in LANGUAGES else None


def _bad_language() -> tuple[str, int]:
    text = _l("Choose Arabic, French or English.")
    return render_template("error.html", code=400, title=_l("Bad request"), text=text), 400


def _calendar_response(itin: Itinerary, download: bool) -> Response:
    with force_locale(itin.delegate.language.value):
        body = build_calendar(itin)
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    if download:
        name = f"itinerary-{itin.mission.id}-{itin.delegate.id}.ics"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/missions/<int:mission_id>/itineraries/<int:contact_id>")
@login_required
def show(mission_id: int, contact_id: int) -> Any:
    itin = _itinerary(mission_id, contact_id)
    return render_template("itineraries/show.html", itin=itin, feed=feed_url(db.session, itin), **HELPERS)


@bp.route("/missions/<int:mission_id>/itineraries/<int:contact_id>.ics")
@login_required
def download_calendar(mission_id: int, contact_id: int) -> Any:
    return _calendar_response(_itinerary(mission_id, contact_id), download=True)


@bp.route("/missions/<int:mission_id>/itineraries/<int:contact_id>.pdf")
@login_required
def download_pdf(mission_id: int, contact_id: int) -> Any:
    itin = _itinerary(mission_id, contact_id)
    language = _language(itin.delegate.language.value)
    if language is None:
        return _bad_language()
    with force_locale(language):
        data = render_pdf("pdf/itinerary.html", itin=itin, **HELPERS)
    name = f"{itin.mission.name} — {itin.delegate.display_name}.pdf".replace("/", "-")
    return pdf_response(data, name)


@bp.route("/missions/<int:mission_id>/itineraries/<int:contact_id>/revoke", methods=["POST"])
@login_required
def revoke(mission_id: int, contact_id: int) -> Any:
    mission = db.session.get(Mission, mission_id)
    contact = db.session.get(Contact, contact_id)
    if mission is None or contact is None:
        abort(404)
    try:
        revoke_feed(db.session, mission, contact, actor=current_user)
    except ValidationError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash(_l("The old calendar address no longer works. Share the new one."), "success")
    return redirect(url_for("itineraries.show", mission_id=mission_id, contact_id=contact_id))


@bp.route("/itineraries/feed/<token>.ics")
def feed(token: str) -> Any:
    link = read_feed_token(token)
    if link is None or not is_current(db.session, link):
        abort(404)
    mission = db.session.get(Mission, link.mission_id)
    found = delegate_of(db.session, mission, link.contact_id) if mission is not None else None
    if mission is None or found is None or found[0].is_erased:
        abort(404)
    response = _calendar_response(itinerary(db.session, mission, *found), download=False)
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/meetings/<int:meeting_id>/briefing.pdf")
@login_required
def briefing_pdf(meeting_id: int) -> Any:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    language = _language(current_language())
    if language is None:
        return _bad_language()
    sheet = briefing(db.session, current_user, meeting)
    with force_locale(language):
        data = render_pdf("pdf/briefing.html", sheet=sheet, viewer_zone=str(current_user.timezone), **HELPERS)
    return pdf_response(data, f"{meeting.title} — {pk(meeting)}.pdf".replace("/", "-"))
