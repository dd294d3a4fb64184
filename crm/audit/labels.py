"""Names of event types, of their groups and of the records they are about, in the
reader's language.  Every event type the app records has a label here (a test reads the
code for them), so the log never shows a bare code to an administrator."""

from __future__ import annotations

from typing import Any

from crm.core.i18n import lazy_gettext as _l
from crm.webhooks.catalogue import EVENT_TYPES, PING

# The partnership events are labelled once, for the webhook form and here alike.
EVENT_LABELS: dict[str, Any] = {
    **EVENT_TYPES,
    PING: _l("Test event (ping)"),
    "user.created": _l("User created"),
    "user.preferences_changed": _l("Preferences changed"),
    "user.role_changed": _l("Role changed"),
    "user.supervisor_changed": _l("Supervisor changed"),
    "user.password_changed": _l("Password changed"),
    "user.password_link_requested": _l("Set-password link emailed"),
    "user.deactivated": _l("User deactivated"),
    "user.reactivated": _l("User reactivated"),
    "user.logged_in": _l("Logged in"),
    "user.login_throttled": _l("Login attempts held back"),
    "user.other_sessions_ended": _l("Logged out of every other session"),
    "user.session_ended": _l("Logged out of a session"),
    "user.calendar_token_generated": _l("Calendar feed address created"),
    "mission.itinerary_feed_revoked": _l("Delegate's itinerary feed address replaced"),
    "saved_filter.created": _l("Saved filter created"),
    "saved_filter.deleted": _l("Saved filter deleted"),
    "contact.data_exported": _l("Contact's personal data exported"),
    "contact.checkins_stopped": _l("Contact stopped the outcome check-in emails"),
    "email.received": _l("Email received at a logging address"),
    "email.filed": _l("Email filed on a lead"),
    "email.sent": _l("Email written from a lead"),
    "email.set_aside": _l("Received email set aside"),
    "subscription.created": _l("Digest subscription created"),
    "subscription.updated": _l("Digest subscription changed"),
    "subscription.unsubscribed": _l("Unsubscribed from a digest"),
    "subscription.resubscribed": _l("Digest subscription started again"),
    "mail.retry_requested": _l("Failed mail sent again"),
    "retention.applied": _l("Old records removed (retention)"),
    "import.uploaded": _l("Import file uploaded"),
    "import.reread": _l("Import file read again"),
    "import.mapped": _l("Import columns chosen"),
    "import.cancelled": _l("Import cancelled"),
    "import.confirmed": _l("Import confirmed"),
    "import.started": _l("Import started"),
    "import.requeued": _l("Import handed to a worker again"),
    "import.planning_started": _l("Import preview being prepared"),
    "import.planned": _l("Import preview prepared"),
    "import.planning_failed": _l("Import preview could not be prepared"),
    "import.failed": _l("Import failed"),
    "import.completed": _l("Import completed"),
    "import.reverted": _l("Import reverted"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "webhook.endpoint_created": _l("Webhook endpoint registered"),
    "webhook.endpoint_updated": _l("Webhook endpoint changed"),
    "webhook.endpoint_disabled": _l("Webhook endpoint disabled"),
    "webhook.endpoint_enabled": _l("Webhook endpoint enabled"),
    "webhook.endpoint_deleted": _l("Webhook endpoint deleted"),
    "webhook.secret_rotated": _l("Webhook secret rotated"),
    "webhook.secret_revealed": _l("Webhook secret shown again"),
    "webhook.redelivery_requested": _l("Webhook delivery sent again"),
    "pipeline.stage_probability_changed": _l("Stage's default probability changed"),
    "pipeline.reference_rate_set": _l("Reference exchange rate set"),
}

# The filter's groups: an event type's group is the part before its dot.
GROUP_LABELS: dict[str, Any] = {
    "lead": _l("Leads"),
    "followup": _l("Follow-ups"),
    "activity": _l("Activities"),
    "organisation": _l("Organisations"),
    "contact": _l("Contacts"),
    "mission": _l("Missions"),
    "meeting": _l("Meetings"),
    "sector": _l("Sectors"),
    "user": _l("Users and logins"),
    "saved_filter": _l("Saved filters"),
    "subscription": _l("Digest subscriptions"),
    "mail": _l("Mail"),
    "import": _l("Imports"),
    "api_token": _l("API tokens"),
    "webhook": _l("Webhooks"),
    "pipeline": _l("Pipeline settings"),
    "document": _l("Documents"),
}

# What an event is about (its ``entity_type``, a table name).
ENTITY_LABELS: dict[str, Any] = {
    "lead": _l("Lead"),
    "followup": _l("Follow-up"),
    "activity": _l("Activity"),
    "organisation": _l("Organisation"),
    "contact": _l("Contact"),
    "mission": _l("Mission"),
    "meeting": _l("Meeting"),
    "sector": _l("Sector"),
    "user_account": _l("User"),
    "saved_filter": _l("Saved filter"),
    "subscription": _l("Digest subscription"),
    "outbound_mail": _l("Email"),
    "data_import": _l("Import"),
    "api_token": _l("API token"),
    "webhook_endpoint": _l("Webhook endpoint"),
    "stage_probability": _l("Stage's default probability"),
    "reference_rate": _l("Reference exchange rate"),
    "checkin_answer": _l("Check-in answer"),
    "document": _l("Document"),
    "inbound_mail": _l("Received email"),
    "email_message": _l("Email on a lead"),
}


def event_label(event_type: str) -> str:
    label = EVENT_LABELS.get(event_type)
    return str(label) if label is not None else event_type


def type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The event types by group, for the filter: (group label, [(value, label)…]); a
    group's own value (``"lead."``) selects all its types."""
    grouped: dict[str, list[tuple[str, str]]] = {group: [] for group in GROUP_LABELS}
    for event_type in EVENT_LABELS:
        grouped.setdefault(event_type.split(".", 1)[0], []).append((event_type, event_label(event_type)))
    everything = str(_l("All of this group"))
    return [
        (str(GROUP_LABELS.get(group, group)), [(f"{group}.", everything), *sorted(types, key=lambda t: t[1])])
        for group, types in grouped.items()
        if types
    ]
