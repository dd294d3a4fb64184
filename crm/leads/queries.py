"""Reads about leads, always through the viewer's visibility rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, or_, select

from crm.accounts.models import Role, User
from crm.core.counting import bounded_count, count_column, count_of, exact_limit
from crm.core.i18n import current_language, pick_name
from crm.core.keyset import Key, Listing, WalkedKey, listed, ranged, window
from crm.core.time import utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.filters import NULLABLE_SORTS, LeadFilter, filter_conditions, sort_key
from crm.leads.models import Activity, Lead, LeadWatcher, SavedFilter, Stage
from crm.leads.owner_walk import owner_name, owner_walk
from crm.missions.models import Meeting, Mission
from crm.organisations.models import Country, Organisation
from crm.reference.models import Sector


def visible_to(user: User) -> Any:
    """A condition on ``Lead``: confidential leads only for their owner, watchers and admins.

    The leads the user watches are one uncorrelated subquery (read once per query), not an
    ``EXISTS`` per lead: PostgreSQL runs both as one hashed lookup, but costs the ``EXISTS``
    as if it ran for every lead, which made every officer's query on the leads look
    expensive enough to be JIT-compiled (about a second, for a query of some 30 ms)."""
    if user.role == Role.ADMIN:
        return True
    return visible_to_viewer(user.id)


def visible_to_viewer(viewer: Any) -> Any:
    """:func:`visible_to` for a user who is not an administrator, named by ``viewer``: their
    id, or a bind parameter (a statement built once and run for whoever asks)."""
    watched = select(LeadWatcher.lead_id).where(LeadWatcher.user_id == viewer)
    return or_(col(Lead.confidential).is_(False), Lead.owner_id == viewer, col(Lead.id).in_(watched))


def sees_lead_of(user: User, lead_id: Any) -> Any:
    """A condition on rows hanging from a lead (``lead_id``: their column): ``user`` may see
    that lead (:func:`visible_to`), looked up for each row read through the lead's primary
    key.  A scalar subquery, which PostgreSQL never turns into a hash of every visible lead
    as it did a join or an ``EXISTS`` whenever it expected to read many rows: a page (or a
    bounded count) then read the whole lead table before its first row, 25-45 ms at
    100,000 leads.  A missing lead is seen by nobody."""
    if user.role == Role.ADMIN:
        return sa.true()
    return select(visible_to_viewer(user.id)).where(col(Lead.id) == lead_id).scalar_subquery()


def can_see(session: Session, user: User, lead: Lead) -> bool:
    if user.role == Role.ADMIN or not lead.confidential or lead.owner_id == user.id:
        return True
    return session.get(LeadWatcher, (lead.id, user.id)) is not None


class _Names(NamedTuple):
    name_ar: str | None
    name_fr: str | None
    name_en: str | None


@dataclass(slots=True)
class LeadRow:
    """One lead as the list shows it, as plain values (no ORM objects: building a page's
    leads, organisations, owners and sectors cost more than writing them), with the names
    already picked in the reader's language."""

    id: int
    title: str
    stage: Stage
    confidential: bool
    estimated_value: Decimal | None
    currency: Any
    updated_at: datetime
    next_due_at: datetime | None
    sector: str | None  # its name; None without a sector
    ma_name: str
    ma_short: str
    us_short: str
    owner: str


def _conditions(user: User, lead_filter: LeadFilter | None, now: datetime | None) -> list[Any]:
    found = [visible_to(user)]
    if lead_filter is not None:
        found += filter_conditions(lead_filter, now=now or utcnow(), zone_name=user.timezone)
    return found


lead_conditions = _conditions  # for the board's reads (crm.leads.cards)


@cache
def _row_query() -> Any:
    """The columns a list's row shows (:class:`LeadRow`, read by :func:`_lead_row`), built
    once: a statement is immutable, and building this one (its aliased organisations'
    columns above all) cost more than a tenth of a list's page."""
    ma = aliased(Organisation)
    us = aliased(Organisation)
    return (
        select(  # type: ignore[call-overload]
            col(Lead.id),
            col(Lead.title),
            col(Lead.stage),
            col(Lead.confidential),
            col(Lead.estimated_value),
            col(Lead.currency),
            col(Lead.updated_at),
            col(Lead.next_due_at),
            col(Sector.id),
            col(Sector.name_ar),
            col(Sector.name_fr),
            col(Sector.name_en),
            col(ma.name_ar),
            col(ma.name_fr),
            col(ma.name_en),
            col(ma.acronym),
            col(us.name_ar),
            col(us.name_fr),
            col(us.name_en),
            col(us.acronym),
            col(User.name),
            col(User.email),
        )
        .select_from(Lead)
        .join(ma, col(ma.id) == col(Lead.ma_organisation_id))
        .join(us, col(us.id) == col(Lead.us_organisation_id))
        .join(User, col(User.id) == col(Lead.owner_id))
        .outerjoin(Sector, col(Sector.id) == col(Lead.sector_id))
    )


