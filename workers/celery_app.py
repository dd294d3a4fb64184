"""The Celery application of the worker and beat processes.

Start a worker with ``celery -A workers.celery_app worker`` and the scheduler with
``celery -A workers.celery_app beat``; both build the Flask app with ``create_app()``,
after checking that the database and the broker answer (one line and exit code 2 when
one does not, rather than retrying for ever).  Their log lines are written as
``LOG_FORMAT`` says (:mod:`crm.core.logs`), with the request id and the task of each;
with ``WORKER_METRICS_PORT`` a worker serves its metrics there (:mod:`workers.metrics`).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from flask import Flask

from workers import metrics as worker_metrics


def _create() -> tuple[Flask, Celery]:
    from crm import create_app
    from crm.core.preflight import check_at_start, one_line_on_bad_setup

    with one_line_on_bad_setup():
        check_at_start()
        flask_app = create_app()
    return flask_app, flask_app.extensions["celery"]


# Before anything imports prometheus-client: it chooses its shared-file mode at import.
worker_metrics.prepare()
flask_app, celery = _create()
app = celery
worker_metrics.install(flask_app.config["WORKER_METRICS_PORT"])


@signals.setup_logging.connect
def _setup_logging(loglevel: Any = None, **_kwargs: Any) -> None:
    """Celery leaves logging to us once a receiver is connected here."""
    from crm.core.logs import configure_logging

    configure_logging(flask_app.config["LOG_FORMAT"], loglevel or "INFO")
