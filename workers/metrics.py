"""A Celery worker's own metrics, served on ``WORKER_METRICS_PORT`` (off when unset).

``/metrics`` of the web answers for the state of the work (what the workers wrote); this
endpoint answers for the workers themselves: tasks run by name and outcome, how long they
took, how many are running now.  A worker's pool processes count in shared files
(prometheus-client's multiprocess mode, a fresh folder per worker), and the worker's main
process serves them all together on ``http://<host>:WORKER_METRICS_PORT/metrics``.  Scrape
each worker (docker-compose: each worker container) like any other target.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from typing import Any

log = logging.getLogger(__name__)
_CREATED_DIR = "JISR_WORKER_METRICS_DIR_CREATED"
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


def prepare(environ: dict[str, str] | Any = os.environ) -> bool:
    """Before prometheus-client is imported: give this worker a fresh folder of shared
    counts when its metrics are wanted.  True when they are."""
    if not (environ.get("WORKER_METRICS_PORT") or "").strip():
        return False
    if not environ.get("PROMETHEUS_MULTIPROC_DIR"):
        environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="jisr-worker-metrics-")
        environ[_CREATED_DIR] = environ["PROMETHEUS_MULTIPROC_DIR"]
    return True


class _Series:
    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.tasks = Counter("jisr_worker_tasks", "Tasks run by this worker, by name and outcome", ["task", "outcome"])
        self.duration = Histogram(
            "jisr_worker_task_duration_seconds", "Time a task ran", ["task"], buckets=DURATION_BUCKETS
        )
        self.running = Gauge("jisr_worker_tasks_running", "Tasks running now", ["task"], multiprocess_mode="livesum")


_series: _Series | None = None


def _on_start(task: Any = None, **_kwargs: Any) -> None:
    if task is None or _series is None:
        return
    task.request.jisr_started = time.perf_counter()
    _series.running.labels(task.name).inc()


def _on_finish(task: Any = None, state: str | None = None, **_kwargs: Any) -> None:
    started = getattr(getattr(task, "request", None), "jisr_started", None)
    if task is None or _series is None or started is None:
        return
    task.request.jisr_started = None
    _series.running.labels(task.name).dec()
    _series.tasks.labels(task.name, (state or "unknown").lower()).inc()
    _series.duration.labels(task.name).observe(time.perf_counter() - started)


class _Settled:
    """The pool processes' files, read again when one was caught half written (a process
    starting or writing its first sample as the scrape reads it): a scrape then answers
    the figures, not a 500."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector

    def collect(self) -> Any:
        for _ in range(4):
            try:
                return list(self.collector.collect())
            except Exception:  # a file being written: read again
                log.debug("worker metrics: a file was read half written", exc_info=True)
                time.sleep(0.05)
        return list(self.collector.collect())


def _serve(port: int) -> None:
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    registry.register(_Settled(multiprocess.MultiProcessCollector(None)))  # type: ignore[no-untyped-call]
    try:
        start_http_server(port, registry=registry)
    except OSError as exc:  # the worker works on without its endpoint
        log.error("worker metrics: cannot listen on port %s (%s)", port, exc)
        return
    log.info("worker metrics on port %s at /metrics", port)


def _on_child_exit(pid: int | None = None, **_kwargs: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


def _on_shutdown(**_kwargs: Any) -> None:
    created = os.environ.get(_CREATED_DIR)
    if created and created == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(created, ignore_errors=True)


def install(port: int | None) -> None:
    """Count the tasks and serve the counts once the worker starts (not in beat)."""
    global _series
    if port is None or _series is not None:
        return
    from celery import signals

    _series = _Series()
    signals.task_prerun.connect(_on_start, weak=False, dispatch_uid="jisr.worker_metrics.start")
    signals.task_postrun.connect(_on_finish, weak=False, dispatch_uid="jisr.worker_metrics.finish")
    signals.worker_init.connect(lambda **_: _serve(port), weak=False, dispatch_uid="jisr.worker_metrics.serve")
    signals.worker_process_shutdown.connect(_on_child_exit, weak=False, dispatch_uid="jisr.worker_metrics.child")
    signals.worker_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="jisr.worker_metrics.shutdown")
