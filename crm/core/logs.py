"""Log lines: human-readable text (``make run``, the default) or one JSON object per line
(``LOG_FORMAT=json``, docker-compose) for a log collector.

Every line says when, how grave, which logger and what, plus the request id of the work
it belongs to (:mod:`crm.core.requestid`), the user when known, and in a worker the task's
name and id.  Process entry points configure logging (gunicorn's configuration file, the
Celery worker and beat); ``create_app`` does not, so tests keep pytest's capture.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from crm.core.requestid import current_request_id, current_task, current_user_id

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def _request_user() -> int | None:
    """The signed-in user of the current web request, if already loaded (never a query)."""
    from flask import g, has_request_context

    if not has_request_context():
        return None
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    found = getattr(user, "id", None)
    return found if isinstance(found, int) else None


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``user_id`` to every record, and ``task_name`` and
    ``task_id`` inside a Celery task."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id() or "-"
        if getattr(record, "user_id", None) is None:
            record.user_id = _request_user() or current_user_id()
        task = current_task()
        if task is not None and getattr(record, "task_name", None) is None:
            record.task_name, record.task_id = task
        return True


class JsonFormatter(_JsonFormatter):
    """``{"time": "2026-12-06T13:46:05.123456+00:00", "level": "INFO", "logger": …,
    "message": …, "request_id": …, "user_id": …}`` and any ``extra`` of the call."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(["levelname", "name", "message", "request_id", "user_id"], **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat()
        super().add_fields(log_data, record, message_dict)
        if log_data.get("request_id") == "-":
            log_data["request_id"] = None


def logging_config(log_format: str, level: str | int = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of a process: one handler on stderr, whose lines
    carry the context; gunicorn's own loggers write through it too."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT: expected one of {', '.join(FORMATS)}, got {log_format!r}")
    level_name = logging.getLevelName(level) if isinstance(level, int) else str(level).upper()
    formatter: dict[str, Any] = (
        {"()": "crm.core.logs.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "jisr",
        "filters": ["context"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "crm.core.logs.ContextFilter"}},
        "formatters": {"jisr": formatter},
        "handlers": {"jisr": handler},
        "root": {"level": level_name, "handlers": ["jisr"]},
        "loggers": {
            "gunicorn.error": {"level": level_name, "handlers": ["jisr"], "propagate": False},
            "gunicorn.access": {"level": level_name, "handlers": ["jisr"], "propagate": False},
        },
    }


def configure_logging(log_format: str, level: str | int = "INFO") -> None:
    logging.config.dictConfig(logging_config(log_format, level))
