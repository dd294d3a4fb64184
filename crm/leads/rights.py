"""Rights over a lead beyond working on it, in one place.

Any officer who may see a lead works on it: its title, stage, value, organisations,
follow-ups and notes, and whether they themselves watch it.  Reassigning it, making it
confidential or not, choosing its other watchers and deleting it belong to its managers:
its owner, the owner's supervisor and the administrators.  The operations check this
where the data changes, so the pages, the API, imports and the command line all follow
the same rule; the pages also ask it to offer only what the user may change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import object_session

from crm.accounts.models import User
from crm.accounts.permissions import is_admin
from crm.core.errors import PermissionDenied
from crm.core.i18n import lazy_gettext as _l
from crm.leads.models import Lead

REASSIGN = _l("Only the lead's owner, their supervisor or an administrator can give it another owner.")
CONFIDENTIALITY = _l("Only the lead's owner, their supervisor or an administrator can make it confidential or not.")
OTHER_WATCHERS = _l(
    "Only the lead's owner, their supervisor or an administrator can add or remove watchers other than you."
)
DELETE = _l("Only the lead's owner, their supervisor or an administrator can delete it.")
REASSIGN_FOLLOWUP = _l(
    "Only the follow-up's owner, the lead's owner, their supervisor or an administrator can give it to someone else."
)
# The lead's fields only its managers change, with what a refusal says.
MANAGED_FIELDS = {"owner_id": REASSIGN, "confidential": CONFIDENTIALITY}


def _owner(lead: Lead) -> User | None:
    session = object_session(lead)
    return session.get(User, lead.owner_id) if session is not None else None


def may_manage_lead(user: User | None, lead: Lead, *, owner: User | None = None) -> bool:
    """Whether ``user`` is one of the lead's managers (``None`` is Jisr itself); ``owner``
    is the lead's owner when the caller has it at hand (else it is read)."""
    if user is None:
        return True
    if not user.can_edit() or not user.is_active:
        return False
    if is_admin(user) or lead.owner_id == user.id:
        return True
    owner = owner if owner is not None and owner.id == lead.owner_id else _owner(lead)
    return owner is not None and owner.supervisor_id is not None and owner.supervisor_id == user.id


def refused_field(actor: User | None, lead: Lead, changes: dict[str, Any]) -> str | None:
    """The first managed field that ``changes`` (cleaned values) would change and ``actor``
    may not; setting a field to its current value changes nothing and is never refused."""
    wanted = [name for name in MANAGED_FIELDS if name in changes and changes[name] != getattr(lead, name)]
    if not wanted or may_manage_lead(actor, lead):
        return None
    return wanted[0]


def check_lead_changes(actor: User | None, lead: Lead, changes: dict[str, Any]) -> None:
    refused = refused_field(actor, lead, changes)
    if refused is not None:
        raise PermissionDenied(f"not a manager of the lead: {refused}", message=MANAGED_FIELDS[refused], field=refused)


def check_watcher_change(actor: User | None, lead: Lead, user_id: int) -> None:
    """Anyone who works on the lead watches it or stops; the others' watching is its managers'."""
    if actor is not None and user_id != actor.id and not may_manage_lead(actor, lead):
        raise PermissionDenied("not a manager of the lead: watchers", message=OTHER_WATCHERS, field="watcher_ids")


def check_lead_deletion(actor: User | None, lead: Lead) -> None:
    if actor is not None and not may_manage_lead(actor, lead):
        raise PermissionDenied("not a manager of the lead: delete", message=DELETE)


def may_reassign_followup(user: User | None, followup_owner_id: int, lead: Lead) -> bool:
    """A follow-up is given to someone else by its owner or by the lead's managers."""
    if user is not None and user.can_edit() and user.id == followup_owner_id:
        return True
    return may_manage_lead(user, lead)


def check_followup_reassignment(actor: User | None, followup_owner_id: int, lead: Lead) -> None:
    if not may_reassign_followup(actor, followup_owner_id, lead):
        raise PermissionDenied("not the follow-up's owner", message=REASSIGN_FOLLOWUP, field="owner_id")


ACT_ON_FOLLOWUP = _l(
    "Only the follow-up's owner, the lead's owner, their supervisor or an administrator can close or snooze it here."
)


def check_followup_action(actor: User | None, followup_owner_id: int, lead: Lead) -> None:
    """Closing or snoozing a follow-up from one's day (Today): its owner or the lead's managers."""
    if not may_reassign_followup(actor, followup_owner_id, lead):
        raise PermissionDenied("not the follow-up's owner", message=ACT_ON_FOLLOWUP)
