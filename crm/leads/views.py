"""Lead pages: the filtered list, saved filters, and the create / edit forms."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlmodel import select

from crm.core.db import db
from crm.core.errors import PermissionDenied
from crm.core.forms import refuse_field, save_form
from crm.core.i18n import gettext as _
from crm.core.keyset import first_if_lost
from crm.core.time import utcnow
from crm.leads.access import is_htmx, lead_or_404, require_writer
from crm.leads.choices import filter_choices
from crm.leads.filters import args_from_query, parse_filter
from crm.leads.forms import LeadForm, SavedFilterForm
from crm.leads.models import LeadWatcher, SavedFilter
from crm.leads.operations import (
    create_lead,
    delete_lead,
    delete_saved_filter,
    save_filter,
    update_lead,
)
from crm.leads.queries import lead_holdings, lead_window, saved_filters
from crm.leads.rights import DELETE, may_manage_lead
from crm.pipeline.queries import lead_totals

bp = Blueprint("leads", __name__)


def _render_list(args: Any, save_form: SavedFilterForm | None = None, status: int = 200) -> Any:
    lead_filter = parse_filter(args, current_user)
    result = first_if_lost(lambda cursor: lead_window(db.session, current_user, cursor=cursor, lead_filter=lead_filter))
    context = {
        "result": result,
        "now": utcnow(),
        "filter": lead_filter,
        "save_form": save_form or SavedFilterForm(formdata=None),
        # Adding up a list reads all of it: only for lists the count could read whole.
        "totals": lead_totals(db.session, current_user, lead_filter=lead_filter) if result.count.exact else None,
    }
    if is_htmx() and request.method == "GET":
        return render_template("leads/_results.html", **context), status
    return render_template(
        "leads/index.html",
        **context,
        options=filter_choices(db.session),
        saved=saved_filters(db.session, current_user),
    ), status


@bp.route("/leads")
@login_required
def index() -> Any:
    return _render_list(request.args)


@bp.route("/leads/filters", methods=["POST"])
@login_required
def save_current_filter() -> Any:
    form = SavedFilterForm()
    query = parse_filter(args_from_query(form.query.data or ""), current_user).query_string()
    if form.validate_on_submit():
        saved = save_form(
            form,
            lambda: save_filter(db.session, current_user, name=form.name.data or "", query=query),
            _("The filter is saved."),
        )
        if saved:
            return redirect(url_for("leads.index") + (f"?{query}" if query else ""))
    return _render_list(args_from_query(query), form, 400)


@bp.route("/leads/filters/<int:filter_id>/delete", methods=["POST"])
@login_required
def delete_filter(filter_id: int) -> Any:
    saved = db.session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != current_user.id:
        abort(404)
    delete_saved_filter(db.session, saved, actor=current_user)
    db.session.commit()
    flash(_("The filter is deleted."), "success")
    return redirect(url_for("leads.index"))


@bp.route("/leads/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    require_writer()
    form = LeadForm()
    form.fill_choices(creating=True)
    if request.method == "GET":
        form.owner_id.data = current_user.id
        form.ma_organisation_id.data = request.args.get("ma", type=int)
        form.us_organisation_id.data = request.args.get("us", type=int)
    elif form.validate_on_submit():
        created = save_form(
            form,
            lambda: create_lead(
                db.session,
                stage=form.stage.data or "identified",
                actor=current_user,
                watcher_ids=list(form.watcher_ids.data or []),
                **form.lead_fields(),
            ),
            _("The lead is saved."),
        )
        if created:
            return redirect(url_for("lead.show", lead_id=created.value.id))
    status = 400 if request.method == "POST" else 200
    return render_template("leads/form.html", form=form, lead=None), status


@bp.route("/leads/<int:lead_id>/edit", methods=["GET", "POST"])
@login_required
def edit(lead_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    manages = may_manage_lead(current_user, lead)
    form = LeadForm(obj=lead)
    form.fill_choices(creating=False)
    watching = list(db.session.exec(select(LeadWatcher.user_id).where(LeadWatcher.lead_id == lead.id)).all())
    # The fields only the lead's managers change are shown disabled to the others, so the
    # browser leaves them out: what is left out stays as it is (what is sent is checked).
    sent = request.form if request.method == "POST" else {}
    kept = set() if manages else {name for name in ("owner_id", "confidential", "watcher_ids") if name not in sent}
    if request.method == "GET" or "watcher_ids" in kept:
        form.watcher_ids.data = watching
    if request.method == "GET":
        form.partnership_type.data = lead.partnership_type.value
        form.priority.data = lead.priority.value
        form.currency.data = lead.currency.value if lead.currency else ""
        form.estimated_value.data = str(lead.estimated_value) if lead.estimated_value is not None else ""
    for name, value in (("owner_id", lead.owner_id), ("confidential", lead.confidential)):
        if name in kept:
            getattr(form, name).data, getattr(form, name).raw_data = value, [str(value)]
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            saved = save_form(
                form,
                lambda: update_lead(
                    db.session,
                    lead,
                    actor=current_user,
                    watcher_ids=None if "watcher_ids" in kept else list(form.watcher_ids.data or []),
                    **form.lead_fields(),
                ),
                _("The lead is saved."),
            )
        except PermissionDenied as exc:
            db.session.rollback()
            refuse_field(form, exc)
            status = 403
        else:
            if saved:
                return redirect(url_for("lead.show", lead_id=lead.id))
    return render_template("leads/form.html", form=form, lead=lead, manages=manages), status


@bp.route("/leads/<int:lead_id>/delete", methods=["GET", "POST"])
@login_required
def delete(lead_id: int) -> Any:
    """A page that says what goes with the lead, then deletes it on confirmation."""
    lead = lead_or_404(lead_id)
    if not may_manage_lead(current_user, lead):
        raise PermissionDenied("not a manager of the lead: delete", message=DELETE)
    if request.method == "POST":
        form = FlaskForm()
        if form.validate_on_submit():
            title = lead.title
            delete_lead(db.session, lead, actor=current_user)
            db.session.commit()
            flash(_("The lead “%(title)s” is deleted.", title=title), "success")
            return redirect(url_for("leads.index"))
    return render_template("leads/delete.html", lead=lead, holds=lead_holdings(db.session, lead_id))


bp.add_app_template_global(may_manage_lead)


@bp.app_template_global()
def stage_label(stage: Any) -> str:
    from crm.leads.labels import stage_label as label

    return label(stage)


@bp.app_template_global()
def stage_choices() -> list[tuple[str, str]]:
    from crm.leads.labels import STAGE_LABELS

    return [(stage.value, str(label)) for stage, label in STAGE_LABELS.items()]


@bp.app_template_global()
def partnership_type_choices() -> list[tuple[str, str]]:
    from crm.leads.labels import PARTNERSHIP_TYPE_LABELS

    return [(kind.value, str(label)) for kind, label in PARTNERSHIP_TYPE_LABELS.items()]


@bp.app_template_global()
def partnership_type_label(value: Any) -> str:
    from crm.leads.labels import partnership_type_label as label

    return label(value)


@bp.app_template_global()
def priority_label(value: Any) -> str:
    from crm.leads.labels import PRIORITY_LABELS
    from crm.leads.models import Priority

    return str(PRIORITY_LABELS[Priority(value)])
