"""``/followups``: dated next steps on leads, with the reminder ladder behind them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from crm.accounts.models import User
from crm.api.framework import Call, created, endpoint
from crm.api.listing import list_page, page_reply
from crm.api.problems import ApiError
from crm.api.resources.leads import lead_for_body
from crm.api.schemas.followups import FollowUpCreate, FollowUpList, FollowUpOut, FollowUpQuery, FollowUpUpdate
from crm.core.db import db, pk
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import (
    cancel_followup,
    complete_followup,
    reassign_followup,
    reschedule_followup,
    schedule_followup,
)
from crm.leads.queries import sees_lead_of, visible_lead


def _followup(user: User, followup_id: int) -> FollowUp:
    followup = db.session.get(FollowUp, followup_id)
    if followup is None or visible_lead(db.session, user, followup.lead_id) is None:
        raise ApiError(404)
    return followup


@endpoint(
    "GET",
    "/followups",
    name="list_followups",
    tag="followups",
    summary="List follow-ups",
    query=FollowUpQuery,
    response=FollowUpList,
)
def list_followups(call: Call) -> Any:
    """Follow-ups of the leads the caller may see, soonest due first."""
    q: FollowUpQuery = call.query
    query = select(FollowUp).where(sees_lead_of(call.user, col(FollowUp.lead_id)))
    for column, value in ((FollowUp.lead_id, q.lead_id), (FollowUp.owner_id, q.owner_id), (FollowUp.status, q.status)):
        if value is not None:
            query = query.where(col(column) == value)
    if q.due_after is not None:
        query = query.where(col(FollowUp.due_at) >= q.due_after)
    if q.due_before is not None:
        query = query.where(col(FollowUp.due_at) < q.due_before)
    columns = {
        "due_at": col(FollowUp.due_at),
        "created_at": col(FollowUp.created_at),
        "updated_at": col(FollowUp.updated_at),
        "id": col(FollowUp.id),
    }
    found = list_page(db.session, query, q, name="followups", columns=columns, tie=col(FollowUp.id))
    return page_reply(FollowUpList, [FollowUpOut.model_validate(row[0]) for row in found.rows], found)


@endpoint(
    "GET",
    "/followups/<int:followup_id>",
    name="get_followup",
    tag="followups",
    summary="Read a follow-up",
    response=FollowUpOut,
    conditional=True,
)
def get_followup(call: Call, followup_id: int) -> Any:
    return FollowUpOut.model_validate(_followup(call.user, followup_id))


@endpoint(
    "POST",
    "/followups",
    name="schedule_followup",
    tag="followups",
    summary="Schedule a follow-up",
    body=FollowUpCreate,
    response=FollowUpOut,
    status=201,
    conditional=True,
)
def schedule_followup_endpoint(call: Call) -> Any:
    body: FollowUpCreate = call.body
    lead = lead_for_body(call.user, body.lead_id)
    owner = db.session.get(User, body.owner_id or lead.owner_id)
    zone = body.timezone or (owner.timezone if owner is not None else call.user.timezone)
    followup = schedule_followup(
        db.session,
        lead,
        title=body.title,
        due_local=body.due_local,
        timezone=zone,
        owner_id=body.owner_id,
        actor=call.user,
    )
    db.session.flush()
    return created(FollowUpOut.model_validate(followup), "get_followup", followup_id=pk(followup))


@endpoint(
    "PATCH",
    "/followups/<int:followup_id>",
    name="update_followup",
    tag="followups",
    summary="Reschedule, reassign or close a follow-up",
    body=FollowUpUpdate,
    response=FollowUpOut,
    conditional=True,
)
def update_followup(call: Call, followup_id: int) -> Any:
    """A new due time starts a new reminder ladder; closing it stops the reminders.  A new
    ``owner_id`` is given only by the follow-up's owner, the lead's owner, the owner's
    supervisor or an administrator (403 for anyone else)."""
    followup = _followup(call.user, followup_id)
    call.require_match(FollowUpOut.model_validate(followup))
    body: FollowUpUpdate = call.body
    given = call.given
    if "due_local" in given or "timezone" in given:
        reschedule_followup(
            db.session,
            followup,
            due_local=body.due_local if "due_local" in given else followup.due_local,
            timezone=body.timezone if "timezone" in given else None,
            actor=call.user,
        )
    if "owner_id" in given:
        reassign_followup(db.session, followup, body.owner_id, actor=call.user)
    if body.status == "done":
        complete_followup(db.session, followup, actor=call.user)
    elif body.status == "cancelled":
        cancel_followup(db.session, followup, actor=call.user, reason=body.reason or "")
    return FollowUpOut.model_validate(followup)


@endpoint(
    "DELETE",
    "/followups/<int:followup_id>",
    name="cancel_followup",
    tag="followups",
    summary="Cancel a follow-up",
    response=FollowUpOut,
    conditional=True,
)
def cancel_followup_endpoint(call: Call, followup_id: int) -> Any:
    """Cancels it, as the lead page does: it stays in the lead's history with status
    ``cancelled``, and is answered as such.  Cancelling it again changes nothing."""
    followup = _followup(call.user, followup_id)
    call.require_match(FollowUpOut.model_validate(followup))
    if followup.status != FollowUpStatus.CANCELLED:
        cancel_followup(db.session, followup, actor=call.user)
    return FollowUpOut.model_validate(followup)
