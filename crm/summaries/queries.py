"""Reading the summaries within a viewer's visibility.

An officer sees the non-confidential leads, the confidential ones they own and the
confidential ones they watch (:func:`crm.leads.queries.visible_to`).  The tallies give
the first two (rows not confidential, or confidential with the officer as owner); the
third, a handful of leads, is read live from the leads the officer watches and does not
own.  Administrators see every row.  Each reading is one query whatever the data's size:
a tally has a row per combination of its key, not per lead."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, or_, select

from crm.accounts.models import Role, User
from crm.core.events import Event
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.filters import LeadFilter
from crm.leads.models import Lead, LeadWatcher
from crm.summaries.models import DueTally, LeadTally, MoveTally
from crm.summaries.sync import hour_of


def summarisable(lead_filter: LeadFilter | None) -> bool:
    """Whether the tally answers for this filter: it narrows by stage, sector, Moroccan
    organisation or owner only (the others need the leads themselves)."""
    if lead_filter is None:
        return True
    rest = replace(lead_filter, stages=(), sector_id=None, ma_organisation_id=None, owner_id=None)
    return not rest.active


def _is_admin(user: User) -> bool:
    return user.role == Role.ADMIN


def _watched_not_owned(user: User) -> list[Any]:
    """Conditions on ``Lead``: the confidential leads ``user`` watches but does not own."""
    return _watched_not_owned_by(user.id)


def _watched_not_owned_by(viewer: Any) -> list[Any]:
    watched = select(LeadWatcher.lead_id).where(col(LeadWatcher.user_id) == viewer)
    return [col(Lead.confidential).is_(True), col(Lead.owner_id) != viewer, col(Lead.id).in_(watched)]


def _counted_for(user: User, confidential: Any, owner: Any) -> Any:
    """The tally rows (or leads) ``user`` sees without watching: all for an admin."""
    return _seen_by(_is_admin(user), user.id, confidential, owner)


def _seen_by(admin: bool, viewer: Any, confidential: Any, owner: Any) -> Any:
    if admin:
        return sa.true()
    return or_(sa.not_(confidential), owner == viewer)


def lead_rows(user: User, lead_filter: LeadFilter | None = None) -> Any:
    """The lead tally as ``user`` sees it, narrowed by ``lead_filter``'s stage, sector,
    organisation and owner: a subquery of tally rows and, for an officer, one row per
    confidential lead they watch without owning."""
    return _lead_rows(_is_admin(user), user.id, _narrowing_values(lead_filter))


# Statements over the lead tally, by what built them, the viewer's kind and the fields narrowed.
_BUILT: dict[tuple[Any, ...], Any] = {}


def over_lead_rows(
    build: Callable[[Any], Any], user: User, lead_filter: LeadFilter | None = None
) -> tuple[Any, dict[str, Any]]:
    """The statement ``build`` makes over :func:`lead_rows`, and the parameters it runs
    with.  It is built once per process for each kind of viewer (administrator or not) and
    each set of narrowed fields, the viewer and the narrowing values bound when it runs:
    building the statement cost more than running it.  ``build`` is a module's function."""
    values = _narrowing_values(lead_filter)
    admin = _is_admin(user)
    key = (build, admin, tuple(sorted(values)))
    statement = _BUILT.get(key)
    if statement is None:
        bound: dict[str, Any] = {name: sa.bindparam(f"narrow_{name}", expanding=name == "stages") for name in values}
        statement = _BUILT.setdefault(key, build(_lead_rows(admin, sa.bindparam("viewer_id", type_=sa.Integer), bound)))
    return statement, {"viewer_id": user.id, **{f"narrow_{name}": value for name, value in values.items()}}


def _lead_rows(admin: bool, viewer: Any, narrowing: Mapping[str, Any]) -> Any:
    t = LeadTally
    tally: Any = select(  # type: ignore[call-overload]
        col(t.stage).label("stage"),
        col(t.currency).label("currency"),
        col(t.sector_id).label("sector_id"),
        col(t.ma_organisation_id).label("ma_organisation_id"),
        col(t.owner_id).label("owner_id"),
        col(t.leads).label("leads"),
        col(t.valued).label("valued"),
        col(t.value).label("value"),
        col(t.weighted_own).label("weighted_own"),
        col(t.value_default).label("value_default"),
    ).where(_seen_by(admin, viewer, col(t.confidential), col(t.owner_id)), *_narrowing(narrowing, t))
    if admin:
        return tally.subquery("tally")
    value = col(Lead.estimated_value)
    own = col(Lead.probability).is_not(None)
    watched = select(  # type: ignore[call-overload]
        sa.cast(col(Lead.stage), sa.String(32)),
        func.coalesce(sa.cast(col(Lead.currency), sa.String(3)), ""),
        func.coalesce(col(Lead.sector_id), 0),
        col(Lead.ma_organisation_id),
        col(Lead.owner_id),
        sa.literal(1, sa.Integer),
        sa.case((value.is_not(None), 1), else_=0),
        func.coalesce(value, 0),
        sa.case((own, func.coalesce(value * col(Lead.probability), 0)), else_=0),
        sa.case((own, 0), else_=func.coalesce(value, 0)),
    ).where(*_watched_not_owned_by(viewer), *_narrowing(narrowing, Lead))
    return sa.union_all(tally, watched).subquery("tally")