def _lead_row(row: Any, language: str) -> LeadRow:
    """A row of :func:`_row_query` as the list shows it (names as the models pick them:
    ``pick_name``, an acronym for the short name when there is one, a user's name or email)."""
    ma_name = pick_name(_Names(*row[12:15]), language)
    us_name = pick_name(_Names(*row[16:19]), language)
    return LeadRow(
        id=row[0],
        title=row[1],
        stage=row[2],
        confidential=row[3],
        estimated_value=row[4],
        currency=row[5],
        updated_at=row[6],
        next_due_at=row[7],
        sector=None if row[8] is None else pick_name(_Names(*row[9:12]), language),
        ma_name=ma_name,
        ma_short=row[15] or ma_name,
        us_short=row[19] or us_name,
        owner=row[20] or row[21],
    )


LeadWindow = Listing[LeadRow]


def lead_key(f: LeadFilter) -> Key:
    """The list's order as a keyset key."""
    return Key(sort_key(f, owner_name()), col(Lead.id), f.descending, nullable=f.sort in NULLABLE_SORTS)


def lead_window(
    session: Session,
    user: User,
    *,
    cursor: str | None = None,
    per_page: int = 50,
    lead_filter: LeadFilter | None = None,
    now: datetime | None = None,
) -> LeadWindow:
    """One page of visible leads with what the list shows, in one query whatever the
    size: the page (by keyset, :mod:`crm.core.keyset`) and, as a column of it, a count
    that reads at most the bound's rows.  A cursor not issued here raises :class:`BadCursor`.

    The page's ids are found from the lead table alone (walking the sort column's index)
    and numbered in order there; only its rows are then joined to what a list shows.
    Sorting the joined rows instead carried every matching lead's organisations, owner and
    sector through the sort."""
    conditions = _conditions(user, lead_filter, now)
    # The count travels with the page: a column of its statement (read once per statement).
    counted = select(col(Lead.id)).where(*conditions)
    bound = exact_limit()
    total = count_column(counted, bound + 1)
    f = lead_filter or LeadFilter()
    key = lead_key(f)
    by_owner = f.sort == "owner" and session.get_bind().dialect.name == "postgresql"
    if by_owner:
        key = WalkedKey(key.column, key.tie, key.descending)

    def fetch(condition: Any, order: list[Any], n: int) -> list[Any]:
        if by_owner:
            page = owner_walk(conditions, condition, order, n)
        else:
            ids: Any = select(col(Lead.id).label("lead_id"), key.column.label("sort_key")).where(*conditions)
            if f.sort == "owner":
                # Every lead has its owner: an outer join keeps the scan on the leads (SQLite
                # would otherwise read them owner by owner through the index, some ten times slower).
                ids = ids.outerjoin(User, col(User.id) == col(Lead.owner_id))
            page = ranged(ids, condition, order, n).subquery("page")
        query = (
            _row_query().add_columns(total, page.c.sort_key).join(page, page.c.lead_id == Lead.id).order_by(page.c.n)
        )
        return list(session.connection().execute(query).all())

    order = f"-{f.sort}" if f.descending else f.sort  # a cursor serves the order it was made in
    found = window(fetch, key, order, cursor=cursor, limit=per_page, position_of=lambda row: (row[-1], row[0]))
    if found.rows:
        count = count_of(session, int(found.rows[0].list_total), counted, bound)
    else:  # an empty page (past the end, say) says nothing of the list's size
        count = bounded_count(session, counted, bound)
    language = current_language()
    return listed(found, count, [_lead_row(row, language) for row in found.rows])


def visible_lead(session: Session, user: User, lead_id: int) -> Lead | None:
    """The lead if it exists and ``user`` may see it (callers answer 404 otherwise)."""
    lead = session.get(Lead, lead_id)
    if lead is None or not can_see(session, user, lead):
        return None
    return lead


@dataclass
class LeadDetail:
    lead: Lead
    ma_organisation: Organisation
    us_organisation: Organisation
    owner: User
    sector: Sector | None
    mission: Mission | None
    meeting: Meeting | None
    watchers: list[User]
    open_followups: list[tuple[FollowUp, User]]
    done_followups: list[tuple[FollowUp, User]]


