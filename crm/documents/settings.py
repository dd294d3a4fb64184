"""The documents' settings, read with the application's: ``DOCUMENTS_PATH`` (where the
file-system storage keeps them; default the instance folder's ``documents/``) and
``DOCUMENT_MAX_BYTES`` (the largest file accepted; default 20 MB).

The request limit (``MAX_CONTENT_LENGTH``) is raised for the upload pages only, to the
document limit plus room for the form: a larger body is cut off by the 413 page, a file
just over the limit gets the upload page's own message."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app, request

from crm.config import ConfigError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_MAX_BYTES = 1024 * 1024 * 1024
FORM_ROOM = 256 * 1024
UPLOAD_ENDPOINTS = {"documents.upload_lead", "documents.upload_meeting", "documents.upload_mission"}


def _max_bytes(app: Flask) -> int:
    raw = app.config.get("DOCUMENT_MAX_BYTES", os.environ.get("DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"DOCUMENT_MAX_BYTES: must be a number, got {raw!r}") from None
    if not 1024 <= value <= MAX_MAX_BYTES:
        raise ConfigError(f"DOCUMENT_MAX_BYTES: must be between 1024 and {MAX_MAX_BYTES}, got {raw!r}")
    return value


def _path(app: Flask) -> str | None:
    raw = app.config.get("DOCUMENTS_PATH") or os.environ.get("DOCUMENTS_PATH", "").strip()
    if not raw:
        return None
    path = Path(raw)
    if not path.is_absolute():
        raise ConfigError(f"DOCUMENTS_PATH: must be an absolute path, got {raw!r}")
    return str(path)


def init_app(app: Flask) -> None:
    app.config["DOCUMENT_MAX_BYTES"] = _max_bytes(app)
    app.config["DOCUMENTS_PATH"] = _path(app)
    # Before every other hook: the CSRF check reads the form, hence the body, first.
    app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)


def max_bytes() -> int:
    return int(current_app.config.get("DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _upload_limit() -> None:
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = max_bytes() + FORM_ROOM
