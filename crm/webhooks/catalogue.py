"""The one list of event types that webhook endpoints may receive.

Every event type the app records is either offered here or named in :data:`NOT_OFFERED`
with the reason; a test reads the code for ``record_event(…)`` calls and fails when a new
type is in neither list, so nobody adds an event without deciding whether other systems
may hear about it.
"""

from __future__ import annotations

from typing import Any

from crm.core.i18n import lazy_gettext as _l

ALL_EVENTS = "*"
PING = "webhook.ping"

# Partnership data, grouped as the endpoint form shows it.
GROUPS: dict[str, tuple[Any, dict[str, Any]]] = {
    "leads": (
        _l("Leads"),
        {
            "lead.created": _l("Lead created"),
            "lead.updated": _l("Lead updated"),
            "lead.stage_changed": _l("Lead moved to another stage"),
            "lead.deleted": _l("Lead deleted (an import was reverted)"),
            "lead.watcher_added": _l("Watcher added to a lead"),
            "lead.watcher_removed": _l("Watcher removed from a lead"),
            "activity.logged": _l("Activity logged on a lead"),
            "lead.checkin_answered": _l("Outcome check-in answered by a meeting contact"),
            "email.filed": _l("Email filed on a lead"),
            "email.sent": _l("Email written from a lead"),
        },
    ),
    "followups": (
        _l("Follow-ups"),
        {
            "followup.scheduled": _l("Follow-up scheduled"),
            "followup.rescheduled": _l("Follow-up rescheduled"),
            "followup.reassigned": _l("Follow-up reassigned"),
            "followup.done": _l("Follow-up done"),
            "followup.cancelled": _l("Follow-up cancelled"),
        },
    ),
    "organisations": (
        _l("Organisations and contacts"),
        {
            "organisation.created": _l("Organisation created"),
            "organisation.updated": _l("Organisation updated"),
            "contact.created": _l("Contact created"),
            "contact.updated": _l("Contact updated"),
            "organisation.deleted": _l("Organisation deleted (an import was reverted)"),
            "organisation.merged": _l("Duplicate organisation merged into another"),
            "contact.deleted": _l("Contact deleted"),
            "contact.erased": _l("Contact's personal data erased"),
        },
    ),
    "missions": (
        _l("Missions and meetings"),
        {
            "mission.created": _l("Mission created"),
            "mission.updated": _l("Mission updated"),
            "meeting.logged": _l("Meeting logged"),
            "meeting.updated": _l("Meeting updated"),
        },
    ),
    "documents": (
        _l("Documents"),
        {
            "document.added": _l("Document added to a lead, meeting or mission"),
            "document.removed": _l("Document removed from a lead, meeting or mission"),
        },
    ),
    "reference": (
        _l("Reference lists"),
        {
            "sector.created": _l("Sector created"),
            "sector.updated": _l("Sector updated"),
        },
    ),
}

EVENT_TYPES: dict[str, Any] = {name: label for _, types in GROUPS.values() for name, label in types.items()}

# Recorded, but never sent to an endpoint: they are about the app's own users and
# machinery, not about partnerships (and some carry personal or security details).
NOT_OFFERED: dict[str, str] = {
    "email.received": "machinery: a raw message before it is filed (email.filed follows)",
    "email.set_aside": "machinery: a message taken out of a tray without being filed",
    "user.created": "accounts",
    "user.preferences_changed": "accounts",
    "user.role_changed": "accounts",
    "user.supervisor_changed": "accounts",
    "user.password_changed": "security",
    "user.password_link_requested": "security",
    "user.deactivated": "accounts",
    "user.reactivated": "accounts",
    "user.logged_in": "security",
    "user.login_throttled": "security",
    "user.session_ended": "security",
    "user.other_sessions_ended": "security",
    "user.calendar_token_generated": "security",
    "mission.itinerary_feed_revoked": "security",
    "saved_filter.created": "personal",
    "saved_filter.deleted": "personal",
    "subscription.created": "digest recipients",
    "subscription.updated": "digest recipients",
    "subscription.unsubscribed": "digest recipients",
    "subscription.resubscribed": "digest recipients",
    "mail.retry_requested": "machinery",
    "retention.applied": "machinery",
    "contact.data_exported": "personal data requests (the export stays with the administrator)",
    "import.uploaded": "import machinery (what an import writes is sent as its own events)",
    "import.reread": "import machinery (what an import writes is sent as its own events)",
    "import.mapped": "import machinery (what an import writes is sent as its own events)",
    "import.cancelled": "import machinery (what an import writes is sent as its own events)",
    "import.confirmed": "import machinery (what an import writes is sent as its own events)",
    "import.started": "import machinery (what an import writes is sent as its own events)",
    "import.requeued": "import machinery (what an import writes is sent as its own events)",
    "import.planning_started": "import machinery (what an import writes is sent as its own events)",
    "import.planned": "import machinery (what an import writes is sent as its own events)",
    "import.planning_failed": "import machinery (what an import writes is sent as its own events)",
    "import.failed": "import machinery (what an import writes is sent as its own events)",
    "import.completed": "import machinery (what an import writes is sent as its own events)",
    "import.reverted": "import machinery (what an import writes is sent as its own events)",
    "api_token.created": "security",
    "api_token.revoked": "security",
    "webhook.endpoint_created": "webhook administration",
    "webhook.endpoint_updated": "webhook administration",
    "webhook.endpoint_disabled": "webhook administration",
    "webhook.endpoint_enabled": "webhook administration",
    "webhook.endpoint_deleted": "webhook administration",
    "webhook.secret_rotated": "webhook administration",
    "webhook.secret_revealed": "webhook administration",
    "webhook.redelivery_requested": "webhook administration",
    "pipeline.stage_probability_changed": "pipeline settings (administration)",
    "pipeline.reference_rate_set": "pipeline settings (administration)",
    "contact.checkins_stopped": "a contact's mail preference (personal, and no partnership data)",
    PING: "sent only to the endpoint it tests",
}


def event_label(event_type: str) -> str:
    if event_type == PING:
        return str(_l("Test event (ping)"))
    label = EVENT_TYPES.get(event_type)
    return str(label) if label is not None else event_type


def wants(subscribed: list[str], event_type: str) -> bool:
    """Does an endpoint subscribed to ``subscribed`` receive ``event_type``?"""
    if event_type not in EVENT_TYPES:
        return False
    return ALL_EVENTS in subscribed or event_type in subscribed