def _narrowing_values(lead_filter: LeadFilter | None) -> dict[str, Any]:
    """What ``lead_filter`` narrows the tally by: ``stages`` (their values), ``sector_id``,
    ``ma_organisation_id``, ``owner_id``; only those it sets."""
    if lead_filter is None:
        return {}
    found: dict[str, Any] = {}
    if lead_filter.stages:
        found["stages"] = [s.value for s in lead_filter.stages]
    for name, value in (
        ("sector_id", lead_filter.sector_id),
        ("ma_organisation_id", lead_filter.ma_organisation_id),
        ("owner_id", lead_filter.owner_id),
    ):
        if value is not None:
            found[name] = value
    return found


def _narrowing(values: Mapping[str, Any], model: Any) -> list[Any]:
    """Conditions on ``model`` (the tally or the leads) for :func:`_narrowing_values`' values
    (or bound parameters standing for them)."""
    found: list[Any] = []
    for name, value in values.items():
        if name == "stages":
            found.append(col(model.stage).in_(value))
        else:
            found.append(col(getattr(model, name)) == value)
    return found


def move_rows(user: User, bounds: list[datetime]) -> Any:
    """``(week, advanced, moves)`` rows for the stage moves between ``bounds`` (the
    weeks' starts and the last week's end, UTC), as ``user`` sees them.

    Whole hours come from the move tally; an hour that a bound cuts (a zone at :30 or
    :45 from UTC) is read live from the events, as are the moves of the confidential
    leads ``user`` watches without owning."""
    edges = _edges(bounds)
    ends = [edge + timedelta(hours=1) for edge in edges]
    return _moves(_is_admin(user), user.id, bounds, hour_of(bounds[0]), edges, ends)


def moves_statement(build: Callable[[Any], Any], user: User, bounds: list[datetime]) -> tuple[Any, dict[str, Any]]:
    """The statement ``build`` makes over :func:`move_rows`, and the parameters it runs
    with: built once per process for each kind of viewer and number of bounds and of
    hours cut, the viewer and the instants bound when it runs."""
    edges = _edges(bounds)
    statement = _moves_statement(build, _is_admin(user), len(bounds), len(edges))
    parameters: dict[str, Any] = {"viewer_id": user.id, "first_hour": hour_of(bounds[0])}
    parameters.update({f"bound_{i}": bound for i, bound in enumerate(bounds)})
    parameters.update({f"edge_{i}": edge for i, edge in enumerate(edges)})
    parameters.update({f"edge_end_{i}": edge + timedelta(hours=1) for i, edge in enumerate(edges)})
    return statement, parameters


@lru_cache(maxsize=16)
def _moves_statement(build: Callable[[Any], Any], admin: bool, bounds: int, edges: int) -> Any:
    bound = sa.bindparam
    return build(
        _moves(
            admin,
            bound("viewer_id", type_=sa.Integer),
            [bound(f"bound_{i}") for i in range(bounds)],
            bound("first_hour"),
            [bound(f"edge_{i}") for i in range(edges)],
            [bound(f"edge_end_{i}") for i in range(edges)],
        )
    )


def _edges(bounds: list[datetime]) -> list[datetime]:
    """The hours the bounds cut (none in a zone whole hours from UTC)."""
    return sorted({hour_of(b) for b in bounds if hour_of(b) != b})


def _moves(admin: bool, viewer: Any, bounds: list[Any], first_hour: Any, edges: list[Any], ends: list[Any]) -> Any:
    """:func:`move_rows` with values or bound parameters: ``edges`` the hours cut, ``ends``
    the ends of those hours."""
    weeks = len(bounds) - 1
    hour = col(MoveTally.hour)
    tally: Any = select(  # type: ignore[call-overload]
        sa.case(*((hour < bounds[i + 1], i) for i in range(weeks))).label("week"),
        col(MoveTally.advanced).label("advanced"),
        col(MoveTally.moves).label("moves"),
    ).where(
        hour >= first_hour,
        hour < bounds[-1],
        _seen_by(admin, viewer, col(MoveTally.confidential), col(MoveTally.owner_id)),
    )
    if edges:
        tally = tally.where(hour.not_in(edges))
    occurred = col(Event.occurred_at)
    live_week = sa.case(*((occurred < bounds[i + 1], i) for i in range(weeks)))
    advanced = Event.payload["advanced"].as_boolean()  # type: ignore[index]
    parts = [tally]

    def live(*where: Any) -> Any:
        return (
            select(live_week, advanced, sa.literal(1, sa.Integer))
            .join(Lead, col(Lead.id) == col(Event.lead_id))
            .where(Event.type == "lead.stage_changed", occurred >= bounds[0], occurred < bounds[-1], *where)
        )

    if edges:
        in_edge = or_(*(sa.and_(occurred >= e, occurred < end) for e, end in zip(edges, ends, strict=True)))
        parts.append(live(in_edge, _seen_by(admin, viewer, col(Lead.confidential), col(Lead.owner_id))))
    if not admin:
        parts.append(live(*_watched_not_owned_by(viewer)))
    if len(parts) == 1:
        return tally.subquery("moves")
    return sa.union_all(*parts).subquery("moves")


