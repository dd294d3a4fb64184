"""``/metrics``: never public, every series ``jisr_…``, request counts by route pattern,
the state of the work read where it is kept, and counts shared by gunicorn's workers.
The alert rules and the Grafana dashboard in ``deploy/`` only use series that exist."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from crm.config import ConfigError, load_settings
from crm.core.db import db
from crm.core.ledger import queue_mail
from crm.inbound.addresses import lead_address
from crm.inbound.operations import store_inbound
from tests.conftest import make_test_app
from tests.factories import make_lead, make_user
from tests.inbound_corpus import plain
from tests.processes import ROOT, SERVER_VARIABLES, free_port
from tests.web_helpers import login

TOKEN = "scrape-me-please-0123456789"


@pytest.fixture
def metrics_app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    app = make_test_app(database_url, METRICS_TOKEN=TOKEN, METRICS_ALLOW="10.1.2.0/24")
    yield app
    app.extensions["jisr.db"][0].dispose()


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _scrape(client: Any) -> dict[str, Any]:
    return _families(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True))


def _samples(families: dict[str, Any], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in families.values():
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_without_a_token_or_an_allowed_address_there_is_no_page(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_test_app(database_url)
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_the_token_or_an_allowed_address_opens_it_and_nothing_else(metrics_app: Any) -> None:
    client = metrics_app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.3.4"}).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.77"}).status_code == 200
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.mimetype == "text/plain"


def test_every_series_is_jisrs_and_tells_the_state_of_the_work(metrics_app: Any) -> None:
    with metrics_app.app_context():
        officer = make_user(db.session, email="officer@jisr.example")
        lead = make_lead(db.session, owner=officer)
        for n, kind in enumerate(["reminder", "reminder", "digest"]):
            queue_mail(db.session, dedupe_key=f"m{n}", kind=kind, to=f"p{n}@example.org", language="fr",
                       subject="Objet", text="Texte")  # fmt: skip
        store_inbound(db.session, plain("m1@aws.example", "jane@aws.example", "x@jisr.example"), lead_address(lead))
        db.session.commit()
        lead_id = lead.id
    client = metrics_app.test_client()
    # The request counters belong to the process (as in production): count what this test adds.
    before = _samples(_scrape(client), "jisr_http_requests_total")
    login(client, "officer@jisr.example")
    assert client.get(f"/leads/{lead_id}").status_code == 200
    assert client.get("/no-such-page").status_code == 404

    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    families = _families(text)

    assert families and all(name.startswith("jisr_") for name in families), sorted(families)
    after = _samples(families, "jisr_http_requests_total")
    added = {labels: n - before.get(labels, 0) for labels, n in after.items() if n != before.get(labels, 0)}
    assert added == {
        (("method", "POST"), ("route", "/login"), ("status", "302")): 1,
        (("method", "GET"), ("route", "/leads/<int:lead_id>"), ("status", "200")): 1,
        (("method", "GET"), ("route", "unmatched"), ("status", "404")): 1,
    }  # and never /metrics itself
    durations = _samples(families, "jisr_http_request_duration_seconds_count")
    assert durations[(("method", "GET"), ("route", "/leads/<int:lead_id>"))] >= 1
    ledger = _samples(families, "jisr_mail_ledger_rows")
    assert (
        ledger[(("kind", "reminder"), ("status", "queued"))] == 2
        and ledger[(("kind", "digest"), ("status", "queued"))] == 1
    )
    assert _samples(families, "jisr_mail_oldest_pending_age_seconds")[()] >= 0
    assert _samples(families, "jisr_inbound_mail") == {(("state", "received"),): 1}  # stored, not yet filed
    assert _samples(families, "jisr_inbound_oldest_unfiled_age_seconds")[()] >= 0
    assert _samples(families, "jisr_relay_lag_seconds")[()] > 0  # the lead's events are not relayed in this test
    assert set(_samples(families, "jisr_queue_depth")) == {(("queue", "celery"),)}
    for name in ("jisr_webhook_deliveries", "jisr_imports", "jisr_beat_last_tick_timestamp_seconds", "jisr_mail_sent"):
        assert name in families


def test_a_bad_metrics_setting_stops_the_start_with_one_line() -> None:
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_settings({"METRICS_TOKEN": "short"})
    with pytest.raises(ConfigError, match="METRICS_ALLOW: 'not-an-address'"):
        load_settings({"METRICS_ALLOW": "127.0.0.1, not-an-address"})


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bjisr_[a-z_]+", expr))


KNOWN = {
    "jisr_http_requests_total", "jisr_http_request_duration_seconds_bucket", "jisr_relay_lag_seconds",
    "jisr_beat_last_tick_timestamp_seconds", "jisr_mail_ledger_rows", "jisr_mail_sent_total",
    "jisr_mail_oldest_pending_age_seconds", "jisr_webhook_deliveries", "jisr_imports", "jisr_queue_depth",
    "jisr_inbound_mail", "jisr_inbound_oldest_unfiled_age_seconds",
}  # fmt: skip


def test_the_alert_rules_and_the_dashboard_use_only_series_jisr_exports(metrics_app: Any) -> None:
    text = (
        metrics_app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    )
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    exported = {f.name + end for f in text_string_to_metric_families(text) for end in suffixes[f.type]}
    assert exported >= KNOWN
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus-alerts.yml").read_text())["groups"][0]["rules"]
    alerts = {rule["alert"]: rule["expr"] for rule in rules}
    assert {"JisrRelayLagging", "JisrMailStuck", "JisrBeatSilent", "JisrMailFailing", "JisrServerErrors"} <= set(alerts)
    assert (
        "> 60" in alerts["JisrRelayLagging"]
        and "> 900" in alerts["JisrMailStuck"]
        and "> 300" in alerts["JisrBeatSilent"]
    )
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    for expr in [*alerts.values(), *exprs]:
        assert _metric_names(expr) and _metric_names(expr) <= exported, expr


@pytest.mark.slow
def test_gunicorns_workers_count_together(database_url: str, tmp_path: Path) -> None:
    """Two gunicorn workers answer requests between them; any scrape counts them all."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in (*SERVER_VARIABLES, "PROMETHEUS_MULTIPROC_DIR")}
    env.update(DATABASE_URL=database_url, JISR_INSTANCE_PATH=str(tmp_path / "instance"), METRICS_TOKEN=TOKEN,
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))  # fmt: skip
    if os.environ.get("REDIS_URL") and database_url.startswith("postgresql"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT, env=env, stdout=(tmp_path / "gunicorn.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        # Requests in parallel until both workers have answered some (each worker
        # writes its own file, which names the route once it has counted it); then any
        # scrape counts them all.
        sent, files = 0, tmp_path / "metrics"

        def answered() -> int:
            return sum(b'"/login"' in f.read_bytes() for f in files.glob("counter_*.db"))

        with ThreadPoolExecutor(8) as pool:
            while answered() < 2:
                assert sent < 800, "one worker answered every request"
                list(pool.map(lambda _: urllib.request.urlopen(f"{base}/login", timeout=10).read(), range(40)))
                sent += 40
        for _ in range(3):  # whichever worker answers the scrape
            request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            text = urllib.request.urlopen(request, timeout=10).read().decode()
            counted = _samples(_families(text), "jisr_http_requests_total")
            assert counted[(("method", "GET"), ("route", "/login"), ("status", "200"))] == sent
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
