"""Which queue each task goes to, so that one kind of work cannot starve another.

With Redis (production), reminders and the mail they produce never wait behind a digest
run, a big import or a slow webhook receiver: each kind has its queue, and docker-compose
runs workers per queue (scaled one by one).  A worker started without ``-Q`` consumes all
of them (``make run``).  The embedded broker (SQLite, one machine) keeps the one queue:
its transport polls queue by queue, and one worker serves them all anyway.
"""

from __future__ import annotations

from typing import Any

from kombu.entity import Queue

EVENTS, MAIL, DIGESTS, IMPORTS, WEBHOOKS = "events", "mail", "digests", "imports", "webhooks"
QUEUES = (EVENTS, MAIL, DIGESTS, IMPORTS, WEBHOOKS)
EMBEDDED_QUEUE = "celery"

# Task name prefix → queue.  Reminders and outcome check-ins go with the mail they write; the small beat jobs of
# ``crm.core`` go with the events (both are quick and must keep moving).  A task matched by
# none of them goes to the events queue (``task_default_queue``).
ROUTES = {
    "crm.events.": EVENTS,
    "crm.core.": EVENTS,
    "crm.reminders.": MAIL,
    "crm.checkins.": MAIL,
    "crm.mail.": MAIL,
    "crm.digests.": DIGESTS,
    "crm.exchange.": IMPORTS,
    "crm.webhooks.": WEBHOOKS,
}
# Mail of these kinds is sent by the digest workers: thousands at once on a Monday morning.
BULK_MAIL_KINDS = frozenset({"digest"})


def queue_of_task(name: str) -> str:
    for prefix, queue in ROUTES.items():
        if name.startswith(prefix):
            return queue
    return EVENTS


def _route(name: str, *_args: Any, **_kwargs: Any) -> dict[str, str]:
    return {"queue": queue_of_task(name)}


def celery_queue_settings(broker_url: str) -> dict[str, Any]:
    """The Celery settings of the queues for this broker."""
    if not separate_queues(broker_url):
        return {"task_default_queue": EMBEDDED_QUEUE}
    return {
        "task_queues": [Queue(name, routing_key=name) for name in QUEUES],  # type: ignore[no-untyped-call]
        "task_default_queue": EVENTS,
        "task_routes": (_route,),
    }


def separate_queues(broker_url: str) -> bool:
    return broker_url.startswith(("redis://", "rediss://"))


def mail_queue(kind: str, broker_url: str) -> str | None:
    """The queue for sending mail of ``kind`` (None: the task's own route)."""
    if not separate_queues(broker_url):
        return None
    return DIGESTS if kind in BULK_MAIL_KINDS else MAIL


def queue_names(broker_url: str) -> tuple[str, ...]:
    return QUEUES if separate_queues(broker_url) else (EMBEDDED_QUEUE,)
