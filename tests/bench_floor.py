"""The floor of the web benchmark (not collected by pytest): a bare Flask + psycopg app.

``make bench-web`` serves it with the same gunicorn settings as Jisr and measures it in the
same run, so each figure of ``BENCHMARKS.md`` is set against what this machine, this
PostgreSQL and this web stack cost for one indexed page query and its JSON, with no
sessions, rights, templates or ORM.  It reads its database from ``FLOOR_DATABASE_URL``.

``GET /leads?limit=N`` answers the newest N leads (at most 100), the page the lead list
shows, as ``{"items": [...]}``.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from flask import Flask, jsonify, request

PAGE_QUERY = """
SELECT id, title, stage, owner_id, ma_organisation_id, us_organisation_id, estimated_value::text,
       currency, confidential, updated_at
FROM lead
ORDER BY updated_at DESC, id DESC
LIMIT %s
"""

app = Flask(__name__)
_connection: list[psycopg.Connection[Any]] = []


def connection() -> psycopg.Connection[Any]:
    """One connection per worker process, opened on its first request."""
    if not _connection or _connection[0].closed:
        url = os.environ["FLOOR_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        _connection[:] = [psycopg.connect(url, autocommit=True)]
    return _connection[0]


@app.get("/leads")
def leads() -> Any:
    limit = max(1, min(request.args.get("limit", 50, type=int) or 50, 100))
    with connection().cursor() as cursor:
        cursor.execute(PAGE_QUERY, (limit,))
        names = [column.name for column in cursor.description or ()]
        rows = cursor.fetchall()
    items = []
    for row in rows:
        item = dict(zip(names, row, strict=True))
        item["updated_at"] = item["updated_at"].isoformat()
        items.append(item)
    return jsonify({"items": items})
