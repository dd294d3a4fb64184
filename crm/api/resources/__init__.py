"""The API's resources; importing this package routes every endpoint."""

from crm.api.resources import docs, documents, events, followups, leads, missions, organisations, subscriptions

__all__ = ["docs", "documents", "events", "followups", "leads", "missions", "organisations", "subscriptions"]
