"""Prometheus metrics at ``/metrics``, every series named ``jisr_…``.

Two sources:

- **requests** (count by route, method and status; latency histogram by route), counted
  in each web process.  Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` (set by
  ``gunicorn.conf.py``) makes prometheus-client keep them in shared files, so a scrape of
  any worker answers for all of them;
- **the state of the work**, read at scrape time from where it is kept (the mail ledger,
  the event outbox, the webhook ledger, the imports, the received mail, the broker's
  queues, beat's last tick): what the workers did is counted by what they wrote, so a
  restarted worker loses no count.  The workers' own task counts and durations are served
  by each worker (``workers/metrics.py``, with ``WORKER_METRICS_PORT``).

The page is never public: ``METRICS_TOKEN`` (a bearer token) or ``METRICS_ALLOW`` (client
addresses or networks, comma-separated) opens it; with neither it answers 404.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlmodel import col, func, select

from crm.core.time import utcnow

REQUESTS = Counter("jisr_http_requests", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "jisr_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _route() -> str:
    """The route's pattern (``/leads/<int:lead_id>``), never the address: bounded labels."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _answered(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None and request.endpoint != "metrics":
        route, method = _route(), request.method
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        LATENCY.labels(route, method).observe(time.perf_counter() - started)
    return response


class WorkCollector(Collector):
    """The state of the work, read from the database and the broker at each scrape."""

    def collect(self) -> Iterator[Any]:
        from crm.core.db import db
        from crm.core.ledger import MailStatus, OutboundMail
        from crm.core.outbox import oldest_unpublished
        from crm.core.state import get_state
        from crm.core.status import queues_of
        from crm.exchange.models import DataImport
        from crm.inbound.models import InboundMail, InboundState
        from crm.webhooks.models import WebhookDelivery

        session = db.session
        now = utcnow()
        oldest = oldest_unpublished(session)
        yield GaugeMetricFamily(
            "jisr_relay_lag_seconds", "Age of the oldest unpublished event (0: none)",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )  # fmt: skip
        tick = get_state(session, "beat.last_tick")
        beat = GaugeMetricFamily("jisr_beat_last_tick_timestamp_seconds", "When beat last ticked (Unix time)")
        if tick is not None:
            beat.add_metric([], tick.updated_at.timestamp())
        yield beat

        rows = GaugeMetricFamily(
            "jisr_mail_ledger_rows", "Mail ledger rows by status and kind", labels=["status", "kind"]
        )
        sent = CounterMetricFamily("jisr_mail_sent", "Mail sent (reminders, digests…) by kind", labels=["kind"])
        counts = session.exec(
            select(OutboundMail.status, OutboundMail.kind, func.count()).group_by(
                col(OutboundMail.status), col(OutboundMail.kind)
            )
        ).all()
        for status, kind, n in counts:
            rows.add_metric([str(getattr(status, "value", status)), kind], n)
            if status == MailStatus.SENT:
                sent.add_metric([kind], n)
        yield rows
        yield sent
        pending = session.exec(
            select(func.min(OutboundMail.created_at)).where(
                col(OutboundMail.status).in_([MailStatus.QUEUED, MailStatus.RETRY, MailStatus.SENDING])
            )
        ).one()
        yield GaugeMetricFamily(
            "jisr_mail_oldest_pending_age_seconds", "Age of the oldest mail not yet sent (0: none)",
            value=(now - pending).total_seconds() if pending else 0.0,
        )  # fmt: skip

        deliveries = GaugeMetricFamily("jisr_webhook_deliveries", "Webhook deliveries by status", labels=["status"])
        for status, n in session.exec(
            select(WebhookDelivery.status, func.count()).group_by(col(WebhookDelivery.status))
        ).all():
            deliveries.add_metric([str(getattr(status, "value", status))], n)
        yield deliveries
        imports = GaugeMetricFamily("jisr_imports", "Imports by state", labels=["state"])
        for status, n in session.exec(select(DataImport.status, func.count()).group_by(col(DataImport.status))).all():
            imports.add_metric([str(getattr(status, "value", status))], n)
        yield imports
        inbound = GaugeMetricFamily("jisr_inbound_mail", "Received mail by state", labels=["state"])
        for state, n in session.exec(select(InboundMail.state, func.count()).group_by(col(InboundMail.state))).all():
            inbound.add_metric([str(getattr(state, "value", state))], n)
        yield inbound
        unfiled = session.exec(
            select(func.min(InboundMail.received_at)).where(InboundMail.state == InboundState.RECEIVED)
        ).one()
        yield GaugeMetricFamily(
            "jisr_inbound_oldest_unfiled_age_seconds", "Age of the oldest received mail not yet filed (0: none)",
            value=(now - unfiled).total_seconds() if unfiled else 0.0,
        )  # fmt: skip
        session.rollback()

        from crm.core.broker import queue_depth

        depth = GaugeMetricFamily("jisr_queue_depth", "Messages waiting per queue (-1: unreadable)", labels=["queue"])
        broker = current_app.config["BROKER_URL"]
        for queue in queues_of(current_app.extensions["celery"]):
            found = queue_depth(broker, queue)
            depth.add_metric([queue], -1 if found is None else found)
        yield depth


def _allowed() -> bool:
    config = current_app.config
    token = config.get("METRICS_TOKEN") or ""
    allow = [a.strip() for a in (config.get("METRICS_ALLOW") or "").split(",") if a.strip()]
    if not token and not allow:
        return False
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    if allow and request.remote_addr:
        try:
            client = ipaddress.ip_address(request.remote_addr)
        except ValueError:
            return False
        return any(client in ipaddress.ip_network(a, strict=False) for a in allow)
    return False


def metrics() -> Response:
    if not _allowed():
        abort(404)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(WorkCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.before_request(_started)
    app.after_request(_answered)
    app.add_url_rule("/metrics", "metrics", metrics)
