"""Web benchmark (not collected by pytest): Jisr under gunicorn against a bare floor.

Run with ``make bench-web`` or ``python -m tests.bench_web [--scales 10000,100000,1000000]
[--quick] [--seconds N] [--only TEXT]``.  For each scale it fills a PostgreSQL database
with ``tests/bench_data.py`` (the page benchmark's data; ``COPY``, so a million leads take
minutes), named by the scale and :data:`DATA_VERSION` so that a later run reuses it.  It
then serves the database as in production (gunicorn, ``wsgi:app``, 2 sync workers) and,
in the same run and under the same gunicorn settings, the floor (``tests/bench_floor.py``:
bare Flask + psycopg answering the lead list's indexed page query as JSON).  ``wrk`` loads
each request on 127.0.0.1 with 8 connections for ``--seconds``, logged in as an officer
(through the login form) or with an API token.  It writes ``BENCHMARKS.md`` (req/s, p99
and the ratio to the floor, per scale) and ``bench-results/web-<date>.json``.

``--server-url`` is the PostgreSQL server (default: ``DATABASE_URL``'s server, or
postgres@127.0.0.1:5432); ``--redis-url`` defaults to ``REDIS_URL``.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from tests import bench_data, bench_worker
from tests.bench_data import PAGES, PASSWORD, Scale, email_of
from tests.bench_web_report import CONNECTIONS, markdown

ROOT = Path(__file__).resolve().parent.parent
DATA_VERSION = 1  # raise when bench_data.py's rows change: older databases are then not reused
COMPLETE = f"jisr bench data v{DATA_VERSION} complete"
SCALES = (10_000, 100_000, 1_000_000)
QUICK = 2_000
USER_AGENT = "jisr-bench-web"
OFFICER = 1
TYPICAL_LEAD = 2  # not confidential: every officer sees it


@dataclasses.dataclass
class Case:
    name: str
    who: str  # "officer", "admin" or "floor"
    path: str
    api: bool = False
    follow: bool = False  # measure the page after ``path`` (its "next" link or cursor)


CASES = [
    Case("floor: bare Flask + psycopg, 50 rows", "floor", "/leads?limit=50"),
    Case("floor: bare Flask + psycopg, 10 rows", "floor", "/leads?limit=10"),
    Case("API lead list, 10 rows", "admin", "/api/v1/leads?limit=10", api=True),
    Case("API lead list, 10 rows", "officer", "/api/v1/leads?limit=10", api=True),
    Case("API lead list, 50 rows", "admin", "/api/v1/leads?limit=50", api=True),
    Case("API lead list, 50 rows", "officer", "/api/v1/leads?limit=50", api=True),
    Case("API lead list, 50 rows, next page", "officer", "/api/v1/leads?limit=50", api=True, follow=True),
    Case("API lead detail", "officer", f"/api/v1/leads/{TYPICAL_LEAD}", api=True),
    Case("API events, 50", "officer", "/api/v1/events?limit=50", api=True),
    Case("API follow-ups", "officer", "/api/v1/followups", api=True),
    Case("/leads (HTML)", "officer", "/leads"),
    Case("/leads (HTML), next page", "officer", "/leads", follow=True),
    Case("/search?q=cloud", "officer", "/search?q=cloud"),
    Case("/pipeline (board)", "officer", "/pipeline"),
    Case("/dashboard", "officer", "/dashboard"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_url(given: str | None) -> str:
    url = given or os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    parts = urllib.parse.urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    return urllib.parse.urlunsplit(parts._replace(path="/postgres"))


def database_url(server: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(server)._replace(path=f"/{name}"))


def ensure_database(server: str, leads: int) -> tuple[str, float | None]:
    """The URL of a database holding ``leads`` leads of this data version; the fill's seconds if filled now."""
    name = f"jisr_bench_web_v{DATA_VERSION}_{leads}"
    with psycopg.connect(server, autocommit=True) as conn:
        found = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if found and found[0] == COMPLETE:
            url = database_url(server, name)
            summarise(url, only_if_empty=True)
            return url, None
        if found:  # an interrupted fill
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(server, name)
    from crm.core.migrate import upgrade

    started = time.perf_counter()
    upgrade(url)
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        bench_data.populate(engine, dataclasses.replace(PAGES, leads=leads))
    finally:
        engine.dispose()
    summarise(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{COMPLETE}'")
    return url, time.perf_counter() - started


def summarise(url: str, *, only_if_empty: bool = False) -> None:
    """Bring the database to the current schema and fill the summaries from its rows (the
    fill writes with ``COPY``, without events for the consumer to follow); a database
    filled before the summaries existed gets them here, once, then is analysed."""
    from crm.core.migrate import upgrade
    from crm.summaries.rebuild import rebuild

    upgrade(url)
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            if only_if_empty and conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM summary_lead)")).scalar_one():
                return
            rebuild(conn)
        bench_data.analyse(engine)
    finally:
        engine.dispose()


