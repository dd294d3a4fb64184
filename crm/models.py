"""Every table, imported once so that SQLModel's metadata (and Alembic) sees them all."""

from crm.accounts.models import Language, LoginSession, Role, User
from crm.api.models import ApiToken, ApiTokenUse, TokenScope
from crm.checkins.models import Checkin, CheckinAnswer, CheckinOptOut
from crm.core.consumers import ConsumedEvent
from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail
from crm.core.state import SystemState
from crm.digests.models import Cadence, DigestRun, Subscription
from crm.documents.models import Document
from crm.exchange.models import DataImport, ImportFile, ImportMapping, ImportPlanRow, ImportRow
from crm.feed.models import FeedEntry
from crm.followups.models import FollowUp, FollowUpStatus, ReminderRung, RungStatus
from crm.inbound.imap import ImapCursor
from crm.inbound.models import EmailMessage, InboundMail
from crm.itineraries.models import ItineraryFeed
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
    MissionLeg,
    MissionOrganiser,
    MissionSector,
)
from crm.notifications.models import Notification
from crm.organisations.models import (
    Contact,
    Country,
    Organisation,
    OrganisationKind,
    OrganisationSector,
)
from crm.pipeline.models import ReferenceRate, StageProbability
from crm.reference.models import Sector
from crm.summaries.models import DueTally, LeadTally, MoveTally, SummaryFollowUp, SummaryLead, SummaryMove
from crm.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointHealth,
)

__all__ = [
    "Activity",
    "ActivityKind",
    "ApiToken",
    "ApiTokenUse",
    "Cadence",
    "Checkin",
    "CheckinAnswer",
    "CheckinOptOut",
    "ConsumedEvent",
    "Contact",
    "Country",
    "Currency",
    "DataImport",
    "DeliveryStatus",
    "DigestRun",
    "Document",
    "DueTally",
    "EmailMessage",
    "Event",
    "FeedEntry",
    "FollowUp",
    "FollowUpStatus",
    "ImapCursor",
    "ImportFile",
    "ImportMapping",
    "ImportPlanRow",
    "ImportRow",
    "InboundMail",
    "ItineraryFeed",
    "Language",
    "Lead",
    "LeadTally",
    "LeadWatcher",
    "LoginSession",
    "MailStatus",
    "Meeting",
    "MeetingContact",
    "MeetingOrganisation",
    "Mission",
    "MissionDelegate",
    "MissionLeg",
    "MissionOrganiser",
    "MissionSector",
    "MoveTally",
    "Notification",
    "Organisation",
    "OrganisationKind",
    "OrganisationSector",
    "OutboundMail",
    "PartnershipType",
    "Priority",
    "ReferenceRate",
    "ReminderRung",
    "Role",
    "RungStatus",
    "SavedFilter",
    "Sector",
    "Stage",
    "StageProbability",
    "Subscription",
    "SummaryFollowUp",
    "SummaryLead",
    "SummaryMove",
    "SystemState",
    "TokenScope",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEndpointHealth",
]
