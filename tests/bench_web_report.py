"""BENCHMARKS.md from the web benchmark's figures (``tests/bench_web.py``; not collected by pytest).

The targets are issue 15's: flat from the smallest scale to the largest, the API's lead
list and detail and the HTML lead list at a share of the floor, the board and the
dashboard within 100 ms at the 99th percentile, a web worker within 150 MB, a Celery worker
within 200 MB (``tests/bench_worker.py``: the digest over every lead, the reminders, the
retention job and a burst of events, on a copy of the scale's database).
"""

from __future__ import annotations

import re
from typing import Any

CONNECTIONS = 8  # wrk's connections


def _ratio(row: dict[str, Any], scale: dict[str, Any]) -> float:
    floor = "/leads?limit=10" if "limit=10" in row["path"] else "/leads?limit=50"
    return float(row["rps"]) / next(r["rps"] for r in scale["results"] if r["who"] == "floor" and r["path"] == floor)


def summary(scales: list[dict[str, Any]]) -> list[str]:
    """req/s of each request at each scale, and how much slower the largest scale is than the smallest."""
    if len(scales) < 2:
        return []
    head = " | ".join(f"{scale['leads']:,}" for scale in scales)
    lines = [
        "",
        "## Across the scales",
        "",
        "req/s (ratio to the floor measured in the same run). The slowdown compares the ratios of the "
        "smallest and the largest scale, so that a busier machine during one run does not count as a slowdown.",
        "",
    ]
    lines += [f"| request | as | {head} | slowdown |", "|---|---|" + "---:|" * (len(scales) + 1)]
    for first in scales[0]["results"]:
        key = (first["name"], first["who"])
        found = [next((r for r in scale["results"] if (r["name"], r["who"]) == key), None) for scale in scales]
        cells = " | ".join(f"{row['rps']:,.1f} ({row['ratio']:.3f})" if row else "—" for row in found)
        last = found[-1]
        slowdown = f"{_ratio(first, scales[0]) / _ratio(last, scales[-1]):.2f}×" if last and last["rps"] else "—"
        lines.append(f"| {first['name']} | {first['who']} | {cells} | {slowdown} |")
    return lines


def targets(scales: list[dict[str, Any]]) -> list[str]:
    """Issue 15's targets (officer unless said), each met or not by these figures."""
    rows = {(scale["leads"], r["name"], r["who"]): (r, scale) for scale in scales for r in scale["results"]}
    small, large = scales[0]["leads"], scales[-1]["leads"]

    def ratio(leads: int, name: str, who: str = "officer") -> float:
        return _ratio(*rows[(leads, name, who)])

    checks: list[tuple[str, bool]] = []
    if small != large:
        worst = max(
            (ratio(small, r["name"], r["who"]) / ratio(large, r["name"], r["who"]), r["name"], r["who"])
            for r in scales[0]["results"]
            if r["who"] != "floor" and (large, r["name"], r["who"]) in rows
        )
        checks.append(
            (
                f"{small:,} → {large:,} leads: none more than 1.3× slower (worst {worst[0]:.2f}×, {worst[1]})",
                worst[0] <= 1.3,
            )
        )
    for leads in (scale["leads"] for scale in scales):
        lists = min(ratio(leads, f"API lead list, {n} rows", who) for n in (10, 50) for who in ("officer", "admin"))
        checks.append((f"{leads:,}: API lead list ≥ 0.3× the floor ({lists:.3f})", lists >= 0.3))
        detail = ratio(leads, "API lead detail")
        checks.append((f"{leads:,}: API lead detail ≥ 0.5× the floor ({detail:.3f})", detail >= 0.5))
        html = ratio(leads, "/leads (HTML)")
        checks.append((f"{leads:,}: /leads ≥ 0.15× the floor ({html:.3f})", html >= 0.15))
    for name in ("/pipeline (board)", "/dashboard"):
        p99 = rows[(large, name, "officer")][0]["p99_ms"]
        checks.append((f"{large:,}: {name} p99 ≤ 100 ms ({p99:,.0f} ms)", p99 <= 100))
    rss = scales[-1]["worker_rss_mb"]["jisr"]
    checks.append((f"{large:,}: a web worker ≤ 150 MB RSS ({rss} MB)", rss <= 150))
    celery = scales[-1].get("celery_worker")
    if celery:  # runs before the worker benchmark existed have no figure
        peak = celery["peak_mb"]
        checks.append((f"{large:,}: a Celery worker ≤ 200 MB RSS ({peak} MB at its peak)", peak <= 200))
    lines = ["", "## Targets (issue 15)", ""]
    return lines + [f"- {'met' if met else '**not met**'}: {text}" for text, met in checks]


