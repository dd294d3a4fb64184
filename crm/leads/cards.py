"""The board's reads: one column per stage, each with its most recently updated visible
leads as cards.

A card carries only what it shows, read as plain rows (no ORM objects: a board of 160
cards spent more time building leads, organisations and owners than rendering them), with
the organisations' names already picked in the reader's language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, or_, select

from crm.accounts.models import User
from crm.core.i18n import current_language, pick_name
from crm.core.time import ensure_utc
from crm.leads.filters import LeadFilter
from crm.leads.models import PIPELINE, Lead, Stage
from crm.leads.queries import lead_conditions
from crm.organisations.models import Organisation
from crm.summaries.queries import stage_counts

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BOARD_STAGES = (*PIPELINE, Stage.ON_HOLD, Stage.CLOSED_NO_GO)
_CARD_KEY = re.compile(r"^(\d{1,20})\.(\d{1,12})$")


class _Names(NamedTuple):
    name_ar: str
    name_fr: str
    name_en: str


@dataclass(slots=True)
class Card:
    """One lead as the board shows it."""

    id: int
    title: str
    stage: Stage
    updated_at: datetime
    value: Decimal | None
    currency: str
    ma_name: str
    ma_short: str
    us_name: str
    us_short: str
    owner: str
    next_due_at: datetime | None

    @property
    def key(self) -> str:
        """The card's place in its column (newest update first, then highest id), for the
        "show more" link: the update time in microseconds and the id."""
        micros = (ensure_utc(self.updated_at) - EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.id}"


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[Card] = field(default_factory=list)
    total: int = 0
    # The keyset of the next cards (see :attr:`Card.key`) when the column has more.
    after: str | None = None

    @property
    def hidden(self) -> int:
        return self.total - len(self.cards)


def parse_card_key(text: str | None) -> tuple[datetime, int] | None:
    """The (updated_at, id) of a :attr:`Card.key`, or None for anything else."""
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
    counts: Mapping[Stage, int] | None = None,
) -> list[BoardColumn]:
    """One column per stage with its most recently updated visible leads, in two queries
    (one when no lead is visible).  The columns' counts come from the lead tally when the
    filter narrows only by what it keeps (:mod:`crm.summaries`), else from the leads.

    With ``stage``, only that column's next cards after the keyset ``after`` (a "show
    more"), in one query and without a count: ``after`` is set when more follow.  The
    columns' counts can be given (``counts``: the board's totals have them)."""
    conditions = lead_conditions(user, lead_filter, now)
    if stage is not None:
        cards = _cards(session, [_newest(stage, conditions, per_column + 1, after)])
        column = BoardColumn(stage, cards=cards[:per_column], total=min(len(cards), per_column))
        if len(cards) > per_column:
            column.after = cards[per_column - 1].key
        return [column]
    columns = {stage: BoardColumn(stage) for stage in BOARD_STAGES}
    if counts is None:
        counts = {Stage(s): int(n) for s, n in session.execute(stage_counts(user, lead_filter, conditions)).all()}
    for column in columns.values():
        column.total = counts.get(column.stage, 0)
    # Each column's newest leads read through the (stage, updated_at) index, one stage at a
    # time (only the stages that have leads): numbering every visible lead per stage and
    # keeping the first ones sorted the whole table.
    latest = [_newest(column.stage, conditions, per_column) for column in columns.values() if column.total]
    if not latest:
        return list(columns.values())
    for card in _cards(session, latest):
        columns[card.stage].cards.append(card)
    for column in columns.values():
        if column.hidden > 0 and column.cards:
            column.after = column.cards[-1].key
    return list(columns.values())


def _newest(stage: Stage, conditions: list[Any], limit: int, after: tuple[datetime, int] | None = None) -> Any:
    query: Any = select(col(Lead.id).label("lead_id")).where(col(Lead.stage) == stage, *conditions)
    if after is not None:
        moment, lead_id = after
        updated = col(Lead.updated_at)
        query = query.where(updated <= moment, or_(updated < moment, col(Lead.id) < lead_id))
    return query.order_by(col(Lead.updated_at).desc(), col(Lead.id).desc()).limit(limit).subquery()


def _names(org: Any) -> list[Any]:
    return [org.name_ar, org.name_fr, org.name_en, org.acronym]


@lru_cache(maxsize=1)
def _card_query() -> Any:
    """What a card shows, joined to its organisations and owner, newest first: the same
    for every board, built once per process (each board only adds which leads)."""
    ma = aliased(Organisation)
    us = aliased(Organisation)
    return (
        select(  # type: ignore[call-overload]
            col(Lead.id),
            col(Lead.title),
            col(Lead.stage),
            col(Lead.updated_at),
            col(Lead.estimated_value),
            col(Lead.currency),
            *_names(ma),
            *_names(us),
            col(User.name),
            col(User.email),
            col(Lead.next_due_at),
        )
        .join(ma, col(ma.id) == col(Lead.ma_organisation_id))
        .join(us, col(us.id) == col(Lead.us_organisation_id))
        .join(User, col(User.id) == col(Lead.owner_id))
        .order_by(col(Lead.updated_at).desc(), col(Lead.id).desc())
    )


def _cards(session: Session, parts: list[Any]) -> list[Card]:
    ids = union_all(*(select(part.c.lead_id) for part in parts)).subquery()
    query = _card_query().where(col(Lead.id).in_(select(ids.c.lead_id)))
    language = current_language()
    cards = []
    for row in session.execute(query):
        ma_names, us_names = tuple(row[6:10]), tuple(row[10:14])
        ma_name = pick_name(_Names(*ma_names[:3]), language)
        us_name = pick_name(_Names(*us_names[:3]), language)
        cards.append(
            Card(
                id=row[0],
                title=row[1],
                stage=Stage(row[2]),
                updated_at=row[3],
                value=row[4],
                currency=str(getattr(row[5], "value", row[5]) or ""),
                ma_name=ma_name,
                ma_short=ma_names[3] or ma_name,
                us_name=us_name,
                us_short=us_names[3] or us_name,
                owner=row[14] or row[15],
                next_due_at=row[16],
            )
        )
    return cards