def overdue_rows(user: User, now: datetime, owner_id: int | None = None) -> Any:
    """``(owner_id, followups)`` rows for the open follow-ups due before ``now`` (of
    ``owner_id`` only, if given), as ``user`` sees them: the due tally's hours before the
    one ``now`` falls in, that hour's follow-ups read live, and the follow-ups of the
    confidential leads ``user`` watches without owning read live."""
    return _overdue(_is_admin(user), user.id, now, hour_of(now), owner_id)


def _overdue(admin: bool, viewer: Any, now: Any, current: Any, owner_id: Any | None) -> Any:
    """:func:`overdue_rows` for a viewer who is an administrator or not; the viewer's id,
    the instants and the owner may be values or bound parameters."""
    tally: Any = select(col(DueTally.owner_id).label("owner_id"), col(DueTally.followups).label("followups")).where(
        col(DueTally.hour) < current,
        _seen_by(admin, viewer, col(DueTally.confidential), col(DueTally.lead_owner_id)),
    )
    if owner_id is not None:
        tally = tally.where(col(DueTally.owner_id) == owner_id)

    def live(*where: Any) -> Any:
        query = (
            select(col(FollowUp.owner_id), sa.literal(1, sa.Integer))
            .join(Lead, col(Lead.id) == col(FollowUp.lead_id))
            .where(FollowUp.status == FollowUpStatus.OPEN, col(FollowUp.due_at) < now, *where)
        )
        return query if owner_id is None else query.where(col(FollowUp.owner_id) == owner_id)

    seen = _seen_by(admin, viewer, col(Lead.confidential), col(Lead.owner_id))
    parts = [
        tally,
        live(col(FollowUp.due_at) >= current, seen),
    ]
    if not admin:
        parts.append(live(*_watched_not_owned_by(viewer)))
    return sa.union_all(*parts).subquery("overdue")


def overdue_statement(build: Callable[[Any], Any], user: User, now: datetime) -> tuple[Any, dict[str, Any]]:
    """The statement ``build`` makes over :func:`overdue_rows` (every owner's), and the
    parameters it runs with: built once per process for administrators and once for the
    others, the viewer and the instants bound when it runs."""
    return _overdue_statement(build, _is_admin(user)), {
        "viewer_id": user.id,
        "cutoff": now,
        "cutoff_hour": hour_of(now),
    }


@lru_cache(maxsize=16)
def _overdue_statement(build: Callable[[Any], Any], admin: bool) -> Any:
    viewer = sa.bindparam("viewer_id", type_=sa.Integer)
    return build(_overdue(admin, viewer, sa.bindparam("cutoff"), sa.bindparam("cutoff_hour"), None))


@lru_cache(maxsize=2)
def _own_due_statement(admin: bool) -> Any:
    """The count of the viewer's own open follow-ups due before a cutoff, built once per
    process (the navigation asks on every page, and building the statement cost more than
    running it); the viewer, the cutoff and its hour are bound when it runs."""
    viewer = sa.bindparam("viewer_id", type_=sa.Integer)
    rows = _overdue(admin, viewer, sa.bindparam("cutoff"), sa.bindparam("cutoff_hour"), viewer)
    return select(func.coalesce(func.sum(rows.c.followups), 0))


def due_before(session: Session, user: User, cutoff: datetime) -> int:
    """The number of ``user``'s own open follow-ups due before ``cutoff`` that they may see."""
    statement = _own_due_statement(_is_admin(user))
    found = session.execute(statement, {"viewer_id": user.id, "cutoff": cutoff, "cutoff_hour": hour_of(cutoff)})
    return int(found.scalar_one())


def stage_counts(user: User, lead_filter: LeadFilter | None, conditions: list[Any]) -> Any:
    """``(stage, leads)`` per stage: from the lead tally when it answers for the filter,
    else counted over the leads meeting ``conditions`` (visibility and filter)."""
    if summarisable(lead_filter):
        rows = lead_rows(user, lead_filter)
        return select(rows.c.stage, func.sum(rows.c.leads)).group_by(rows.c.stage).having(func.sum(rows.c.leads) > 0)
    return select(Lead.stage, func.count()).where(*conditions).group_by(Lead.stage)  # type: ignore[call-overload]
