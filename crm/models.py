"""Every table, imported once so that SQLModel's metadata (and Alembic) sees them all."""

from crm.accounts.models import Language, Role, User
from crm.core.events import Event
from crm.core.state import SystemState
from crm.digests.models import Cadence, Subscription
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import (
    Activity,
    ActivityKind,
    Currency,
    Lead,
    LeadWatcher,
    PartnershipType,
    Priority,
    Stage,
)
from crm.missions.models import (
    Meeting,
    MeetingContact,
    MeetingOrganisation,
    Mission,
    MissionDelegate,
    MissionOrganiser,
)
from crm.organisations.models import (
    Contact,
    Country,
    Organisation,
    OrganisationKind,
    OrganisationSector,
)
from crm.reference.models import Sector

__all__ = [
    "Activity",
    "ActivityKind",
    "Cadence",
    "Contact",
    "Country",
    "Currency",
    "Event",
    "FollowUp",
    "FollowUpStatus",
    "Language",
    "Lead",
    "LeadWatcher",
    "Meeting",
    "MeetingContact",
    "MeetingOrganisation",
    "Mission",
    "MissionDelegate",
    "MissionOrganiser",
    "Organisation",
    "OrganisationKind",
    "OrganisationSector",
    "PartnershipType",
    "Priority",
    "Role",
    "Sector",
    "Stage",
    "Subscription",
    "SystemState",
    "User",
]
