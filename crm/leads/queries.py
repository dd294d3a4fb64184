"""Reads about leads, always through the viewer's visibility rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, exists, func, or_, select

from crm.accounts.models import Role, User
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Lead, LeadWatcher
from crm.organisations.models import Organisation
from crm.reference.models import Sector


def visible_to(user: User) -> Any:
    """A condition on ``Lead``: confidential leads only for their owner, watchers and admins."""
    if user.role == Role.ADMIN:
        return True
    watching = exists().where(col(LeadWatcher.lead_id) == col(Lead.id), col(LeadWatcher.user_id) == user.id)
    return or_(col(Lead.confidential).is_(False), Lead.owner_id == user.id, watching)


def can_see(session: Session, user: User, lead: Lead) -> bool:
    if user.role == Role.ADMIN or not lead.confidential or lead.owner_id == user.id:
        return True
    return session.get(LeadWatcher, (lead.id, user.id)) is not None


@dataclass
class LeadRow:
    lead: Lead
    ma_organisation: Organisation
    us_organisation: Organisation
    owner: User
    sector: Sector | None
    next_due_at: Any


@dataclass
class LeadPage:
    rows: list[LeadRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def lead_page(session: Session, user: User, *, page: int = 1, per_page: int = 50) -> LeadPage:
    """One page of visible leads with what the list shows, in two queries whatever the size."""
    ma = aliased(Organisation)
    us = aliased(Organisation)
    next_due = (
        select(func.min(FollowUp.due_at))
        .where(FollowUp.lead_id == Lead.id, FollowUp.status == FollowUpStatus.OPEN)
        .correlate(Lead)
        .scalar_subquery()
    )
    condition = visible_to(user)
    total = session.exec(select(func.count()).select_from(Lead).where(condition)).one()
    page = max(1, page)
    query = (
        select(Lead, ma, us, User, Sector, next_due)  # type: ignore[call-overload]
        .join(ma, ma.id == Lead.ma_organisation_id)
        .join(us, us.id == Lead.us_organisation_id)
        .join(User, User.id == Lead.owner_id)  # type: ignore[arg-type]
        .outerjoin(Sector, Sector.id == Lead.sector_id)  # type: ignore[arg-type]
        .where(condition)
        .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    rows = [LeadRow(*row) for row in session.exec(query).all()]
    return LeadPage(rows=rows, total=total, page=page, per_page=per_page)
