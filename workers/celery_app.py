"""Celery bound to the Flask app: every task runs inside ``app.app_context()``.

Start a worker with ``celery -A workers.celery_app worker`` and the scheduler with
``celery -A workers.celery_app beat``.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
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
        worker_hijack_root_logger=False,
        imports=("workers.tasks",),
    )
    if app.config["BROKER_URL"].startswith("redis"):
        # Redis redelivers an unacknowledged task after this long: longer than any task.
        celery.conf.broker_transport_options = {"visibility_timeout": 3600}
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def _create() -> tuple[Flask, Celery]:
    from crm import create_app
    from crm.config import ConfigError
    from crm.core.time import StaleTimeZoneData

    try:
        flask_app = create_app()
    except (ConfigError, StaleTimeZoneData) as exc:
        print(f"jisr: {exc}", file=sys.stderr)
        sys.exit(2)
    return flask_app, celery_init_app(flask_app)


flask_app, celery = _create()
app = celery