def api_tokens(url: str, scale: Scale, instance: str) -> dict[str, str]:
    """A fresh read token of the officer and of an admin (only hashes are stored, so none is reused)."""
    from crm import create_app
    from crm.accounts.models import User
    from crm.api.operations import create_api_token
    from crm.core.db import db

    os.environ["JISR_INSTANCE_PATH"] = instance
    app = create_app({"DATABASE_URL": url, "RELAY_KICK": False})
    tokens = {}
    with app.app_context():
        for who, user_id in (("officer", OFFICER), ("admin", scale.officers + 1)):
            user = db.session.get(User, user_id)
            _, tokens[who] = create_api_token(db.session, user, name="Web benchmark", scope="read")
            db.session.commit()
        db.engine.dispose()
    return tokens


class Served:
    """A gunicorn with 2 sync workers on a free port of 127.0.0.1, stopped on exit."""

    def __init__(self, target: str, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "gunicorn", target, "--workers", "2", "--worker-class", "sync"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        self.log = open(log, "ab")  # noqa: SIM115 - closed on exit
        self.process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **env}, stdout=self.log, stderr=self.log, start_new_session=True
        )

    def wait(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped with code {self.process.returncode} (see {self.log.name})")
            try:
                with urllib.request.urlopen(self.base + path, timeout=5):
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"{self.base}{path} did not answer within 60 s")

    def workers_rss_mb(self) -> float:
        """The largest resident memory of this gunicorn's workers, in MB (Linux's /proc)."""
        largest = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except OSError:
                continue
            if fields.get("PPid", "").strip() == str(self.process.pid):
                largest = max(largest, int(fields.get("VmRSS", "0 kB").split()[0]))
        return round(largest / 1024, 1)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()  # the master stops its workers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def session_cookie(base: str, email: str) -> str:
    """Log in through the real form; the ``Cookie`` header of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(base + "/login") as answer:
        form = answer.read().decode()
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    fields = {"email": email, "password": PASSWORD, "csrf_token": match.group(1) if match else ""}
    with opener.open(base + "/login", data=urllib.parse.urlencode(fields).encode()) as answer:
        if urllib.parse.urlsplit(answer.geturl()).path.startswith("/login"):
            raise SystemExit(f"logging in as {email} failed")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


class _Unfollowed(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect (to the login page, say) is an answer of its own


def fetch_once(url: str, headers: dict[str, str]) -> tuple[int, int]:
    """One request before the load: its status (redirects not followed) and its size."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    try:
        with urllib.request.build_opener(_Unfollowed()).open(request, timeout=120) as answer:
            return answer.status, len(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, 0


def next_page(base: str, path: str, headers: dict[str, str], api: bool) -> str:
    """The path of the page after ``path``: the API's ``next_cursor``, a page's ``rel="next"`` link."""
    request = urllib.request.Request(base + path, headers={"User-Agent": USER_AGENT, **headers})
    with urllib.request.build_opener(_Unfollowed()).open(request, timeout=120) as answer:
        body = answer.read().decode()
    if api:
        cursor = json.loads(body)["next_cursor"]
        return f"{path}&cursor={urllib.parse.quote(cursor)}"
    found = re.search(r'rel="next" href="([^"]+)"', body)
    if found is None:
        raise SystemExit(f"{path} has no next page")
    return html.unescape(found.group(1))


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, headers: dict[str, str], seconds: int) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
    for name, value in {"User-Agent": USER_AGENT, **headers}.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(errors.group(1)) if errors else 0}


