"""A Celery worker serves its own metrics on ``WORKER_METRICS_PORT``: tasks by name and
outcome and their durations, counted across its pool processes.  A real worker process."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import app_for, free_port, start_worker, stop
from tests.spine_helpers import wait_for

pytestmark = pytest.mark.slow


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_worker_serves_its_task_counts_and_durations(spine: dict[str, Any], tmp_path: Path) -> None:
    port = free_port()
    env = {**spine, "WORKER_METRICS_PORT": str(port)}
    app = app_for(env)
    worker = start_worker(env, tmp_path / "worker.log", concurrency=2)
    try:
        celery = app.extensions["celery"]

        def listening() -> bool:
            try:
                _scrape(port)
                return True
            except OSError:
                return False

        wait_for(listening, 60, "the worker's metrics endpoint")
        for n in range(4):
            celery.send_task("crm.core.ping", args=(f"metrics-{n}",))
        celery.send_task("crm.core.ping", args=())  # a missing argument: the task fails

        def counted() -> bool:
            samples = _scrape(port)
            return _value(samples, "jisr_worker_tasks_total", task="crm.core.ping", outcome="success") == 4 and (
                _value(samples, "jisr_worker_tasks_total", task="crm.core.ping", outcome="failure") == 1
            )

        wait_for(counted, 60, "four pings and one failure counted")
        samples = _scrape(port)
        assert _value(samples, "jisr_worker_task_duration_seconds_count", task="crm.core.ping") == 5
        assert _value(samples, "jisr_worker_task_duration_seconds_sum", task="crm.core.ping") > 0
        assert _value(samples, "jisr_worker_tasks_running", task="crm.core.ping") == 0
        assert all(name.startswith("jisr_") for name, _ in samples)
    finally:
        stop(worker)


def test_worker_metrics_are_off_unless_a_port_is_set(tmp_path: Path) -> None:
    from crm.config import ConfigError, load_settings

    base = {"JISR_INSTANCE_PATH": str(tmp_path)}
    assert load_settings(base).extra["WORKER_METRICS_PORT"] is None
    assert load_settings({**base, "WORKER_METRICS_PORT": "9808"}).extra["WORKER_METRICS_PORT"] == 9808
    for bad in ("0", "http", "70000"):
        with pytest.raises(ConfigError, match="WORKER_METRICS_PORT"):
            load_settings({**base, "WORKER_METRICS_PORT": bad})
