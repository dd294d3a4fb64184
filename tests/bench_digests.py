"""Digest benchmark (not collected by pytest): 100,000 leads, 1,000 subscriptions.

Run with ``make bench`` or ``python -m tests.bench_digests [--database-url URL]``.  It
bulk-inserts a scratch database (SQLite in a temporary directory by default, or the
PostgreSQL database named by ``--database-url``, whose tables it fills; the rows come
from ``tests/bench_data.py``, which the page benchmark shares), then runs what
beat and the chunk tasks run: find the due subscriptions, compile, render and queue each
digest, and prints the figures.

Of the subscriptions, some follow one institution (four readers read the same digest,
compiled once per chunk), most are the only ones with their filters (two institutions, a
firm in a sector, an officer's own leads with a firm): about 700 different digests for
1,000 subscriptions.  ``--no-sharing`` compiles every digest on its own, as if no two
subscriptions had the same filters.
``--reuse`` runs again on a PostgreSQL database that an earlier run filled.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from tests import bench_data
from tests.bench_data import NOW, Scale

LEADS = 100_000
SUBSCRIPTIONS = 1_000


def populate(engine: sa.Engine, leads: int, subscriptions: int) -> None:
    from crm.digests.models import Subscription

    bench_data.populate(engine, Scale(leads=leads))
    t0 = NOW - timedelta(days=400)
    with engine.begin() as conn:
        subs = []
        for i in range(subscriptions):
            kind, k = i % 5, i // 5
            filters: dict[str, list[Any]] = [
                # the focal points of one Moroccan institution (four readers each)
                {"ma_organisation_ids": [1 + k % 50]},
                # two Moroccan institutions (one reader each)
                {"ma_organisation_ids": sorted({1 + k % 50, 1 + (k + 1 + k // 50) % 50})},
                # a US firm's people (four readers each)
                {"us_organisation_ids": [51 + k % 50]},
                # a US firm in one sector (one reader each)
                {"us_organisation_ids": [51 + k % 50], "sector_ids": [1 + (k + k // 50) % 10]},
                # an officer's own leads with one US firm (one reader each)
                {"owner_ids": [1 + k % 20], "us_organisation_ids": [51 + (k // 20) % 50]},
            ][kind]
            subs.append(
                {
                    "user_id": 1 + k % 20 if kind == 4 else None,
                    "name": f"Stakeholder {i}",
                    "email": f"stakeholder{i}@bench.example",
                    "language": ("ar", "fr", "en")[i % 3],
                    "timezone": "Africa/Casablanca",
                    "cadence": "weekly",
                    "weekday": 0,
                    "send_hour": 8,
                    "filters": filters,
                    "include_confidential": False,
                    "send_when_empty": False,
                    "is_active": True,
                    "created_at": t0,
                }
            )
        bench_data.batched(conn, Subscription.__table__, subs)


_worker_app: Any = None


class _Forgetful(dict[Any, Any]):
    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def _no_sharing() -> None:
    """Every digest compiled on its own (the worst case: all filters different)."""
    from crm.digests.facts import DigestFacts

    original = DigestFacts.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.compiled = _Forgetful()

    DigestFacts.__init__ = init  # type: ignore[method-assign]


def _init_worker(url: str) -> None:
    """Each pool process is one worker: its own app, engine and session."""
    global _worker_app
    from crm import create_app

    _worker_app = create_app({"DATABASE_URL": url, "TESTING": True, "RELAY_KICK": False, "SERVER_NAME": "jisr.bench"})


def _run_chunk(chunk: list[int]) -> dict[str, int]:
    from crm.core.db import db
    from crm.digests.dispatch import dispatch_chunk

    with _worker_app.app_context():
        return dispatch_chunk(db.session, chunk, NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--leads", type=int, default=LEADS)
    parser.add_argument("--subscriptions", type=int, default=SUBSCRIPTIONS)
    parser.add_argument(
        "--workers", type=int, default=1, help="processes compiling chunks at once, like Celery worker processes"
    )
    parser.add_argument("--no-sharing", action="store_true", help="compile each digest on its own")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run (PostgreSQL)")
    args = parser.parse_args()
    if args.reuse and not args.database_url:
        parser.error("--reuse needs --database-url (a scratch SQLite database is new each run)")
    if args.no_sharing:
        _no_sharing()
    scratch = tempfile.mkdtemp(prefix="jisr-bench-")
    os.environ["JISR_INSTANCE_PATH"] = scratch
    url = args.database_url or f"sqlite:///{scratch}/bench.sqlite"

    from crm import create_app
    from crm.core.db import db
    from crm.core.ledger import OutboundMail
    from crm.core.migrate import upgrade
    from crm.digests.dispatch import chunks, dispatch_chunk, due_subscription_ids
    from crm.digests.models import Subscription

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "TESTING": True, "RELAY_KICK": False, "SERVER_NAME": "jisr.bench"})
    with app.app_context():
        engine = db.engine
        started = time.perf_counter()
        if args.reuse:
            with engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM digest_run")
                conn.exec_driver_sql("DELETE FROM outbound_mail")
                found_leads = conn.exec_driver_sql("SELECT count(*) FROM lead").scalar_one()
            if found_leads != args.leads:
                parser.error(f"--reuse: the database holds {found_leads:,} leads, not {args.leads:,}")
        else:
            populate(engine, args.leads, args.subscriptions)
            bench_data.analyse(engine)
        inserted = time.perf_counter() - started
        statements = [0]
        sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        started = time.perf_counter()
        due = due_subscription_ids(db.session, NOW)
        found = time.perf_counter() - started
        readers = {
            (json.dumps(s.filters, sort_keys=True), s.user_id)
            for s in db.session.exec(select(Subscription).where(col(Subscription.id).in_(due))).all()
        }
        db.session.rollback()
        load = os.getloadavg()[0]
        started = time.perf_counter()
        results: dict[str, int] = {}
        if args.workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            engine.dispose()
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(
                args.workers, mp_context=context, initializer=_init_worker, initargs=(url,)
            ) as pool:
                outcomes = list(pool.map(_run_chunk, chunks(due)))
        else:
            outcomes = [dispatch_chunk(db.session, chunk, NOW) for chunk in chunks(due)]
        for outcome in outcomes:
            for key, value in outcome.items():
                results[key] = results.get(key, 0) + value
        compiled = time.perf_counter() - started
        again = due_subscription_ids(db.session, NOW)
        mails = db.session.execute(sa.select(sa.func.count()).select_from(OutboundMail)).scalar_one()
    print(f"database            {engine.dialect.name} ({url.split('@')[-1]})")
    if not args.reuse:
        print(f"bulk insert         {args.leads:,} leads, {args.subscriptions:,} subscriptions: {inserted:.1f} s")
    print(f"due subscriptions   {len(due):,} found in {found * 1000:.0f} ms; {len(readers):,} distinct filter sets")
    print(f"load average        {load:.2f} before the run ({os.cpu_count()} CPUs)")
    print(
        f"compile+render+queue {compiled:.1f} s with {args.workers} process(es)"
        f"{', no sharing' if args.no_sharing else ''} ({compiled / max(1, len(due)) * 1000:.1f} ms per digest)"
    )
    if args.workers == 1:
        print(f"statements          {statements[0]:,} ({statements[0] / max(1, len(due)):.1f} per digest)")
    print(f"outcomes            {results}; mail-ledger rows {mails:,}; due after the run: {len(again)}")


if __name__ == "__main__":
    main()
