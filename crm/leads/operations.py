"""Writes to leads, watchers and activities; each records its event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy import func as sa_func
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.accounts.permissions import owner_or_admin, require_editor
from crm.core.db import pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import changes_of, jsonable, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import ensure_utc, utcnow
from crm.core.validation import clean_enum, clean_name, clean_text
from crm.leads.fields import check_consistency, clean_lead
from crm.leads.models import (
    Activity,
    ActivityKind,
    Lead,
    LeadWatcher,
    PartnershipType,
    SavedFilter,
    Stage,
)
from crm.leads.rights import check_lead_changes, check_lead_deletion, check_watcher_change
from crm.search.texts import lead_text

LEAD_FIELDS = (
    "title",
    "description",
    "ma_organisation_id",
    "us_organisation_id",
    "mission_id",
    "meeting_id",
    "sector_id",
    "partnership_type",
    "owner_id",
    "priority",
    "estimated_value",
    "currency",
    "confidential",
    "probability",
    "expected_close_on",
)


def _refresh_search_text(session: Session, lead: Lead) -> None:
    lead.search_text = lead_text(lead)


def create_lead(
    session: Session,
    *,
    title: str,
    ma_organisation_id: int,
    us_organisation_id: int,
    partnership_type: PartnershipType | str,
    owner_id: int,
    stage: Stage | str = Stage.IDENTIFIED,
    actor: User | None = None,
    watcher_ids: tuple[int, ...] | list[int] = (),
    **optional: Any,
) -> Lead:
    require_editor(actor)
    unknown = set(optional) - set(LEAD_FIELDS)
    if unknown:
        raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
    fields = clean_lead(
        session,
        {
            "title": title,
            "ma_organisation_id": ma_organisation_id,
            "us_organisation_id": us_organisation_id,
            "partnership_type": partnership_type,
            "owner_id": owner_id,
            **optional,
        },
    )
    lead = Lead(stage=clean_enum(Stage, stage, "stage"), **fields)
    check_consistency(session, lead)
    _refresh_search_text(session, lead)
    session.add(lead)
    session.flush()
    record_event(
        session,
        "lead.created",
        lead,
        actor=actor,
        lead_id=lead.id,
        payload={**fields, "stage": lead.stage, "mission_id": lead.mission_id},
    )
    for user_id in dict.fromkeys([*watcher_ids]):  # whoever creates a lead chooses its first watchers
        _link_watcher(session, lead, user_id, actor=actor)
    return lead


def create_leads(session: Session, leads: list[dict[str, Any]], *, actor: User | None = None) -> list[Lead]:
    """Create many leads at once (an import), with the checks and the ``lead.created`` event
    of :func:`create_lead` for each, in one flush instead of one per lead.

    Every lead is checked before any is added, so a bad one leaves the session untouched."""
    require_editor(actor)
    now = utcnow()
    built: list[tuple[Lead, dict[str, Any]]] = []
    for item in leads:
        fields = dict(item)
        stage = fields.pop("stage", Stage.IDENTIFIED)
        unknown = set(fields) - set(LEAD_FIELDS)
        if unknown:
            raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
        cleaned = clean_lead(session, fields)
        # One moment for the whole batch (and no default factory run per lead).
        lead = Lead(
            stage=clean_enum(Stage, stage, "stage"), stage_changed_at=now, created_at=now, updated_at=now, **cleaned
        )
        check_consistency(session, lead)
        _refresh_search_text(session, lead)
        built.append((lead, cleaned))
    session.add_all([lead for lead, _ in built])
    session.flush()
    for lead, cleaned in built:
        record_event(
            session,
            "lead.created",
            lead,
            actor=actor,
            lead_id=lead.id,
            payload={**cleaned, "stage": lead.stage, "mission_id": lead.mission_id},
        )
    return [lead for lead, _ in built]


def update_lead(
    session: Session,
    lead: Lead,
    *,
    actor: User | None = None,
    watcher_ids: list[int] | None = None,
    **fields: Any,
) -> dict[str, list[Any]]:
    """Change plain fields of a lead (not its stage: see :func:`move_lead_to_stage`).

    With ``watcher_ids`` the watchers become exactly those users (the edit form's list).
    Its owner, confidentiality and other watchers change only by its managers
    (:mod:`crm.leads.rights`); a refusal raises PermissionDenied before anything changes."""
    require_editor(actor)
    unknown = set(fields) - set(LEAD_FIELDS)
    if unknown:
        raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
    cleaned = clean_lead(session, fields)
    wanted = _clean_watchers(session, watcher_ids) if watcher_ids is not None else None
    check_lead_changes(actor, lead, cleaned)
    if wanted is not None:
        current = set(session.exec(select(LeadWatcher.user_id).where(LeadWatcher.lead_id == lead.id)).all())
        for user_id in sorted(current ^ set(wanted)):
            check_watcher_change(actor, lead, user_id)
    changes = changes_of(lead, cleaned)
    check_consistency(session, lead)
    if changes:
        _refresh_search_text(session, lead)
        lead.updated_at = utcnow()
        record_event(session, "lead.updated", lead, actor=actor, lead_id=lead.id, payload={"changes": changes})
    if wanted is not None:
        for user_id in sorted(current - set(wanted)):
            remove_watcher(session, lead, user_id, actor=actor)
        for user_id in wanted:
            if user_id not in current:
                add_watcher(session, lead, user_id, actor=actor)
    return changes


def _clean_watchers(session: Session, user_ids: list[int]) -> list[int]:
    wanted = list(dict.fromkeys(int(u) for u in user_ids))
    if wanted:
        found = session.exec(select(User.id).where(col(User.id).in_(wanted), col(User.is_active).is_(True))).all()
        if len(set(found)) != len(wanted):
            raise ValidationError.single("watcher_ids", _l("Unknown user."))
    return wanted


def move_lead_to_stage(
    session: Session, lead: Lead, stage: Stage | str, *, actor: User | None = None, note: str = ""
) -> bool:
    require_editor(actor)
    new = clean_enum(Stage, stage, "stage")
    old = lead.stage
    if new == old:
        return False
    now = utcnow()
    lead.stage = new
    lead.stage_changed_at = now
    lead.updated_at = now
    record_event(
        session,
        "lead.stage_changed",
        lead,
        actor=actor,
        lead_id=lead.id,
        payload={
            "from": old,
            "to": new,
            "advanced": new.rank > old.rank >= 0,
            "note": clean_text(note, "note", max_length=2000, required=False),
        },
    )
    return True


def add_watcher(session: Session, lead: Lead, user_id: int, *, actor: User | None = None) -> bool:
    """Watch the lead (anyone who works on it), or make another user watch it (its managers)."""
    require_editor(actor)
    check_watcher_change(actor, lead, user_id)
    return _link_watcher(session, lead, user_id, actor=actor)


def _link_watcher(session: Session, lead: Lead, user_id: int, *, actor: User | None) -> bool:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationError.single("watcher_ids", _l("Unknown user."))
    if session.get(LeadWatcher, (lead.id, user_id)) is not None:
        return False
    session.add(LeadWatcher(lead_id=pk(lead), user_id=user_id))
    record_event(session, "lead.watcher_added", lead, actor=actor, lead_id=lead.id, payload={"user_id": user_id})
    return True


def remove_watcher(session: Session, lead: Lead, user_id: int, *, actor: User | None = None) -> bool:
    """Stop watching the lead (anyone), or stop another user watching it (its managers)."""
    require_editor(actor)
    check_watcher_change(actor, lead, user_id)
    link = session.get(LeadWatcher, (lead.id, user_id))
    if link is None:
        return False
    session.delete(link)
    record_event(session, "lead.watcher_removed", lead, actor=actor, lead_id=lead.id, payload={"user_id": user_id})
    return True


def log_activity(
    session: Session,
    lead: Lead,
    *,
    kind: ActivityKind | str,
    body: str,
    occurred_at: datetime | None = None,
    actor: User | None = None,
) -> Activity:
    require_editor(actor)
    when = ensure_utc(occurred_at) if occurred_at else utcnow()
    if when > utcnow():
        raise ValidationError.single("occurred_at", _l("An activity cannot be in the future."))
    activity = Activity(
        lead_id=pk(lead),
        kind=clean_enum(ActivityKind, kind, "kind"),
        body=clean_text(body, "body", max_length=50000),
        occurred_at=when,
        author_id=getattr(actor, "id", None),
    )
    session.add(activity)
    if lead.last_activity_at is None or when > lead.last_activity_at:
        lead.last_activity_at = when
    record_event(
        session,
        "activity.logged",
        activity,
        actor=actor,
        lead_id=lead.id,
        payload={"kind": activity.kind, "occurred_at": jsonable(when), "body": activity.body[:500]},
    )
    return activity


def save_filter(session: Session, user: User, *, name: str, query: str) -> SavedFilter:
    """Keep the lead list's current query string under a name, for ``user`` only."""
    filter_name = clean_name(name, "name", max_length=120)
    clean_query = clean_text(query, "query", max_length=2000, required=False)
    taken = session.exec(
        select(SavedFilter.id).where(SavedFilter.user_id == user.id, SavedFilter.name == filter_name)
    ).first()
    if taken is not None:
        raise ValidationError.single("name", _l("You already have a filter with this name."))
    saved = SavedFilter(user_id=pk(user), name=filter_name, query=clean_query)
    session.add(saved)
    record_event(
        session, "saved_filter.created", saved, actor=user, payload={"name": filter_name, "query": clean_query}
    )
    return saved


def delete_saved_filter(session: Session, saved: SavedFilter, *, actor: User) -> None:
    """A saved filter is its user's (and the administrators') to delete."""
    if not owner_or_admin(actor, saved.user_id):
        raise PermissionDenied("not your saved filter", message=_l("Only its owner or an administrator can delete it."))
    record_event(session, "saved_filter.deleted", saved, actor=actor, payload={"name": saved.name})
    session.delete(saved)


def delete_lead(session: Session, lead: Lead, *, actor: User) -> None:
    """Delete the lead with its follow-ups (their reminders stop), activities and watchers.
    Its events stay: the activity log keeps who did what, and ``lead.deleted`` keeps what
    the lead was (and whether it was confidential, which decides who may hear of it)."""
    from crm.followups.models import FollowUp, FollowUpStatus

    check_lead_deletion(actor, lead)
    lead_id = pk(lead)
    open_followups = session.exec(
        select(sa_func.count()).where(FollowUp.lead_id == lead_id, FollowUp.status == FollowUpStatus.OPEN)
    ).one()
    watchers = sorted(int(u) for u in session.exec(select(LeadWatcher.user_id).where(LeadWatcher.lead_id == lead_id)))
    record_event(
        session,
        "lead.deleted",
        lead,
        actor=actor,
        lead_id=lead_id,
        payload={
            "title": lead.title,
            "stage": lead.stage,
            "owner_id": lead.owner_id,
            "ma_organisation_id": lead.ma_organisation_id,
            "us_organisation_id": lead.us_organisation_id,
            "estimated_value": lead.estimated_value,
            "currency": lead.currency,
            "confidential": lead.confidential,
            "watcher_ids": watchers,
            "open_followups": open_followups,
        },
    )
    session.flush()
    session.expunge(lead)
    # The database removes what hangs from the lead (ON DELETE CASCADE).
    session.execute(sa_delete(Lead).where(col(Lead.id) == lead_id))
