"""Every table, imported once so that SQLModel's metadata (and Alembic) sees them all."""

from crm.accounts.models import Language, Role, User
from crm.core.consumers import ConsumedEvent
from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail
from crm.core.state import SystemState
from crm.digests.models import Cadence, DigestRun, Subscription
from crm.exchange.models import DataImport, ImportFile, ImportMapping, ImportRow
from crm.followups.models import FollowUp, FollowUpStatus, ReminderRung, RungStatus
from crm.leads.models import (
    Activity,
    ActivityKind,
    Currency,
    Lead,
    LeadWatcher,
    PartnershipType,
    Priority,
    SavedFilter,
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
from crm.notifications.models import Notification
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
    "ConsumedEvent",
    "Contact",
    "Country",
    "Currency",
    "DataImport",
    "DigestRun",
    "Event",
    "FollowUp",
    "FollowUpStatus",
    "ImportFile",
    "ImportMapping",
    "ImportRow",
    "Language",
    "Lead",
    "LeadWatcher",
    "MailStatus",
    "Meeting",
    "MeetingContact",
    "MeetingOrganisation",
    "Mission",
    "MissionDelegate",
    "MissionOrganiser",
    "Notification",
    "Organisation",
    "OrganisationKind",
    "OrganisationSector",
    "OutboundMail",
    "PartnershipType",
    "Priority",
    "ReminderRung",
    "Role",
    "RungStatus",
    "SavedFilter",
    "Sector",
    "Stage",
    "Subscription",
    "SystemState",
    "User",
]
