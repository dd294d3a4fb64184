"""Celery bound to a Flask app: every task runs inside ``app.app_context()`` (so the
database session, translations and configuration are the app's)."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    from workers.queues import celery_queue_settings
    from workers.schedule import BEAT_SCHEDULE

    celery.conf.update(
        broker_url=app.config["BROKER_URL"],
        result_backend=app.config["RESULT_BACKEND"],
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_expires=3600,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=BEAT_SCHEDULE,
        beat_scheduler="workers.beat:SingleBeat",
        jisr_flask_app=app,
        worker_hijack_root_logger=False,
        imports=(
            "workers.tasks",
            "workers.relay",
            "workers.reminders",
            "workers.mail",
            "workers.digests",
            "workers.webhooks",
            "workers.exchange",
            "workers.checkins",
            "workers.documents",
            "workers.inbound",
        ),
    )
    celery.conf.update(celery_queue_settings(app.config["BROKER_URL"]))
    if app.config["BROKER_URL"].startswith("redis"):
        # Redis redelivers an unacknowledged task after this long: longer than any task.
        celery.conf.broker_transport_options = {"visibility_timeout": 3600}
    from crm.core.requestid import connect_celery

    connect_celery()
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
