"""The lead list's filters and sort order, read from (and written back to) a query string.

Only allow-listed parameters and sort columns are read, so a bookmarked or saved URL
can never inject a column name or an unbounded value into a query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlmodel import col, exists, func
from werkzeug.datastructures import MultiDict

from crm.accounts.models import User
from crm.core.db import parse_id
from crm.core.time import local_day_bounds, to_local
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Lead, PartnershipType, Stage

SORTS = ("updated", "title", "stage", "value", "next_due", "owner")
# The parameters a lead list URL may carry (``page`` is kept apart: a saved filter has none).
PARAMS = ("stage", "sector", "type", "ma", "us", "owner", "mission", "overdue", "due", "sort", "order")


@dataclass(frozen=True)
class LeadFilter:
    stages: tuple[Stage, ...] = ()
    sector_id: int | None = None
    partnership_type: PartnershipType | None = None
    ma_organisation_id: int | None = None
    us_organisation_id: int | None = None
    owner_id: int | None = None
    mission_id: int | None = None
    overdue: bool = False
    due_this_week: bool = False
    sort: str = "updated"
    descending: bool = True

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (sorting does not)."""
        return self != replace(LeadFilter(), sort=self.sort, descending=self.descending)

    def query_string(self) -> str:
        """The canonical query string of this filter (what a saved filter keeps)."""
        pairs = self.filter_pairs()
        if self.sort != "updated" or not self.descending:
            pairs.append(("sort", self.sort))
            pairs.append(("order", "desc" if self.descending else "asc"))
        return urlencode(pairs)

    def filter_pairs(self) -> list[tuple[str, str]]:
        """The filter's parameters without its order (what a sort control carries along)."""
        pairs: list[tuple[str, str]] = [("stage", s.value) for s in self.stages]
        for key, value in (
            ("sector", self.sector_id),
            ("type", self.partnership_type.value if self.partnership_type else None),
            ("ma", self.ma_organisation_id),
            ("us", self.us_organisation_id),
            ("owner", self.owner_id),
            ("mission", self.mission_id),
            ("overdue", "1" if self.overdue else None),
            ("due", "week" if self.due_this_week else None),
        ):
            if value is not None:
                pairs.append((key, str(value)))
        return pairs

    def sorted_by(self, column: str) -> str:
        """The query string that sorts by ``column`` (toggling the order if already so)."""
        descending = not self.descending if column == self.sort else column in ("updated", "value")
        return replace(self, sort=column, descending=descending).query_string()


def parse_filter(args: Any, user: User | None = None) -> LeadFilter:
    """A filter from request args (a MultiDict); unknown or malformed values are ignored."""
    stages = tuple(dict.fromkeys(Stage(s) for s in args.getlist("stage") if s in Stage._value2member_map_))
    kind = args.get("type")
    owner = args.get("owner")
    owner_id = user.id if owner == "me" and user is not None else parse_id(owner)
    sort = args.get("sort") if args.get("sort") in SORTS else "updated"
    order = args.get("order")
    descending = order != "asc" if order in ("asc", "desc") else sort in ("updated", "value")
    return LeadFilter(
        stages=stages,
        sector_id=parse_id(args.get("sector")),
        partnership_type=PartnershipType(kind) if kind in PartnershipType._value2member_map_ else None,
        ma_organisation_id=parse_id(args.get("ma")),
        us_organisation_id=parse_id(args.get("us")),
        owner_id=owner_id,
        mission_id=parse_id(args.get("mission")),
        overdue=args.get("overdue") in ("1", "on", "true"),
        due_this_week=args.get("due") == "week",
        sort=sort,
        descending=descending,
    )


def args_from_query(query: str) -> MultiDict[str, str]:
    """Request-like args from a stored or posted query string (bounded in size)."""
    return MultiDict(parse_qsl(query[:2000])[:100])


def week_bounds(now: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """UTC instants of Monday 00:00 of the current week and of the next, in ``zone_name``."""
    today = to_local(now, zone_name).date()
    monday = today - timedelta(days=today.weekday())
    start, _ = local_day_bounds(monday, zone_name)
    end, _ = local_day_bounds(monday + timedelta(days=7), zone_name)
    return start, end


def _has_open_followup(*conditions: Any) -> Any:
    return exists().where(
        col(FollowUp.lead_id) == col(Lead.id), col(FollowUp.status) == FollowUpStatus.OPEN, *conditions
    )


def filter_conditions(f: LeadFilter, *, now: datetime, zone_name: str) -> list[Any]:
    """SQL conditions on ``Lead`` for ``f``; "this week" is the viewer's week in ``zone_name``."""
    found: list[Any] = []
    if f.stages:
        found.append(col(Lead.stage).in_(f.stages))
    for column, value in (
        (Lead.sector_id, f.sector_id),
        (Lead.partnership_type, f.partnership_type),
        (Lead.ma_organisation_id, f.ma_organisation_id),
        (Lead.us_organisation_id, f.us_organisation_id),
        (Lead.owner_id, f.owner_id),
        (Lead.mission_id, f.mission_id),
    ):
        if value is not None:
            found.append(col(column) == value)
    if f.overdue:
        found.append(_has_open_followup(col(FollowUp.due_at) < now))
    if f.due_this_week:
        start, end = week_bounds(now, zone_name)
        found.append(_has_open_followup(col(FollowUp.due_at) >= start, col(FollowUp.due_at) < end))
    return found


# The sorts whose column may be empty: empty values come last, whichever the direction.
NULLABLE_SORTS = ("value", "next_due")


def sort_key(f: LeadFilter, owner_name: Any) -> Any:
    """The allow-listed sort column of ``f`` as SQL: each one an index walk on the leads
    (the stage's rank and the next follow-up are stored for it), except the owner's name,
    which comes from the users (crm.leads.queries walks the leads owner by owner)."""
    return {
        "updated": col(Lead.updated_at),
        "title": func.lower(col(Lead.title)),
        "stage": col(Lead.stage_rank),
        "value": col(Lead.estimated_value),
        "next_due": col(Lead.next_due_at),
        "owner": func.lower(owner_name),
    }[f.sort]


def ordering(f: LeadFilter, key: Any, tie: Any) -> list[Any]:
    """ORDER BY ``key`` in ``f``'s direction (empty values last), ties broken by ``tie``."""
    primary = key.desc() if f.descending else key.asc()
    if f.sort in NULLABLE_SORTS:
        primary = primary.nulls_last()
    return [primary, tie.desc() if f.descending else tie.asc()]


def order_by(f: LeadFilter, owner_name: Any) -> list[Any]:
    """ORDER BY clauses for the allow-listed sort column, ties broken by id."""
    return ordering(f, sort_key(f, owner_name), col(Lead.id))


__all__ = [
    "NULLABLE_SORTS",
    "PARAMS",
    "SORTS",
    "LeadFilter",
    "args_from_query",
    "filter_conditions",
    "order_by",
    "ordering",
    "parse_filter",
    "sort_key",
    "week_bounds",
]
