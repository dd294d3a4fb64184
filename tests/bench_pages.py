"""Page benchmark (not collected by pytest): the officers' pages and the JSON API at scale.

Run with ``make bench-pages`` or ``python -m tests.bench_pages [--database-url URL]
[--reuse] [--repeat N] [--only TEXT]``.  It bulk-inserts a scratch database through
``tests/bench_data.py`` (SQLite in a temporary directory by default, or the PostgreSQL
database named by ``--database-url``): 100,000 leads with about 2.5 events each, 10,000
open follow-ups, 200 organisations (one of them on 5,000 leads), 2,000 contacts and
50 users.  Then, through the real application and Flask's test client, logged in as an
officer (and as an admin where visibility differs: admins see every confidential lead),
it requests each page ``--repeat`` times after one warm-up request and prints the median
and 95th percentile time and the SQL statements per request.

``--reuse`` runs again on a database that an earlier run filled (given with
``--database-url``: a PostgreSQL database, or a ``sqlite:///`` file).
``--only TEXT`` (repeatable) runs the cases whose name contains TEXT; ``--json FILE`` also writes the
figures to FILE.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time
from typing import Any

import sqlalchemy as sa

from tests import bench_data
from tests.bench_data import PAGES, PASSWORD, Scale, email_of

OFFICER = 1  # owns about 2,200 leads and 1,100 open follow-ups
BIG_ORGANISATION = 1  # ADD: 5,000 leads
LONG_HISTORY_LEAD = 1  # 2,000 events


@dataclasses.dataclass
class Case:
    name: str
    who: str  # "officer" or "admin"
    path: str
    api: bool = False


@dataclasses.dataclass
class Figures:
    case: Case
    median_ms: float
    p95_ms: float
    statements: float
    status: int
    kilobytes: float


def cases(scale: Scale, event_ids: tuple[int, int]) -> list[Case]:
    us = scale.organisations // 2 + 1
    middle, last = event_ids
    page = [
        ("lead list", "/leads"),
        ("lead list, page 50", "/leads?page=50"),
        ("lead list, stage", "/leads?stage=proposal"),
        ("lead list, two stages", "/leads?stage=proposal&stage=negotiation"),
        ("lead list, sector", "/leads?sector=3"),
        ("lead list, type", "/leads?type=technology_partnership"),
        ("lead list, Moroccan organisation", f"/leads?ma={BIG_ORGANISATION}"),
        ("lead list, US organisation", f"/leads?us={us}"),
        ("lead list, owner me", "/leads?owner=me"),
        ("lead list, mission", "/leads?mission=2"),
        ("lead list, overdue", "/leads?overdue=1"),
        ("lead list, due this week", "/leads?due=week"),
        ("lead list, sort title", "/leads?sort=title&order=asc"),
        ("lead list, sort stage", "/leads?sort=stage&order=asc"),
        ("lead list, sort value", "/leads?sort=value&order=desc"),
        ("lead list, sort next follow-up", "/leads?sort=next_due&order=asc"),
        ("lead list, sort owner", "/leads?sort=owner&order=asc"),
        ("lead list, sort updated (oldest)", "/leads?sort=updated&order=asc"),
        ("search, acronym", "/search?q=ADD"),
        ("search, Arabic name", "/search?q=وكالة التنمية"),
        ("search, word in thousands", "/search?q=cloud"),
        ("search, no match", "/search?q=zqxwv"),
        ("lead page, 2,000 events", f"/leads/{LONG_HISTORY_LEAD}"),
        ("lead page, typical", "/leads/2"),
        ("today", "/today"),
        ("pipeline", "/pipeline"),
        ("follow-ups", "/followups"),
        ("dashboard", "/dashboard"),
        ("organisation, 5,000 leads", f"/organisations/{BIG_ORGANISATION}"),
        ("export CSV, 5,000 leads", f"/leads/export?format=csv&ma={BIG_ORGANISATION}"),
        ("export XLSX, 5,000 leads", f"/leads/export?format=xlsx&ma={BIG_ORGANISATION}"),
    ]
    api = [
        ("API leads", "/api/v1/leads"),
        ("API leads, page 1000", "/api/v1/leads?page=1000"),
        ("API leads, stage, by title", "/api/v1/leads?stage=proposal&sort=title"),
        ("API leads, overdue", "/api/v1/leads?overdue=true"),
        ("API leads, q", "/api/v1/leads?q=cloud"),
        ("API leads, by next follow-up", "/api/v1/leads?sort=next_followup_due_at"),
        ("API leads, by value, 100", "/api/v1/leads?sort=-estimated_value&limit=100"),
        ("API leads, owner, page 20", f"/api/v1/leads?owner_id={OFFICER}&page=20"),
        ("API events, from the start", "/api/v1/events"),
        ("API events, after the middle", f"/api/v1/events?after={middle}"),
        ("API events, after the last", f"/api/v1/events?after={last}"),
        ("API events, one lead", f"/api/v1/events?lead_id={LONG_HISTORY_LEAD}"),
        ("API follow-ups", "/api/v1/followups"),
        ("API follow-ups, open, latest", "/api/v1/followups?status=open&sort=-due_at"),
        ("API follow-ups, page 100", "/api/v1/followups?page=100"),
    ]
    admin = [
        ("lead list", "/leads"),
        ("lead list, overdue", "/leads?overdue=1"),
        ("search, word in thousands", "/search?q=cloud"),
        ("pipeline", "/pipeline"),
        ("follow-ups, everyone's", "/followups?owner=all"),
        ("dashboard", "/dashboard"),
        ("organisation, 5,000 leads", f"/organisations/{BIG_ORGANISATION}"),
        ("export CSV, 5,000 leads", f"/leads/export?format=csv&ma={BIG_ORGANISATION}"),
    ]
    admin_api = [
        ("API leads", "/api/v1/leads"),
        ("API leads, page 1000", "/api/v1/leads?page=1000"),
        ("API events, after the middle", f"/api/v1/events?after={middle}"),
    ]
    return [
        *(Case(name, "officer", path) for name, path in page),
        *(Case(name, "officer", path, api=True) for name, path in api),
        *(Case(name, "admin", path) for name, path in admin),
        *(Case(name, "admin", path, api=True) for name, path in admin_api),
    ]


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(client: Any, case: Case, headers: dict[str, str], repeat: int, counter: list[int]) -> Figures:
    response = client.get(case.path, headers=headers)
    body = response.data  # a streamed export is read to its end
    if response.status_code != 200:
        raise SystemExit(f"{case.path}: answered {response.status_code}")
    counter[0] = 0
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(case.path, headers=headers)
        body = response.data
        samples.append((time.perf_counter() - started) * 1000)
    return Figures(
        case=case,
        median_ms=statistics.median(samples),
        p95_ms=_percentile(samples, 0.95),
        statements=counter[0] / repeat,
        status=response.status_code,
        kilobytes=len(body) / 1024,
    )


def _prepare(app: Any, scale: Scale) -> tuple[dict[str, Any], dict[str, str], tuple[int, int]]:
    """Logged-in clients and API tokens of the officer and an admin; two event cursors."""
    from crm.accounts.models import User
    from crm.api.operations import create_api_token
    from crm.core.db import db

    admin_id = scale.officers + 1
    clients, tokens = {}, {}
    with app.app_context():
        for who, user_id in (("officer", OFFICER), ("admin", admin_id)):
            user = db.session.get(User, user_id)
            _, tokens[who] = create_api_token(db.session, user, name="Page benchmark", scope="read")
            db.session.commit()
            client = app.test_client()
            answer = client.post("/login", data={"email": email_of(user_id, scale), "password": PASSWORD})
            if answer.status_code != 302:
                raise SystemExit(f"logging in as {who} answered {answer.status_code}")
            clients[who] = client
        last = db.session.execute(sa.text("SELECT max(id) FROM event")).scalar_one()
    return clients, tokens, (last // 2, last)


def _print(figures: Figures) -> None:
    who = "admin  " if figures.case.who == "admin" else "officer"
    print(
        f"{figures.case.name:<36} {who} {figures.median_ms:>9.1f} {figures.p95_ms:>9.1f} "
        f"{figures.statements:>6.1f} {figures.kilobytes:>9.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--leads", type=int, default=PAGES.leads)
    parser.add_argument("--repeat", type=int, default=10, help="timed requests per page (after one warm-up)")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run (PostgreSQL)")
    parser.add_argument(
        "--only", action="append", default=[], help="run the cases whose name contains this text (repeatable)"
    )
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if args.reuse and not args.database_url:
        parser.error("--reuse needs --database-url (a scratch SQLite database is new each run)")
    scale = dataclasses.replace(PAGES, leads=args.leads)
    scratch = tempfile.mkdtemp(prefix="jisr-bench-")
    os.environ["JISR_INSTANCE_PATH"] = scratch
    url = args.database_url or f"sqlite:///{scratch}/bench.sqlite"

    from crm import create_app
    from crm.core.db import db
    from crm.core.migrate import upgrade
    from crm.feed.rebuild import rebuild as rebuild_feed
    from crm.summaries.rebuild import rebuild as rebuild_summaries

    upgrade(url)
    config = {
        "DATABASE_URL": url,
        "TESTING": True,
        "RELAY_KICK": False,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "jisr.bench",
    }
    app = create_app(config)
    with app.app_context():
        engine = db.engine
        found = bench_data.lead_count(engine)
        started = time.perf_counter()
        if args.reuse:
            if found != args.leads:
                parser.error(f"--reuse: the database holds {found:,} leads, not {args.leads:,}")
        elif found:
            parser.error(f"the database already holds {found:,} leads: give --reuse or an empty database")
        else:
            bench_data.populate(engine, scale)
        with engine.begin() as conn:
            # The fill writes without events: the summaries and feeds are computed from its rows.
            if not args.reuse or not conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM summary_lead)")).scalar_one():
                rebuild_summaries(conn)
            if not args.reuse:  # a database filled before the feeds got them from the migration
                rebuild_feed(conn)
        bench_data.analyse(engine)
        inserted = time.perf_counter() - started
        with engine.connect() as conn:
            events = conn.execute(sa.text("SELECT count(*) FROM event")).scalar_one()
    clients, tokens, cursors = _prepare(app, scale)
    counter = [0]
    sa.event.listen(engine, "before_cursor_execute", lambda *a: counter.__setitem__(0, counter[0] + 1))
    print(f"database            {engine.dialect.name} ({url.split('@')[-1]})")
    if not args.reuse:
        print(f"bulk insert         {args.leads:,} leads, {events:,} events: {inserted:.1f} s")
    print(f"load average        {os.getloadavg()[0]:.2f} before the run ({os.cpu_count()} CPUs)")
    print(f"requests            {args.repeat} per page after one warm-up\n")
    print(f"{'page':<36} {'as':<7} {'median ms':>9} {'p95 ms':>9} {'SQL':>6} {'KB':>9}")
    results = []
    for case in cases(scale, cursors):
        if args.only and not any(text.lower() in case.name.lower() for text in args.only):
            continue
        headers = {"Authorization": f"Bearer {tokens[case.who]}"} if case.api else {}
        figures = measure(clients[case.who], case, headers, args.repeat, counter)
        _print(figures)
        results.append(figures)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            rows = [
                {**dataclasses.asdict(f.case), **{k: v for k, v in dataclasses.asdict(f).items() if k != "case"}}
                for f in results
            ]
            json.dump({"database": engine.dialect.name, "repeat": args.repeat, "figures": rows}, out, indent=1)


if __name__ == "__main__":
    main()
