"""The Celery application of the worker and beat processes.

Start a worker with ``celery -A workers.celery_app worker`` and the scheduler with
``celery -A workers.celery_app beat``; both build the Flask app with ``create_app()``.
"""

from __future__ import annotations

import sys

from celery import Celery
from flask import Flask


def _create() -> tuple[Flask, Celery]:
    from crm import create_app
    from crm.config import ConfigError
    from crm.core.time import StaleTimeZoneData

    try:
        flask_app = create_app()
    except (ConfigError, StaleTimeZoneData) as exc:
        print(f"jisr: {exc}", file=sys.stderr)
        sys.exit(2)
    return flask_app, flask_app.extensions["celery"]


flask_app, celery = _create()
app = celery
