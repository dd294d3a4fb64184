"""Jisr as docker-compose runs it, as real processes: gunicorn with two workers, a Celery
worker on the events queue and one on the mail queues, one beat, PostgreSQL, a private
Redis and an SMTP server.  Through HTTP, an officer signs in, creates a lead and a
follow-up due in two minutes; the reminder is sent once, even though the mail worker is
killed (SIGKILL) in the middle of the SMTP dialogue and started again; ``/metrics`` counts
the reminder sent; every process is stopped at the end."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from crm.core.db import db
from crm.core.ledger import MailStatus, OutboundMail
from tests.factories import PASSWORD, make_organisation, make_user
from tests.processes import ROOT, SERVER_VARIABLES, RedisServer, app_for, free_port, start_beat, start_worker, stop
from tests.spine_helpers import Sink, due_soon, wait_for, waking_zone

pytestmark = pytest.mark.slow
TOKEN = "e2e-scrape-token-0123456789"
MAIL_QUEUES = "mail,digests,imports,webhooks"


class SlowFirstRecipient(Sink):
    """Keeps the first SMTP dialogue waiting at RCPT, long enough to kill its sender."""

    def __init__(self) -> None:
        super().__init__()
        self.recipients_asked = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        self.recipients_asked += 1
        if self.recipients_asked == 1:
            await asyncio.sleep(8)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if k not in (*SERVER_VARIABLES, "PROMETHEUS_MULTIPROC_DIR")}
    full.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT, env=full, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def csrf(page: str, prefix: str = "") -> str:
    found = re.search(rf'name="{prefix}csrf_token"[^>]*value="([^"]+)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


def sent_reminders(app: Any) -> list[OutboundMail]:
    with app.app_context():
        db.session.rollback()
        rows = db.session.exec(select(OutboundMail).where(OutboundMail.kind == "reminder")).all()
        return [row for row in rows if row.status == MailStatus.SENT]


def test_a_reminder_is_sent_once_by_the_production_processes_despite_a_killed_worker(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("production mode: PostgreSQL and Redis")
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    processes: list[subprocess.Popen[bytes]] = []
    app: Any = None
    with SlowFirstRecipient() as sink:
        port = free_port()
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "MAIL_URL": sink.url,
            "SECRET_KEY": "e2e-secret-key-for-every-process-0123456789",
            "BASE_URL": f"http://127.0.0.1:{port}",
            "JISR_INSTANCE_PATH": str(tmp_path / "instance"),
            "METRICS_TOKEN": TOKEN,
            "LOG_FORMAT": "json",
            "MAIL_LEASE_SECONDS": "4",
            "MAIL_RETRY_BASE_SECONDS": "0.2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "web-metrics"),
        }
        try:
            # Beat first: it runs the reminder dispatcher a minute after it starts.
            processes.append(start_beat(env, tmp_path / "beat.log", tmp_path / "celerybeat-schedule"))
            events_worker = start_worker(env, tmp_path / "worker-events.log", queues="events")
            mail_port = free_port()
            mail_env = {**env, "WORKER_METRICS_PORT": str(mail_port)}
            mail_worker = start_worker(mail_env, tmp_path / "worker-mail.log", queues=MAIL_QUEUES)
            web = start_gunicorn(env, port, tmp_path / "web.log")
            processes += [events_worker, mail_worker, web]

            app = app_for(env)
            zone = waking_zone()
            with app.app_context():
                officer = make_user(db.session, email="officer@jisr.example", language="fr", timezone=zone)
                ma = make_organisation(db.session, "MA", name_fr="Agence du Digital", acronym="ADD")
                us = make_organisation(db.session, "US", name_en="Oracle")
                db.session.commit()
                officer_id, ma_id, us_id = officer.id, ma.id, us.id

            base = f"http://127.0.0.1:{port}"
            browser = requests.Session()

            def serving() -> bool:
                try:
                    return browser.get(f"{base}/healthz", timeout=2).status_code == 200
                except requests.RequestException:
                    return False

            wait_for(serving, 60, "gunicorn")
            login = browser.get(f"{base}/login", timeout=10).text
            answer = browser.post(
                f"{base}/login",
                data={"email": "officer@jisr.example", "password": PASSWORD, "csrf_token": csrf(login)},
                allow_redirects=False,
                timeout=10,
            )
            assert answer.status_code == 302, answer.text[:2000]
            form = browser.get(f"{base}/leads/new", timeout=10).text
            answer = browser.post(
                f"{base}/leads/new",
                data={
                    "csrf_token": csrf(form),
                    "title": "Cloud souverain",
                    "ma_organisation_id": str(ma_id),
                    "us_organisation_id": str(us_id),
                    "partnership_type": "technology_partnership",
                    "stage": "contacted",
                    "owner_id": str(officer_id),
                    "priority": "high",
                    "currency": "USD",
                },
                allow_redirects=False,
                timeout=10,
            )
            assert answer.status_code == 302, answer.text[:2000]
            lead_path = answer.headers["Location"].removeprefix(base)
            page = browser.get(f"{base}{lead_path}", timeout=10).text
            due = due_soon(zone, 2)
            answer = browser.post(
                f"{base}{lead_path}/followups",
                data={
                    "followup-csrf_token": csrf(page, "followup-"),
                    "followup-title": "Envoyer la proposition",
                    "followup-due_local": due.strftime("%Y-%m-%dT%H:%M"),
                    "followup-timezone": zone,
                },
                allow_redirects=False,
                timeout=10,
            )
            assert answer.status_code == 302, answer.text[:2000]
            request_id = answer.headers["X-Request-ID"]

            # The mail worker is killed while the SMTP server makes it wait, then comes back
            # (as docker-compose's restart policy does).
            wait_for(lambda: sink.recipients_asked >= 1, 90, "the reminder's SMTP dialogue")
            stop(mail_worker, kill=True)
            assert mail_worker.returncode == -signal.SIGKILL
            mail_worker = start_worker(mail_env, tmp_path / "worker-mail-2.log", queues=MAIL_QUEUES)
            processes.append(mail_worker)

            wait_for(lambda: len(sent_reminders(app)) == 1, 60, "the reminder, after the lease expired")
            time.sleep(3)  # a second sweep, a late redelivery: nothing more goes out
            (reminder,) = sent_reminders(app)
            assert reminder.attempts == 2 and reminder.recipient_email == "officer@jisr.example"
            delivered = [m for m in sink.messages if m["Message-ID"] == reminder.message_id]
            assert len(delivered) == 1 and len(sink.messages) == 1
            assert "Envoyer la proposition" in str(delivered[0]["Subject"]) + delivered[0].get_body().get_content()

            scrape = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(scrape)
                for s in family.samples
            }
            assert samples[("jisr_mail_sent_total", (("kind", "reminder"),))] == 1
            assert (
                samples[("jisr_http_requests_total", (("method", "POST"), ("route", "/leads/new"), ("status", "302")))]
                == 1
            )
            worker_scrape = requests.get(f"http://127.0.0.1:{mail_port}/metrics", timeout=10).text
            assert 'jisr_worker_tasks_total{outcome="success",task="crm.mail.send"}' in worker_scrape

            # The follow-up's request id is in the web's JSON log lines; the worker's lines parse.
            web_lines = [json.loads(x) for x in (tmp_path / "web.log").read_text().splitlines() if x.startswith("{")]
            assert any(line.get("request_id") == request_id for line in web_lines)
            for name in ("worker-events.log", "worker-mail-2.log", "beat.log"):
                for line in (tmp_path / name).read_text().splitlines():
                    if line.startswith("{"):
                        json.loads(line)
        finally:
            # All at once, as `docker compose down` does: each gets SIGTERM, then the waits.
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in reversed(processes):
                stop(process)
            redis.stop()
            if app is not None:
                app.extensions["jisr.db"][0].dispose()
    assert all(process.poll() is not None for process in processes)
