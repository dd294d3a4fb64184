"""Worker benchmark (not collected by pytest): the peak memory of a Celery worker doing the
heavy periodic and event work on a benchmark database.

Run with ``python -m tests.bench_worker [--leads 1000000] [--redis-db 15]`` (the web
benchmark runs it for each of its scales: :func:`measure`).  It copies the web
benchmark's database of that scale (``CREATE DATABASE … TEMPLATE``, so the shared
database is never written), then starts a worker as production does (``celery -A
workers.celery_app worker``, ``--concurrency=2``) with the copy's URL and a Redis database
of its own.  Production runs one worker per queue; this one serves them all, so that the
one process may hold what each kind of work leaves behind.  It sends it, one after the
other, waiting each time until the worker is idle:

- the digests' beat job, with one weekly subscription of an administrator reading every
  lead, confidential ones included (one digest over all the leads);
- the reminders' beat job, with a pending ``due`` rung for every open follow-up already due
  (one run sends up to 20 batches of 500: what a minute of the schedule sends at most);
- the nightly retention job;
- the relay, with a burst of unpublished events (stage changes of leads) for the consumers.

Exports are not worker work (the web server streams them).  After each step it reads the
peak resident memory (``VmHWM`` in ``/proc/<pid>/status``) of the worker's main process and
of its pool's processes; the largest at the end is the figure.  A step's seconds include
the few seconds of making sure the worker is idle.  The copy is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
COPY = "jisr_bench_worker_{leads}"
REDIS_DB = int(os.environ.get("BENCH_WORKER_REDIS_DB", "15"))
EVENT_BURST = 2_000
IDLE_TIMEOUT = 1_800.0  # seconds one step may take
TASKS = {
    "digests": "crm.digests.dispatch_due",
    "reminders": "crm.reminders.dispatch_due",
    "retention": "crm.core.apply_retention",
    "events": "crm.events.relay",
}


def _url(server: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(server)._replace(path=f"/{name}"))


def copy_database(server: str, source: str, target: str, attempts: int = 60) -> str:
    """A fresh copy of ``source``; PostgreSQL refuses while someone is connected to it, so retry."""
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        for attempt in range(attempts):
            try:
                conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == attempts - 1:
                    raise
                time.sleep(5)
    return _url(server, target)


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(url: str) -> dict[str, int]:
    """The work waiting for the worker: a digest over every lead, due reminders, unpublished events."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT min(id) FROM user_account WHERE role = 'admin' AND is_active").fetchone()
        admin = row[0] if row else None
        conn.execute(
            "INSERT INTO subscription (user_id, name, email, language, timezone, cadence, weekday, send_hour,"
            " filters, include_confidential, send_when_empty, is_active, created_at)"
            " VALUES (%s, 'Every lead', 'every-lead@bench.example', 'fr', 'Africa/Casablanca', 'weekly', 0, 8,"
            " '{}', true, true, true, now() - interval '400 days')",
            (admin,),
        )
        rungs = conn.execute(
            "INSERT INTO reminder_rung (followup_id, due_version, rung, recipient_id, fire_at, status)"
            " SELECT id, due_version, 'due', owner_id, due_at, 'pending' FROM followup"
            " WHERE status = 'open' AND due_at <= now() ON CONFLICT DO NOTHING"
        ).rowcount
        events = conn.execute(
            "INSERT INTO event (type, payload, actor_id, entity_type, entity_id, lead_id, occurred_at)"
            " SELECT type, payload, actor_id, entity_type, entity_id, lead_id, now() FROM event"
            " WHERE type = 'lead.stage_changed' ORDER BY id DESC LIMIT %s",
            (EVENT_BURST,),
        ).rowcount
        conn.execute("ANALYZE subscription, reminder_rung, event")
    return {"admin": admin or 0, "rungs": rungs, "events": events}


def peak_rss_mb(pid: int) -> dict[int, float]:
    """``VmHWM`` (peak resident memory) of ``pid`` and of its children, in MB."""
    found: dict[int, float] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        process = int(status.parent.name)
        if process == pid or fields.get("PPid", "").strip() == str(pid):
            found[process] = round(int(fields.get("VmHWM", "0 kB").split()[0]) / 1024, 1)
    return found