def lead_detail(session: Session, lead: Lead) -> LeadDetail:
    """Everything the lead page shows except the timeline, in four queries."""
    ma = aliased(Organisation)
    us = aliased(Organisation)
    head = session.exec(
        select(ma, us, User, Sector, Mission, Meeting)  # type: ignore[call-overload]
        .select_from(Lead)
        .join(ma, ma.id == Lead.ma_organisation_id)
        .join(us, us.id == Lead.us_organisation_id)
        .join(User, User.id == Lead.owner_id)  # type: ignore[arg-type]
        .outerjoin(Sector, Sector.id == Lead.sector_id)  # type: ignore[arg-type]
        .outerjoin(Mission, Mission.id == Lead.mission_id)  # type: ignore[arg-type]
        .outerjoin(Meeting, Meeting.id == Lead.meeting_id)  # type: ignore[arg-type]
        .where(Lead.id == lead.id)
    ).one()
    watchers = session.exec(
        select(User)
        .join(LeadWatcher, col(LeadWatcher.user_id) == col(User.id))
        .where(LeadWatcher.lead_id == lead.id)
        .order_by(col(User.name), col(User.email))
    ).all()
    followups = session.exec(
        select(FollowUp, User)
        .join(User, col(User.id) == col(FollowUp.owner_id))
        .where(FollowUp.lead_id == lead.id, FollowUp.status != FollowUpStatus.CANCELLED)
        .order_by(col(FollowUp.due_at), col(FollowUp.id))
    ).all()
    ma_org, us_org, owner, sector, mission, meeting = head
    return LeadDetail(
        lead=lead,
        ma_organisation=ma_org,
        us_organisation=us_org,
        owner=owner,
        sector=sector,
        mission=mission,
        meeting=meeting,
        watchers=list(watchers),
        open_followups=[(f, u) for f, u in followups if f.status == FollowUpStatus.OPEN],
        done_followups=[(f, u) for f, u in followups if f.status == FollowUpStatus.DONE][::-1],
    )


@dataclass
class Choices:
    """The rows that filter bars and lead forms offer as choices (five queries, six with meetings)."""

    ma_organisations: list[Organisation]
    us_organisations: list[Organisation]
    sectors: list[Sector]
    officers: list[User]
    users: list[User]
    missions: list[Mission]
    meetings: list[Meeting]


def choices(session: Session, *, with_meetings: bool = False) -> Choices:
    orgs = session.exec(
        select(Organisation)
        .where(col(Organisation.country).in_((Country.MA, Country.US)))
        .order_by(func.coalesce(Organisation.acronym, Organisation.name_en, Organisation.name_fr), col(Organisation.id))
    ).all()
    sectors = session.exec(select(Sector).order_by(col(Sector.position), col(Sector.code))).all()
    users = active_users(session)
    missions = session.exec(select(Mission).order_by(col(Mission.starts_on).desc())).all()
    return Choices(
        ma_organisations=[o for o in orgs if o.country == Country.MA],
        us_organisations=[o for o in orgs if o.country == Country.US],
        sectors=list(sectors),
        officers=[u for u in users if u.can_edit()],
        users=list(users),
        missions=list(missions),
        meetings=list(session.exec(select(Meeting).order_by(col(Meeting.starts_at).desc())).all())
        if with_meetings
        else [],
    )


def active_users(session: Session) -> list[User]:
    """The active users by name: those a lead or follow-up can be given to, or watched by."""
    return list(
        session.exec(select(User).where(col(User.is_active).is_(True)).order_by(col(User.name), col(User.email))).all()
    )


def saved_filters(session: Session, user: User) -> list[SavedFilter]:
    return list(session.exec(select(SavedFilter).where(SavedFilter.user_id == user.id).order_by(col(SavedFilter.name))))


@dataclass(frozen=True)
class LeadHoldings:
    """What goes with a lead when it is deleted."""

    open_followups: int
    followups: int
    activities: int
    watchers: int


def lead_holdings(session: Session, lead_id: int) -> LeadHoldings:
    def count(model: Any, *where: Any) -> int:
        return int(session.exec(select(func.count()).select_from(model).where(*where)).one())

    return LeadHoldings(
        open_followups=count(FollowUp, FollowUp.lead_id == lead_id, FollowUp.status == FollowUpStatus.OPEN),
        followups=count(FollowUp, FollowUp.lead_id == lead_id),
        activities=count(Activity, Activity.lead_id == lead_id),
        watchers=count(LeadWatcher, LeadWatcher.lead_id == lead_id),
    )
