"""One request id follows a piece of work from the click to the SMTP server's answer.

Each web request gets an id: the caller's ``X-Request-ID`` when it is well formed (a
reverse proxy or a load balancer may set one), a fresh one otherwise; the response echoes
it.  The id is carried:

- into every Celery task the request causes, in the message headers (set when the task is
  published, restored when it starts); a task published by beat gets a fresh id;
- into the events the request records (``event.request_id``), so a consumer working on an
  event later, in a worker, works under the request's id;
- into the mail ledger rows written under it (``outbound_mail.request_id``), so sending
  the row logs the same id.

Every log line carries the current id (see :mod:`crm.core.logs`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"  # the Celery message header
# Answered without a log line: files, scrapes and health checks come every few seconds.
QUIET_ENDPOINTS = frozenset({"static", "metrics", "core.healthz"})
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{7,63}")

_request_id: ContextVar[str | None] = ContextVar("jisr_request_id", default=None)
_user_id: ContextVar[int | None] = ContextVar("jisr_user_id", default=None)
_task: ContextVar[tuple[str, str] | None] = ContextVar("jisr_task", default=None)

log = logging.getLogger("crm.request")


def new_request_id() -> str:
    return uuid.uuid4().hex


def well_formed(value: str | None) -> str | None:
    """``value`` if it may be used as a request id (8 to 64 plain characters), else None."""
    if value and _WELL_FORMED.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    return _request_id.get()


def current_user_id() -> int | None:
    return _user_id.get()


def current_task() -> tuple[str, str] | None:
    """(task name, task id) of the Celery task running in this context."""
    return _task.get()


@contextmanager
def working_for(request_id: str | None, user_id: int | None = None) -> Iterator[None]:
    """Run the block under ``request_id`` (and ``user_id``); unchanged when it is None."""
    if request_id is None:
        yield
        return
    tokens = (_request_id.set(request_id), _user_id.set(user_id))
    try:
        yield
    finally:
        _user_id.reset(tokens[1])
        _request_id.reset(tokens[0])


# --- web requests ---------------------------------------------------------------------


def _begin() -> None:
    found = well_formed(request.headers.get(HEADER)) or new_request_id()
    g.request_id = found
    g.request_id_token = _request_id.set(found)
    g.request_started = time.perf_counter()


def _answer(response: Response) -> Response:
    found = g.get("request_id")
    if found:
        response.headers[HEADER] = found
        started = g.get("request_started")
        if started is not None and request.endpoint not in QUIET_ENDPOINTS:
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={"status": response.status_code, "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
            )
    return response


def _end(_error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        with suppress(ValueError):  # set in another context (a streamed response): nothing to undo
            _request_id.reset(token)


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_answer)
    app.teardown_request(_end)


# --- Celery ---------------------------------------------------------------------------


def _on_publish(headers: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    if headers is not None and not headers.get(TASK_HEADER):
        headers[TASK_HEADER] = current_request_id() or new_request_id()


def _on_start(task_id: str | None = None, task: Any = None, **_kwargs: Any) -> None:
    if task is None:
        return
    found = task.request.get(TASK_HEADER) or (task.request.headers or {}).get(TASK_HEADER)
    # What to put back afterwards: a task run eagerly inside a request returns to it.
    task.request.jisr_outer = (_request_id.get(), _task.get(), _user_id.get())
    _request_id.set(well_formed(found) or current_request_id() or new_request_id())
    _task.set((str(task.name), str(task_id or task.request.id)))
    _user_id.set(None)


def _on_finish(task: Any = None, **_kwargs: Any) -> None:
    outer = getattr(getattr(task, "request", None), "jisr_outer", None) or (None, None, None)
    _request_id.set(outer[0])
    _task.set(outer[1])
    _user_id.set(outer[2])


def connect_celery() -> None:
    """Carry the request id through Celery (once per process, whatever the number of apps)."""
    from celery import signals

    signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid="jisr.request_id.publish")
    signals.task_prerun.connect(_on_start, weak=False, dispatch_uid="jisr.request_id.start")
    signals.task_postrun.connect(_on_finish, weak=False, dispatch_uid="jisr.request_id.finish")
