"""The revocable part of a delegate's calendar feed address.

A feed address is a signed token naming the mission, the delegate and a ``generation``.
Without a row the generation is 0; revoking the address writes the next generation, so
every address signed before is refused from then on and a new one is shown."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime
from crm.core.events import Audited
from crm.core.time import utcnow


class ItineraryFeed(Audited, SQLModel, table=True):
    __tablename__ = "itinerary_feed"

    mission_id: int = Field(foreign_key="mission.id", primary_key=True, ondelete="CASCADE")
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE", index=True)
    generation: int = Field(default=0)
    revoked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