class Worker:
    """``celery -A workers.celery_app worker`` on every queue, stopped on exit."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        from workers.queues import QUEUES

        command = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", ",".join(QUEUES)]
        command += ["-n", f"bench-{os.getpid()}@%h", "--loglevel=INFO", "--concurrency=2"]
        environment = {**os.environ, **env}
        environment.pop("WORKER_METRICS_PORT", None)  # no metrics server: nothing else to measure
        self.log = open(log, "ab")  # noqa: SIM115 - closed on exit
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self.log, stderr=self.log, start_new_session=True
        )

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()  # a warm shutdown: the pool's processes stop first
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


class Client:
    """Sends tasks by name to the worker's broker and tells when the worker is idle."""

    def __init__(self, redis_url: str) -> None:
        from celery import Celery

        self.celery = Celery("jisr-bench-worker", broker=redis_url)
        self.redis = redis.Redis.from_url(redis_url)

    def send(self, name: str) -> None:
        from workers.queues import queue_of_task

        self.celery.send_task(name, queue=queue_of_task(name))

    def busy(self) -> int:
        from workers.queues import QUEUES

        waiting = sum(int(self.redis.llen(queue)) for queue in QUEUES)  # type: ignore[arg-type]
        inspect = self.celery.control.inspect(timeout=2.0, limit=1)  # one worker: its answer ends the wait
        held = 0
        for answer in (inspect.active(), inspect.reserved(), inspect.scheduled()):
            held += sum(len(tasks) for tasks in (answer or {}).values())
        return waiting + held

    def wait_ready(self, worker: Worker, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.process.poll() is not None:
                raise SystemExit(f"the worker stopped with code {worker.process.returncode} (see {worker.log.name})")
            if self.celery.control.ping(timeout=1.0):
                return
        raise SystemExit(f"the worker did not answer within {timeout:.0f} s (see {worker.log.name})")

    def wait_idle(self, worker: Worker, timeout: float = IDLE_TIMEOUT) -> None:
        """Idle: no task queued, running, reserved or scheduled, three times in a row."""
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 3:
            if worker.process.poll() is not None:
                raise SystemExit(f"the worker stopped with code {worker.process.returncode} (see {worker.log.name})")
            if time.monotonic() > deadline:
                raise SystemExit(f"the worker was still busy after {timeout:.0f} s (see {worker.log.name})")
            quiet = quiet + 1 if self.busy() == 0 else 0
            time.sleep(1.0)


def outcomes(url: str) -> dict[str, Any]:
    """What the worker did, read back from the copy (so a step that failed shows)."""
    with psycopg.connect(url) as conn:

        def one(sql: str) -> Any:
            return conn.execute(sql).fetchone()[0]  # type: ignore[index]

        return {
            "digest": one("SELECT string_agg(status, ',') FROM digest_run"),
            "rungs_sent": one("SELECT count(*) FROM reminder_rung WHERE status = 'sent'"),
            "rungs_due": one("SELECT count(*) FROM reminder_rung WHERE status = 'pending' AND fire_at <= now()"),
            "retention": one("SELECT count(*) FROM event WHERE type = 'retention.applied'"),
            "unpublished": one("SELECT count(*) FROM event WHERE published_at IS NULL"),
            "consumed": one("SELECT count(*) FROM consumed_event"),
        }


def redis_database(redis_url: str, number: int) -> str:
    """``redis_url`` on database ``number``: the worker's broker is emptied before and after."""
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(redis_url)._replace(path=f"/{number}"))


def measure(source_url: str, redis_url: str, redis_db: int = REDIS_DB, log_dir: Path | None = None) -> dict[str, Any]:
    """Copy the benchmark database at ``source_url``, run the worker's heavy work on the
    copy (broker: ``redis_url``'s server, database ``redis_db``), drop the copy; the figures."""
    log_dir = log_dir or ROOT / "bench-results"
    log_dir.mkdir(exist_ok=True)
    parts = urllib.parse.urlsplit(source_url)
    source, server = parts.path.lstrip("/"), urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(source_url) as conn:
        leads = int(conn.execute("SELECT count(*) FROM lead").fetchone()[0])  # type: ignore[index]
    copy = COPY.format(leads=leads)
    redis_url = redis_database(redis_url, redis_db)
    started = time.perf_counter()
    url = copy_database(server, source, copy)
    instance = tempfile.mkdtemp(prefix="jisr-bench-worker-")
    try:
        prepared = prepare(url)
        print(f"  worker benchmark on {copy} (copied in {time.perf_counter() - started:.0f} s): {prepared}")
        broker = redis.Redis.from_url(redis_url)
        broker.flushdb()
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-" + "k" * 40,
            "JISR_INSTANCE_PATH": instance,
            "PYTHONPATH": str(ROOT),
            "LOG_FORMAT": "text",
        }
        steps: dict[str, Any] = {}
        client = Client(redis_url)
        with Worker(env, log_dir / f"worker-{leads}.log") as worker:
            client.wait_ready(worker)
            steps["started"] = {"peak_mb": max(peak_rss_mb(worker.process.pid).values()), "seconds": 0.0}
            for step, task in TASKS.items():
                begun = time.perf_counter()
                client.send(task)
                time.sleep(1.0)
                client.wait_idle(worker)
                peaks = peak_rss_mb(worker.process.pid)
                steps[step] = {"peak_mb": max(peaks.values()), "seconds": round(time.perf_counter() - begun, 1)}
                figures = steps[step]
                print(f"    {step:<10} {figures['seconds']:>7.1f} s  largest peak so far {figures['peak_mb']} MB")
            peaks = peak_rss_mb(worker.process.pid)
            main_mb = peaks.pop(worker.process.pid, 0.0)
        broker.flushdb()
        done = outcomes(url)
    finally:
        drop_database(server, copy)
        shutil.rmtree(instance, ignore_errors=True)
    return {
        "leads": leads,
        "peak_mb": max([main_mb, *peaks.values()]),
        "main_mb": main_mb,
        "pool_mb": sorted(peaks.values(), reverse=True),
        "steps": steps,
        "prepared": prepared,
        "outcomes": done,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000, help="the web benchmark's database of this scale")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--redis-db", type=int, default=REDIS_DB, help="the Redis database the worker may empty")
    args = parser.parse_args()
    from tests.bench_web import DATA_VERSION, database_url

    source = database_url(args.server_url, f"jisr_bench_web_v{DATA_VERSION}_{args.leads}")
    figures = measure(source, args.redis_url, args.redis_db)
    print(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
