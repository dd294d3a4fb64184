"""Gunicorn reads this file from the working folder before it starts.

Jisr's settings and servers are checked here, in gunicorn's master process and before
it logs anything: a bad setting or a database that does not answer stops gunicorn with
one line and exit code 2, instead of workers that fail to boot one after another.

The request metrics of every worker are kept in ``PROMETHEUS_MULTIPROC_DIR`` (a fresh
folder for each start, unless set), so ``/metrics`` answers for all workers together.
"""

import os
import shutil
import tempfile

# Before anything imports prometheus-client: it chooses its shared-file mode at import.
METRICS_DIR = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"jisr-metrics-{os.getpid()}")
)

from crm.core.preflight import check_at_start, one_line_on_bad_setup  # noqa: E402

with one_line_on_bad_setup():
    check_at_start()

from crm.core.logs import logging_config  # noqa: E402

# Gunicorn's own lines and the application's, as LOG_FORMAT says (text or JSON lines).
logconfig_dict = logging_config(os.environ.get("LOG_FORMAT", "text").strip().lower() or "text")


def on_starting(server):  # type: ignore[no-untyped-def]
    """Counts of an earlier run are not this run's."""
    shutil.rmtree(METRICS_DIR, ignore_errors=True)
    os.makedirs(METRICS_DIR, exist_ok=True)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
