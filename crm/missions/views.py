"""Mission pages: the list, one mission with its scorecard, creating and editing a mission,
and "log a meeting" with the leads born from it in one all-or-nothing step."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.core.db import db, parse_id, pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.forms import options, save_form
from crm.core.i18n import lazy_gettext as _l
from crm.core.i18n import ngettext
from crm.core.time import CASABLANCA, available_zones, to_local, utcnow
from crm.core.web import viewer_zone
from crm.leads.labels import PARTNERSHIP_TYPE_LABELS
from crm.missions.agenda import agenda_week, default_week
from crm.missions.conflicts import conflicts_of_meeting, mission_conflicts
from crm.missions.forms import MAX_PLACES, MeetingFields, MeetingForm, MissionForm, apply_meeting_errors
from crm.missions.labels import ROLE_LABELS, STATUS_LABELS, clock, conflict_text, weekday, zone_place
from crm.missions.models import ACTIVE_STATUSES, Meeting, Mission, MissionStatus
from crm.missions.operations import (
    create_mission,
    log_meeting_with_leads,
    set_mission_delegates,
    update_meeting,
    update_mission,
)
from crm.missions.plan import leg_rows
from crm.missions.queries import (
    meeting_people,
    mission_detail,
    mission_people,
    mission_rows,
    mission_sector_ids,
    scorecard,
)

bp = Blueprint("missions", __name__)


STATUS_FILTERS = ("active", "all", *(s.value for s in MissionStatus))


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "role_labels": ROLE_LABELS,
        "conflict_text": conflict_text,
        "clock": clock,
        "weekday": weekday,
        "zone_place": zone_place,
    }


@bp.route("/missions")
@login_required
def index() -> Any:
    """Planned and under-way missions; ``?status=`` shows closed, archived or all of them."""
    shown = request.args.get("status", "active")
    if shown not in STATUS_FILTERS:
        shown = "active"
    statuses = ACTIVE_STATUSES if shown == "active" else None if shown == "all" else (shown,)
    rows = mission_rows(db.session, current_user, statuses)
    return render_template("missions/index.html", rows=rows, shown=shown, filters=STATUS_FILTERS)


def _mission(mission_id: int) -> Mission:
    mission = db.session.get(Mission, mission_id)
    if mission is None:
        abort(404)
    return mission


@bp.route("/missions/<int:mission_id>")
@login_required
def detail(mission_id: int) -> Any:
    mission = _mission(mission_id)
    return render_template(
        "missions/detail.html",
        view=mission_detail(db.session, current_user, mission),
        score=scorecard(db.session, current_user, mission_id),
        conflicts=mission_conflicts(db.session, mission_id),
    )


@bp.route("/missions/<int:mission_id>/agenda")
@login_required
def agenda(mission_id: int) -> Any:
    """The mission's week (``?week=`` any day of it) on each leg's clock."""
    mission = _mission(mission_id)
    try:
        week = date.fromisoformat(request.args["week"]) if request.args.get("week") else None
    except ValueError:
        week = None
        flash(str(_l("Enter a valid date.")), "warning")
    monday = week or default_week(mission, to_local(utcnow(), viewer_zone()).date())
    view = agenda_week(db.session, mission, monday, viewer_zone())
    return render_template("missions/agenda.html", week=view, mission=mission)


def _mission_form(mission: Mission | None) -> MissionForm:
    form = MissionForm()
    if mission is not None and request.method == "GET":
        form.name.data, form.description.data = mission.name, mission.description
        form.name_ar.data, form.name_fr.data, form.name_en.data = mission.name_ar, mission.name_fr, mission.name_en
        form.status.data = mission.status.value
        form.starts_on.data, form.ends_on.data = mission.starts_on, mission.ends_on
        legs = leg_rows(db.session, pk(mission))[:MAX_PLACES]
        while len(form.places.entries) < min(len(legs) + 1, MAX_PLACES):
            form.places.append_entry()
        for entry, leg in zip(form.places.entries, legs, strict=False):
            row = entry.form
            row.id.data, row.name.data, row.timezone.data = str(leg.id), leg.name, leg.timezone
            row.starts_on.data, row.ends_on.data = leg.starts_on, leg.ends_on
        organisers, roles = mission_people(db.session, pk(mission))
        form.organiser_ids.data = organisers
        form.sector_ids.data = mission_sector_ids(db.session, pk(mission))
        form.show_roles(roles)
    return form


def _render_mission_form(form: MissionForm, mission: Mission | None, status: int = 200) -> Any:
    return render_template("missions/form.html", form=form, mission=mission, zones=available_zones()), status


@bp.route("/missions/new", methods=["GET", "POST"])
@login_required
def create() -> Any:
    if not current_user.can_edit():
        abort(403)
    form = _mission_form(None)
    if request.method == "POST" and form.validate():

        def operation() -> Mission:
            roles = form.delegate_roles()
            return create_mission(
                db.session,
                name=form.name.data or "",
                name_ar=form.name_ar.data or "",
                name_fr=form.name_fr.data or "",
                name_en=form.name_en.data or "",
                status=form.status.data or MissionStatus.PLANNED.value,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                legs=form.place_rows(),
                description=form.description.data or "",
                sector_ids=form.sector_ids.data or [],
                organiser_ids=form.organiser_ids.data or [],
                delegate_ids=list(roles),
                delegate_roles=roles,
                actor=current_user,
            )

        saved = save_form(form, operation, str(_l("The mission is saved.")))
        if saved is not None:
            return redirect(url_for("missions.detail", mission_id=pk(saved.value)))
    return _render_mission_form(form, None, 400 if request.method == "POST" else 200)


@bp.route("/missions/<int:mission_id>/edit", methods=["GET", "POST"])
@login_required
def edit(mission_id: int) -> Any:
    if not current_user.can_edit():
        abort(403)
    mission = _mission(mission_id)
    form = _mission_form(mission)
    if request.method == "POST" and form.validate():

        def operation() -> None:
            roles = form.delegate_roles()
            update_mission(
                db.session,
                mission,
                actor=current_user,
                organiser_ids=form.organiser_ids.data or [],
                sector_ids=form.sector_ids.data or [],
                name=form.name.data or "",
                name_ar=form.name_ar.data or "",
                name_fr=form.name_fr.data or "",
                name_en=form.name_en.data or "",
                status=form.status.data or mission.status.value,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                legs=form.place_rows(),
                description=form.description.data or "",
            )
            set_mission_delegates(db.session, mission, list(roles), roles=roles, actor=current_user)

        if save_form(form, operation, str(_l("The mission is saved."))) is not None:
            return redirect(url_for("missions.detail", mission_id=mission_id))
    return _render_mission_form(form, mission, 400 if request.method == "POST" else 200)


def _meeting_choices(form: MeetingFields, mission: Mission | None, *zones: str) -> None:
    """The meeting's legs and time zones: the mission's (and Casablanca's).  The
    organisations and the people are pickers, which find their own options."""
    legs = leg_rows(db.session, pk(mission)) if mission is not None else []
    form.timezone.choices = options((z, z) for z in dict.fromkeys([*zones, *(g.timezone for g in legs), CASABLANCA]))
    no_leg = ("", str(_l("No leg: use the time zone below")))
    form.leg_id.choices = options([no_leg, *((str(g.id), f"{g.name} ({g.timezone})") for g in legs)])


def _warn_conflicts(meeting: Meeting) -> None:
    """Saving is allowed with conflicts; say which ones this meeting has."""
    if meeting.mission_id is None:
        return
    for conflict in conflicts_of_meeting(mission_conflicts(db.session, meeting.mission_id), pk(meeting)):
        flash(conflict_text(conflict), "warning")


def _prepare(form: MeetingForm, mission: Mission) -> dict[str, Any]:
    _meeting_choices(form, mission)
    types = options((t.value, str(label)) for t, label in PARTNERSHIP_TYPE_LABELS.items())
    for entry in form.leads.entries:
        row = entry.form
        row.partnership_type.choices = types
        if request.method == "GET":
            row.owner_id.data = current_user.id
    return {"mission": mission}


@bp.route("/missions/<int:mission_id>/meetings/new", methods=["GET", "POST"])
@login_required
def log_meeting(mission_id: int) -> Any:
    if not current_user.can_edit():
        abort(403)
    mission = _mission(mission_id)
    form = MeetingForm()
    if request.method == "POST" and "add_lead" in request.form and len(form.leads.entries) < 20:
        form.leads.append_entry()
        form.leads.entries[-1].form.owner_id.data = current_user.id
    context = _prepare(form, mission)
    if request.method == "GET" or "add_lead" in request.form:
        return render_template("missions/log_meeting.html", form=form, **context)
    if form.validate():
        meeting = {
            "title": form.title.data or "",
            "starts_local": form.starts_local.data,
            "timezone": form.timezone.data or "",
            "mission_id": mission_id,
            "leg_id": parse_id(form.leg_id.data),
            "duration_minutes": form.duration_minutes.data or 60,
            "place": form.place.data or "",
            "notes": form.notes.data or "",
            "organisation_ids": form.organisation_ids.data or [],
            "contact_ids": form.contact_ids.data or [],
        }
        try:
            logged, leads = log_meeting_with_leads(
                db.session, meeting=meeting, leads=form.lead_rows(), actor=current_user
            )
        except PermissionDenied:
            db.session.rollback()
            abort(403)
        except ValidationError as exc:
            db.session.rollback()
            apply_meeting_errors(form, exc)
        else:
            db.session.commit()
            message = ngettext(
                "The meeting is logged with %(num)d lead.", "The meeting is logged with %(num)d leads.", len(leads)
            )
            flash(message, "success")
            _warn_conflicts(logged)
            return redirect(url_for("missions.detail", mission_id=mission_id))
    return render_template("missions/log_meeting.html", form=form, **context), 400


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit_meeting(meeting_id: int) -> Any:
    if not current_user.can_edit():
        abort(403)
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    mission = db.session.get(Mission, meeting.mission_id) if meeting.mission_id else None
    form = MeetingFields()
    _meeting_choices(form, mission, meeting.timezone)
    if request.method == "GET":
        form.title.data, form.place.data, form.notes.data = meeting.title, meeting.place, meeting.notes
        form.starts_local.data, form.timezone.data = meeting.starts_local, meeting.timezone
        form.leg_id.data, form.duration_minutes.data = str(meeting.leg_id or ""), meeting.duration_minutes
        form.organisation_ids.data, form.contact_ids.data = meeting_people(db.session, meeting_id)
    elif form.validate():

        def operation() -> None:
            update_meeting(
                db.session,
                meeting,
                actor=current_user,
                title=form.title.data or "",
                starts_local=form.starts_local.data,
                timezone=form.timezone.data or "",
                leg_id=parse_id(form.leg_id.data),
                duration_minutes=form.duration_minutes.data or 60,
                place=form.place.data or "",
                notes=form.notes.data or "",
                organisation_ids=form.organisation_ids.data or [],
                contact_ids=form.contact_ids.data or [],
            )

        if save_form(form, operation, str(_l("The meeting is saved."))) is not None:
            _warn_conflicts(meeting)
            if mission is not None:
                return redirect(url_for("missions.detail", mission_id=pk(mission)))
            return redirect(url_for("missions.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("missions/edit_meeting.html", form=form, meeting=meeting, mission=mission), status
