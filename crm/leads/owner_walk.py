"""The lead list sorted by owner, on PostgreSQL: owner by owner in the order of their names,
each owner's leads read by id through the ``(owner_id, id)`` index, so a page reads about a
page of leads (and the users) whatever the number of leads.

The order is the list's own, ``(owner's name, lead id)``: two owners of the same name have
their leads interleaved by id.  Each owner gives at most a page of leads past the position,
and the page is the first of all these in that order, so no lead of the page can be
missing.  Sorting every visible lead by its owner's name instead (a join and a sort of the
whole table) took about a second at a million leads.

SQLite has no ``LATERAL``: there the list joins the owners and sorts (crm.leads.queries)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlmodel import col, func, select

from crm.accounts.models import User
from crm.core.keyset import Position
from crm.leads.models import Lead

# Greater than any lead id: the bound of an owner whose leads are read from the first.
_BEYOND_IDS = 2**62


def owner_name() -> Any:
    """The name the list shows and sorts owners by (their email when they have none)."""
    return func.coalesce(func.nullif(col(User.name), ""), col(User.email))


def owner_walk(conditions: list[Any], position: Position | None, order: list[Any], n: int) -> Any:
    """The page's ``(lead_id, sort_key, n)`` as a subquery: the first ``n`` leads meeting
    ``conditions`` past ``position`` (from the start without one) in ``order`` (one of
    the owner key's orders, whose last clause, on the lead id, gives the direction)."""
    down = getattr(order[-1], "modifier", None) is operators.desc_op
    key = func.lower(owner_name())
    lead_id = col(Lead.id)
    owners: Any = select(col(User.id).label("id"), key.label("sort_key"))
    if position is not None:
        owners = owners.where(key <= position.value if down else key >= position.value)
    # Ordered here, so that the owners' leads come out in the order of their names and the
    # page's sort (of each owner's leads by id) stops at the page's last owner.
    owners = owners.order_by(key.desc() if down else key.asc()).subquery("owners")
    leads: list[Any] = []
    if position is not None:
        # Owners past the position's name give all their leads; those of its name only the
        # leads past its id (one bound, so the index scan starts there).
        far = sa.literal(_BEYOND_IDS if down else 0, sa.BigInteger)
        bound = sa.case((owners.c.sort_key == position.value, sa.literal(position.ident, sa.BigInteger)), else_=far)
        leads.append(lead_id < bound if down else lead_id > bound)
    walk = (
        select(lead_id.label("lead_id"))
        .where(col(Lead.owner_id) == owners.c.id, *conditions, *leads)
        .order_by(lead_id.desc() if down else lead_id.asc())
        .limit(n)
        .lateral("walk")
    )
    ordered = [owners.c.sort_key.desc(), walk.c.lead_id.desc()] if down else [owners.c.sort_key, walk.c.lead_id]
    return (
        select(walk.c.lead_id, owners.c.sort_key, func.row_number().over(order_by=ordered).label("n"))
        .select_from(owners)
        .join(walk, sa.true())
        .order_by(*ordered)
        .limit(n)
        .subquery("page")
    )
