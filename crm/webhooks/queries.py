"""Reads for the admin pages: endpoints with their health, and the delivery log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from crm.core.paging import page_count
from crm.webhooks.ledger import attempts_of, counts_by_endpoint
from crm.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointHealth,
)

PER_PAGE = 50


@dataclass
class EndpointRow:
    endpoint: WebhookEndpoint
    health: WebhookEndpointHealth | None
    counts: dict[str, int]

    @property
    def waiting(self) -> int:
        waiting = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.RETRY)
        return sum(self.counts.get(s.value, 0) for s in waiting)


def endpoint_rows(session: Session) -> list[EndpointRow]:
    """Every endpoint, active ones first, in three queries whatever their number."""
    endpoints = session.exec(
        select(WebhookEndpoint).order_by(col(WebhookEndpoint.is_active).desc(), col(WebhookEndpoint.id))
    ).all()
    health = {h.endpoint_id: h for h in session.exec(select(WebhookEndpointHealth)).all()}
    counts = counts_by_endpoint(session)
    return [EndpointRow(e, health.get(e.id or 0), counts.get(e.id or 0, {})) for e in endpoints]


def status_counts(session: Session, endpoint_id: int) -> dict[str, int]:
    rows = session.exec(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .group_by(col(WebhookDelivery.status))
    ).all()
    return {str(getattr(status, "value", status)): int(n) for status, n in rows}


@dataclass
class DeliveryPage:
    deliveries: list[WebhookDelivery]
    attempts: dict[int, list[WebhookAttempt]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)


def delivery_page(
    session: Session, endpoint_id: int, *, status: DeliveryStatus | None = None, page: int = 1, per_page: int = PER_PAGE
) -> DeliveryPage:
    """The newest deliveries of one endpoint with their attempts (three queries)."""
    conditions = [col(WebhookDelivery.endpoint_id) == endpoint_id]
    if status is not None:
        conditions.append(col(WebhookDelivery.status) == status)
    total = int(session.exec(select(func.count()).select_from(WebhookDelivery).where(*conditions)).one())
    deliveries = list(
        session.exec(
            select(WebhookDelivery)
            .where(*conditions)
            .order_by(col(WebhookDelivery.id).desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
    )
    attempts = attempts_of(session, [d.id for d in deliveries if d.id is not None])
    return DeliveryPage(deliveries, attempts, total, page, per_page)
