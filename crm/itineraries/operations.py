"""Writes about itineraries: revoking a delegate's calendar feed address."""

from __future__ import annotations

from sqlmodel import Session

from crm.accounts.models import User
from crm.core.db import pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.itineraries.models import ItineraryFeed
from crm.missions.models import Mission, MissionDelegate
from crm.organisations.models import Contact


def revoke_feed(session: Session, mission: Mission, contact: Contact, *, actor: User) -> ItineraryFeed:
    """Refuse every address of ``contact``'s feed for ``mission`` given so far; the next
    address shown is a new one.  Only those who may change missions may do it."""
    if not actor.can_edit():
        raise PermissionDenied(_l("You may not change this mission."))
    mission_id, contact_id = pk(mission), pk(contact)
    if session.get(MissionDelegate, (mission_id, contact_id)) is None:
        raise ValidationError.single("contact_id", _l("This person is not a delegate of the mission."))
    feed = session.get(ItineraryFeed, (mission_id, contact_id))
    if feed is None:
        feed = ItineraryFeed(mission_id=mission_id, contact_id=contact_id, generation=0)
    feed.generation += 1
    feed.revoked_at = utcnow()
    session.add(feed)
    session.flush()
    record_event(
        session,
        "mission.itinerary_feed_revoked",
        mission,
        actor=actor,
        payload={"contact_id": contact_id, "generation": feed.generation},
    )
    return feed