def celery_worker(figures: dict[str, Any] | None) -> list[str]:
    """The Celery worker's peak memory at this scale, and after which work it was reached."""
    if not figures:
        return []
    steps = figures["steps"]
    after = ", ".join(f"{name} {step['peak_mb']} MB ({step['seconds']:.0f} s)" for name, step in steps.items())
    return [
        f"Celery worker (all queues, 2 pool processes, on a copy of this database): peak RSS "
        f"{figures['peak_mb']} MB (main process {figures['main_mb']} MB); the largest peak after each step: {after}.",
        "",
    ]


def markdown(run: dict[str, Any]) -> str:
    info = run["scales"][0]["machine"]
    lines = [
        "# Web benchmarks",
        "",
        "Written by `make bench-web` (`tests/bench_web.py`); figures in "
        f"`{'`, `'.join(run['json'])}`. Jisr under gunicorn (`wsgi:app`, 2 sync workers) with PostgreSQL and "
        "Redis, against the floor: a bare Flask + psycopg app (`tests/bench_floor.py`) under the same "
        "gunicorn settings, answering the lead list's indexed page query "
        "(`ORDER BY updated_at DESC, id DESC LIMIT n`) as JSON. Load: "
        f"wrk, {CONNECTIONS} connections on 127.0.0.1 for {run['seconds']} s per request, as an officer "
        "(session cookie from the login form, or an API token) or as an admin. Data: `tests/bench_data.py` "
        "(the page benchmark's rows: about 2.5 events per lead, a follow-up on one lead in ten, "
        "one lead in 17 confidential). The ratio is the request's req/s over the floor's (the floor's 10 rows for "
        "requests of 10 rows, its 50 rows for every other request).",
        "",
        f"Machine: {info['cores']} cores (shared with other work: see each run's load average), "
        f"PostgreSQL {info['postgresql']}, Python {info['python']}, {info['wrk']}.",
    ]
    lines += targets(sorted(run["scales"], key=lambda scale: scale["leads"]))
    lines += summary(sorted(run["scales"], key=lambda scale: scale["leads"]))
    for scale in sorted(run["scales"], key=lambda scale: scale["leads"]):
        info, rss = scale["machine"], scale["worker_rss_mb"]
        lines += ["", f"## {scale['leads']:,} leads", ""]
        lines += [
            f"Run on {info['date']} (load average {info['load_average']} at the start); largest gunicorn "
            f"worker after the load: Jisr {rss['jisr']} MB, floor {rss['floor']} MB RSS.",
            "",
        ]
        lines += celery_worker(scale.get("celery_worker"))
        lines += ["| request | as | req/s | p99 ms | ratio to floor | KB |", "|---|---|---:|---:|---:|---:|"]
        for row in scale["results"]:
            path = re.sub(r"cursor=[^&]+", "cursor=…", row["path"])  # a next page: its cursor is long
            lines.append(
                f"| {row['name']} (`{path}`) | {row['who']} | {row['rps']:,.1f} | {row['p99_ms']:,.1f} "
                f"| {row['ratio']:.3f} | {row['kilobytes']:,.1f} |"
            )
    return "\n".join(lines) + "\n"
