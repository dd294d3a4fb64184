"""The Celery application of the worker and beat processes.

Start a worker with ``celery -A workers.celery_app worker`` and the scheduler with
``celery -A workers.celery_app beat``; both build the Flask app with ``create_app()``,
after checking that the database and the broker answer (one line and exit code 2 when
one does not, rather than retrying for ever).
"""

from __future__ import annotations

from celery import Celery
from flask import Flask


def _create() -> tuple[Flask, Celery]:
    from crm import create_app
    from crm.core.preflight import check_at_start, one_line_on_bad_setup

    with one_line_on_bad_setup():
        check_at_start()
        flask_app = create_app()
    return flask_app, flask_app.extensions["celery"]


flask_app, celery = _create()
app = celery
