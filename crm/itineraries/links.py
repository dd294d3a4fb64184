"""Signed addresses of the delegates' calendar feeds.

The token is its own authority (a calendar client has no login) and never expires — a
subscription must keep working for the whole trip — but it names a generation, which
:func:`crm.itineraries.operations.revoke_feed` moves on (see ``ItineraryFeed``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session, col, select

from crm.core.signed import MAX_TOKEN
from crm.itineraries.models import ItineraryFeed

SALT = "jisr.itinerary-feed"


@dataclass(frozen=True)
class FeedLink:
    mission_id: int
    contact_id: int
    generation: int


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def feed_token(mission_id: int, contact_id: int, generation: int) -> str:
    return _serializer().dumps({"m": mission_id, "c": contact_id, "g": generation})


def read_feed_token(token: str) -> FeedLink | None:
    """The link ``token`` names, or ``None`` when we did not sign it."""
    if len(token) > MAX_TOKEN:
        return None
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    values = [data.get(k) for k in ("m", "c", "g")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31 for v in values):
        return None
    return FeedLink(*values)  # type: ignore[arg-type]


def generations(session: Session, mission_id: int) -> dict[int, int]:
    """The current generation of each delegate whose feed was ever revoked (one query)."""
    rows = session.exec(
        select(ItineraryFeed.contact_id, ItineraryFeed.generation).where(col(ItineraryFeed.mission_id) == mission_id)
    ).all()
    return dict(rows)


def is_current(session: Session, link: FeedLink) -> bool:
    row = session.get(ItineraryFeed, (link.mission_id, link.contact_id))
    return link.generation == (row.generation if row is not None else 0)