def measure_scale(leads: int, args: argparse.Namespace, server: str) -> dict[str, Any]:
    scale = dataclasses.replace(PAGES, leads=leads)
    url, filled = ensure_database(server, leads)
    started = machine(server)
    print(f"\n{leads:,} leads: {url.rsplit('/', 1)[1]}" + (f", filled in {filled:.0f} s" if filled else ", reused"))
    instance = tempfile.mkdtemp(prefix="jisr-bench-web-")
    tokens = api_tokens(url, scale, instance)
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-" + "k" * 40,
        "JISR_INSTANCE_PATH": instance,
        "API_RATE_LIMIT_PER_MINUTE": "100000",
        "PYTHONPATH": str(ROOT),
    }
    floor_env = {"FLOOR_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    rows = []
    logs = ROOT / "bench-results" / f"web-{leads}"
    jisr_served = Served("wsgi:app", env, ROOT, logs.with_suffix(".jisr.log"))
    floor_served = Served("tests.bench_floor:app", floor_env, Path(instance), logs.with_suffix(".floor.log"))
    with jisr_served as jisr, floor_served as floor:
        jisr.wait("/login")
        floor.wait("/leads?limit=1")
        headers = {
            "officer": {"Cookie": session_cookie(jisr.base, email_of(OFFICER, scale))},
            "floor": {},
        }
        for case in CASES:
            wanted = not args.only or any(text.lower() in case.name.lower() for text in args.only)
            if not wanted and case.who != "floor":
                continue
            sent = {"Authorization": f"Bearer {tokens[case.who]}"} if case.api else headers[case.who]
            if case.follow:
                case = dataclasses.replace(case, path=next_page(jisr.base, case.path, sent, case.api))
            target = (floor.base if case.who == "floor" else jisr.base) + case.path
            status, size = fetch_once(target, sent)
            if status != 200:
                raise SystemExit(f"{case.path} as {case.who} answered {status}")
            figures = run_wrk(target, sent, args.seconds)
            rows.append({**dataclasses.asdict(case), "kilobytes": round(size / 1024, 1), **figures})
            print(f"  {case.name:<40} {case.who:<7} {figures['rps']:>8.1f} req/s  p99 {figures['p99_ms']:>7.1f} ms")
        rss = {"jisr": jisr.workers_rss_mb(), "floor": floor.workers_rss_mb()}
    shutil.rmtree(instance, ignore_errors=True)
    print(f"  gunicorn's logs: {logs}.jisr.log, {logs}.floor.log")
    celery = bench_worker.measure(url, args.redis_url)
    floors = {row["path"]: row["rps"] for row in rows if row["who"] == "floor"}
    for row in rows:  # 10 rows against the floor's 10, everything else against its 50
        floor_rps = floors["/leads?limit=10"] if "limit=10" in row["path"] else floors["/leads?limit=50"]
        row["ratio"] = round(row["rps"] / floor_rps, 3)
    return {
        "leads": leads,
        "filled_seconds": filled,
        "machine": started,
        "worker_rss_mb": rss,
        "celery_worker": celery,
        "results": rows,
    }


def machine(server: str) -> dict[str, Any]:
    with psycopg.connect(server) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "postgresql": version,
        "python": sys.version.split()[0],
        "wrk": wrk.split(" [")[0].strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default=",".join(str(n) for n in SCALES), help="leads per database, with commas")
    parser.add_argument("--quick", action="store_true", help=f"one database of {QUICK:,} leads only")
    parser.add_argument("--seconds", type=int, default=15, help="wrk's duration per request")
    parser.add_argument("--server-url", default=None, help="the PostgreSQL server")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--only", action="append", default=[], help="run the requests whose name contains TEXT")
    parser.add_argument(
        "--keep", default=None, help="an earlier run's JSON: its scales not measured now stay in the table"
    )
    parser.add_argument("--markdown", default=str(ROOT / "BENCHMARKS.md"), help="the table's file")
    parser.add_argument("--render", default=None, help="only write the table from this run's JSON")
    args = parser.parse_args()
    if args.render:
        Path(args.markdown).write_text(markdown(json.loads(Path(args.render).read_text())), encoding="utf-8")
        return
    if shutil.which("wrk") is None:
        parser.error("wrk is missing: sudo apt-get install -y wrk")
    try:
        scales = [QUICK] if args.quick else [int(n.replace("_", "")) for n in args.scales.split(",") if n.strip()]
    except ValueError:
        parser.error("--scales: numbers of leads separated by commas, e.g. 10000,100000")
    if not scales or min(scales) < 100:
        parser.error("--scales: at least 100 leads per database")
    server = server_url(args.server_url)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    results = ROOT / "bench-results"
    results.mkdir(exist_ok=True)
    target = results / f"web-{stamp}.json"
    run: dict[str, Any] = {"seconds": args.seconds, "json": [f"bench-results/{target.name}"], "scales": []}
    for leads in scales:
        run["scales"].append(measure_scale(leads, args, server))
        target.write_text(json.dumps(run, indent=1))
    if args.keep:
        earlier = json.loads(Path(args.keep).read_text())
        kept = [scale for scale in earlier["scales"] if scale["leads"] not in scales]
        if kept:
            run["scales"] += kept
            run["json"] += [name for name in earlier["json"] if name not in run["json"]]
            target.write_text(json.dumps(run, indent=1))
    Path(args.markdown).write_text(markdown(run), encoding="utf-8")
    print(f"\nwrote {args.markdown} and {target}")


if __name__ == "__main__":
    main()
