"""Reads about leads, always through the viewer's visibility rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, or_, select

from crm.accounts.models import Role, User
from crm.core.counting import bounded_count
from crm.core.keyset import Key, Listing, WalkedKey, listed, ranged, window
from crm.core.time import ensure_utc, utcnow
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.filters import NULLABLE_SORTS, LeadFilter, filter_conditions, sort_key
from crm.leads.models import PIPELINE, Activity, Lead, LeadWatcher, SavedFilter, Stage
from crm.leads.owner_walk import owner_name, owner_walk
from crm.missions.models import Meeting, Mission
from crm.organisations.models import Country, Organisation
from crm.reference.models import Sector
from crm.summaries.queries import stage_counts


def visible_to(user: User) -> Any:
    """A condition on ``Lead``: confidential leads only for their owner, watchers and admins.

    The leads the user watches are one uncorrelated subquery (read once per query), not an
    ``EXISTS`` per lead: PostgreSQL runs both as one hashed lookup, but costs the ``EXISTS``
    as if it ran for every lead, which made every officer's query on the leads look
    expensive enough to be JIT-compiled (about a second, for a query of some 30 ms)."""
    if user.role == Role.ADMIN:
        return True
    watched = select(LeadWatcher.lead_id).where(LeadWatcher.user_id == user.id)
    return or_(col(Lead.confidential).is_(False), Lead.owner_id == user.id, col(Lead.id).in_(watched))


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


def _conditions(user: User, lead_filter: LeadFilter | None, now: datetime | None) -> list[Any]:
    found = [visible_to(user)]
    if lead_filter is not None:
        found += filter_conditions(lead_filter, now=now or utcnow(), zone_name=user.timezone)
    return found


def _row_query(*extra: Any) -> Any:
    ma = aliased(Organisation)
    us = aliased(Organisation)
    return (
        select(Lead, ma, us, User, Sector, col(Lead.next_due_at), *extra)  # type: ignore[call-overload]
        .join(ma, ma.id == Lead.ma_organisation_id)
        .join(us, us.id == Lead.us_organisation_id)
        .join(User, User.id == Lead.owner_id)  # type: ignore[arg-type]
        .outerjoin(Sector, Sector.id == Lead.sector_id)  # type: ignore[arg-type]
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
    """One page of visible leads with what the list shows, in two queries whatever the
    size: the page (by keyset, :mod:`crm.core.keyset`), and a count that reads at most
    the bound's rows.  A cursor not issued here raises :class:`BadCursor`.

    The page's ids are found from the lead table alone (walking the sort column's index)
    and numbered in order there; only its rows are then joined to what a list shows.
    Sorting the joined rows instead carried every matching lead's organisations, owner and
    sector through the sort."""
    conditions = _conditions(user, lead_filter, now)
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
        query = _row_query(page.c.sort_key).join(page, page.c.lead_id == Lead.id).order_by(page.c.n)
        return list(session.exec(query).all())

    order = f"-{f.sort}" if f.descending else f.sort  # a cursor serves the order it was made in
    found = window(fetch, key, order, cursor=cursor, limit=per_page, position_of=lambda row: (row[-1], row[0].id))
    count = bounded_count(session, select(col(Lead.id)).where(*conditions))
    return listed(found, count, [LeadRow(*row[:-1]) for row in found.rows])


@dataclass
class BoardColumn:
    stage: Stage
    rows: list[LeadRow] = field(default_factory=list)
    total: int = 0
    # The keyset of the next cards (see :func:`card_key`) when the column has more.
    after: str | None = None

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BOARD_STAGES = (*PIPELINE, Stage.ON_HOLD, Stage.CLOSED_NO_GO)
_CARD_KEY = re.compile(r"^(\d{1,20})\.(\d{1,12})$")


def card_key(lead: Lead) -> str:
    """A card's place in its column (newest update first, then highest id), for the
    "show more" link: the update time in microseconds and the id."""
    moment = ensure_utc(lead.updated_at)
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{lead.id}"


def parse_card_key(text: str | None) -> tuple[datetime, int] | None:
    """The (updated_at, id) of a :func:`card_key`, or None for anything else."""
    found = _CARD_KEY.match(text or "")
    if found is None:
        return None
    try:
        return EPOCH + timedelta(microseconds=int(found.group(1))), int(found.group(2))
    except OverflowError:
        return None


def board_columns(
    session: Session,
    user: User,
    *,
    lead_filter: LeadFilter | None = None,
    per_column: int = 50,
    now: datetime | None = None,
    stage: Stage | None = None,
    after: tuple[datetime, int] | None = None,
) -> list[BoardColumn]:
    """One column per stage with its most recently updated visible leads, in two queries
    (one when no lead is visible).  The columns' counts come from the lead tally when the
    filter narrows only by what it keeps (:mod:`crm.summaries`), else from the leads.

    With ``stage``, only that column's next cards after the keyset ``after`` (a "show
    more"), in one query and without a count: ``after`` is set when more follow."""
    conditions = _conditions(user, lead_filter, now)
    if stage is not None:
        return [_more_cards(session, stage, conditions, per_column, after)]
    columns = {stage: BoardColumn(stage) for stage in BOARD_STAGES}
    counts = session.execute(stage_counts(user, lead_filter, conditions)).all()
    for stage_value, count in counts:
        columns[Stage(stage_value)].total = int(count)
    # Each column's newest leads read through the (stage, updated_at) index, one stage at a
    # time (only the stages that have leads): numbering every visible lead per stage and
    # keeping the first ones sorted the whole table.
    latest = [_newest(column.stage, conditions, per_column) for column in columns.values() if column.total]
    if not latest:
        return list(columns.values())
    for lead_row in _cards(session, latest):
        columns[lead_row.lead.stage].rows.append(lead_row)
    for column in columns.values():
        if column.hidden > 0 and column.rows:
            column.after = card_key(column.rows[-1].lead)
    return list(columns.values())


def _newest(stage: Stage, conditions: list[Any], limit: int, after: tuple[datetime, int] | None = None) -> Any:
    query: Any = select(col(Lead.id).label("lead_id")).where(col(Lead.stage) == stage, *conditions)
    if after is not None:
        moment, lead_id = after
        updated = col(Lead.updated_at)
        query = query.where(updated <= moment, or_(updated < moment, col(Lead.id) < lead_id))
    return query.order_by(col(Lead.updated_at).desc(), col(Lead.id).desc()).limit(limit).subquery()


def _cards(session: Session, parts: list[Any]) -> list[LeadRow]:
    ids = union_all(*(select(part.c.lead_id) for part in parts)).subquery()
    query = (
        _row_query()
        .where(col(Lead.id).in_(select(ids.c.lead_id)))
        .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())
    )
    return [LeadRow(*row) for row in session.exec(query).all()]


def _more_cards(
    session: Session, stage: Stage, conditions: list[Any], limit: int, after: tuple[datetime, int] | None
) -> BoardColumn:
    rows = _cards(session, [_newest(stage, conditions, limit + 1, after)])
    column = BoardColumn(stage, rows=rows[:limit], total=min(len(rows), limit))
    if len(rows) > limit:
        column.after = card_key(rows[limit - 1].lead)
    return column


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
