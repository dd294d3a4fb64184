"""``/leads`` (with stage moves) and ``/activities``: confidential leads, and everything
hanging from them, exist only for their owner, their watchers and the administrators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from crm.accounts.models import User
from crm.api.framework import Call, Reply, created, endpoint
from crm.api.listing import list_page, listed, page_reply, page_window
from crm.api.problems import ApiError, invalid
from crm.api.resources.lead_pages import LeadPages
from crm.api.resources.lead_rows import lead_out, read_lead, rows_out
from crm.api.schemas.leads import (
    ActivityCreate,
    ActivityList,
    ActivityOut,
    ActivityQuery,
    LeadCreate,
    LeadList,
    LeadOut,
    LeadQuery,
    LeadUpdate,
    StageMove,
)
from crm.core.db import db, pk
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.inbound.api import activities_out
from crm.leads.filters import LeadFilter, filter_conditions
from crm.leads.models import Activity, Lead
from crm.leads.operations import create_lead, delete_lead, log_activity, move_lead_to_stage, update_lead
from crm.leads.queries import sees_lead_of, visible_lead
from crm.search.queries import lead_matches


def one_lead(lead: Lead) -> LeadOut:
    return lead_out(db.session, [lead])[0]


def seen_lead(user: User, lead_id: int) -> Lead:
    """The lead if ``user`` may see it; a confidential lead of others answers 404, as a missing one."""
    lead = visible_lead(db.session, user, lead_id)
    if lead is None:
        raise ApiError(404)
    return lead


def lead_for_body(user: User, lead_id: int) -> Lead:
    """The lead a body names, or a 422 on ``lead_id`` (invisible and missing alike)."""
    lead = visible_lead(db.session, user, lead_id)
    if lead is None:
        raise invalid([{"loc": ["body", "lead_id"], "message": _l("Unknown lead."), "type": "invalid"}])
    return lead


def _lead_conditions(call: Call) -> list[Any]:
    """The list's filters (visibility is the list's own: :class:`LeadPages`)."""
    q: LeadQuery = call.query
    now = utcnow()
    # The filters the lead list has, applied as the list applies them; then the API's own.
    shared = LeadFilter(
        stages=tuple(q.stage or ()),
        sector_id=q.sector_id,
        partnership_type=q.partnership_type,
        ma_organisation_id=q.ma_organisation_id,
        us_organisation_id=q.us_organisation_id,
        owner_id=q.owner_id,
        mission_id=q.mission_id,
    )
    found: list[Any] = filter_conditions(shared, now=now, zone_name=call.user.timezone)
    for column, value in (
        (Lead.meeting_id, q.meeting_id),
        (Lead.priority, q.priority),
        (Lead.confidential, q.confidential),
    ):
        if value is not None:
            found.append(col(column) == value)
    for wanted, lead_filter in (
        (q.overdue, LeadFilter(overdue=True)),
        (q.due_this_week, LeadFilter(due_this_week=True)),
    ):
        if wanted is not None:
            (condition,) = filter_conditions(lead_filter, now=now, zone_name=call.user.timezone)
            found.append(condition if wanted else ~condition)
    matching = lead_matches(db.session, q.q)
    if matching is not None:
        found.append(matching)
    return found


@endpoint("GET", "/leads", name="list_leads", tag="leads", summary="List leads", query=LeadQuery, response=LeadList)
def list_leads(call: Call) -> Any:
    """The leads the caller may see, filtered and sorted as asked (most recently changed first).
    Leads without an estimated value or an open follow-up come last in those orders, either way."""
    q: LeadQuery = call.query
    pages = LeadPages(db.session, call.user, q.sort, _lead_conditions(call))
    shown, number = page_window(q, pages.key, f"leads:{q.sort}", pages, lambda row: (row.sort_key, row.id))
    found = listed(shown, number, q.limit, pages.count())
    return page_reply(LeadList, rows_out(db.session, found.rows), found)


@endpoint(
    "GET",
    "/leads/<int:lead_id>",
    name="get_lead",
    tag="leads",
    summary="Read a lead",
    response=LeadOut,
    conditional=True,
)
def get_lead(call: Call, lead_id: int) -> Any:
    found = read_lead(db.session, call.user, lead_id)
    if found is None:
        raise ApiError(404)
    return found


@endpoint(
    "POST",
    "/leads",
    name="create_lead",
    tag="leads",
    summary="Create a lead",
    body=LeadCreate,
    response=LeadOut,
    status=201,
    conditional=True,
)
def create_lead_endpoint(call: Call) -> Any:
    fields = call.body.model_dump()
    fields["owner_id"] = fields["owner_id"] or call.user.id
    lead = create_lead(db.session, actor=call.user, **fields)
    return created(one_lead(lead), "get_lead", lead_id=pk(lead))


@endpoint(
    "PATCH",
    "/leads/<int:lead_id>",
    name="update_lead",
    tag="leads",
    summary="Change a lead",
    body=LeadUpdate,
    response=LeadOut,
    conditional=True,
)
def update_lead_endpoint(call: Call, lead_id: int) -> Any:
    """Any officer who sees the lead changes its working fields, and adds or removes
    themselves in ``watcher_ids``.  Its ``owner_id``, ``confidential`` and the other
    watchers change only by its owner, the owner's supervisor or an administrator: anyone
    else gets 403, naming the field, and nothing changes.  Sending a field's current value
    is no change."""
    lead = seen_lead(call.user, lead_id)
    call.require_match(one_lead(lead))
    fields = call.changes()
    update_lead(db.session, lead, actor=call.user, watcher_ids=fields.pop("watcher_ids", None), **fields)
    return one_lead(lead)


@endpoint(
    "DELETE",
    "/leads/<int:lead_id>",
    name="delete_lead",
    tag="leads",
    summary="Delete a lead",
    status=204,
    conditional=True,
)
def delete_lead_endpoint(call: Call, lead_id: int) -> Any:
    """Deletes the lead with its follow-ups, activities and watchers, as the lead page does:
    only its owner, the owner's supervisor or an administrator may.  Its events stay in the feed, ``lead.deleted``
    last.  To end a lead but keep it, move it to ``closed_no_go``."""
    lead = seen_lead(call.user, lead_id)
    call.require_match(one_lead(lead))
    delete_lead(db.session, lead, actor=call.user)
    return Reply(None, 204)


@endpoint(
    "POST",
    "/leads/<int:lead_id>/stage",
    name="move_lead",
    tag="leads",
    summary="Move a lead to a stage",
    body=StageMove,
    response=LeadOut,
    conditional=True,
)
def move_lead(call: Call, lead_id: int) -> Any:
    """Move the lead along the pipeline (or out of it); the move and its note enter the timeline."""
    lead = seen_lead(call.user, lead_id)
    call.require_match(one_lead(lead))
    move_lead_to_stage(db.session, lead, call.body.stage, actor=call.user, note=call.body.note)
    return one_lead(lead)


def _activity(user: User, activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or visible_lead(db.session, user, activity.lead_id) is None:
        raise ApiError(404)
    return activity


@endpoint(
    "GET",
    "/activities",
    name="list_activities",
    tag="activities",
    summary="List activities",
    query=ActivityQuery,
    response=ActivityList,
)
def list_activities(call: Call) -> Any:
    """Notes, calls, emails and meetings logged on the leads the caller may see."""
    q: ActivityQuery = call.query
    query = select(Activity).where(sees_lead_of(call.user, col(Activity.lead_id)))
    for column, value in ((Activity.lead_id, q.lead_id), (Activity.kind, q.kind), (Activity.author_id, q.author_id)):
        if value is not None:
            query = query.where(col(column) == value)
    if q.occurred_after is not None:
        query = query.where(col(Activity.occurred_at) >= q.occurred_after)
    if q.occurred_before is not None:
        query = query.where(col(Activity.occurred_at) < q.occurred_before)
    columns = {"occurred_at": col(Activity.occurred_at), "created_at": col(Activity.created_at), "id": col(Activity.id)}
    found = list_page(db.session, query, q, name="activities", columns=columns, tie=col(Activity.id))
    return page_reply(ActivityList, activities_out([row[0] for row in found.rows]), found)


@endpoint(
    "GET",
    "/activities/<int:activity_id>",
    name="get_activity",
    tag="activities",
    summary="Read an activity",
    response=ActivityOut,
    conditional=True,
)
def get_activity(call: Call, activity_id: int) -> Any:
    return activities_out([_activity(call.user, activity_id)])[0]


@endpoint(
    "POST",
    "/activities",
    name="log_activity",
    tag="activities",
    summary="Log an activity on a lead",
    body=ActivityCreate,
    response=ActivityOut,
    status=201,
    conditional=True,
)
def log_activity_endpoint(call: Call) -> Any:
    """Activities are a log of what happened: they are not changed afterwards."""
    body: ActivityCreate = call.body
    lead = lead_for_body(call.user, body.lead_id)
    activity = log_activity(
        db.session, lead, kind=body.kind, body=body.body, occurred_at=body.occurred_at, actor=call.user
    )
    db.session.flush()
    return created(ActivityOut.model_validate(activity), "get_activity", activity_id=pk(activity))
