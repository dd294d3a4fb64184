"""Where documents' bytes live, behind one small interface.

:class:`Storage` is what the rest of Jisr uses: ``save``, ``open``, ``delete`` and
``files`` (to find files no row points at).  :class:`FileSystemStorage` keeps them under
one folder: the instance folder's ``documents/`` in the embedded mode, or the path of the
``DOCUMENTS_PATH`` setting (a volume shared by the web and worker containers).  An
S3-compatible store implements the same four methods with keys as object names.

Keys are made by Jisr (``<owner kind>/<owner id>/<random hex>``), never from a user's
file name, and checked against that shape before any path is built from them.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from flask import current_app

KEY = re.compile(r"^(lead|meeting|mission)/[0-9]+/[0-9a-f]{32}$")


class BadKey(ValueError):
    """A key not of the shape Jisr makes (never turned into a path)."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    modified_at: datetime


def new_key(owner_kind: str, owner_id: int) -> str:
    key = f"{owner_kind}/{int(owner_id)}/{secrets.token_hex(16)}"
    check_key(key)
    return key


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise BadKey(f"not a document key: {key!r}")
    return key


class Storage(Protocol):
    def save(self, key: str, content: IO[bytes]) -> None:
        """Store ``content`` (read from its current position to its end) under ``key``."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes; FileNotFoundError when there are none."""

    def delete(self, key: str) -> None:
        """Forget ``key``; nothing happens when it is not stored."""

    def files(self, prefix: str = "") -> Iterator[StoredFile]:
        """The stored keys that start with ``prefix``, with when each was written."""


class FileSystemStorage:
    """Files under ``root``, one per key, written readable by their owner only."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def save(self, key: str, content: IO[bytes]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside its place, then renamed: a reader never sees half a file.
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := content.read(1024 * 1024):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        for folder in (path.parent, path.parent.parent):
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break

    def files(self, prefix: str = "") -> Iterator[StoredFile]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*/*")):
            if not path.is_file():
                continue
            key = "/".join(path.relative_to(self.root).parts)
            if KEY.match(key) and key.startswith(prefix):
                yield StoredFile(key, datetime.fromtimestamp(path.stat().st_mtime, UTC))


def documents_root() -> Path:
    """The folder of the file-system storage: ``DOCUMENTS_PATH``, else the instance's."""
    configured = current_app.config.get("DOCUMENTS_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / "documents"


def storage() -> Storage:
    """The application's document storage."""
    made = current_app.extensions.get("jisr.documents.storage")
    if made is None:
        made = FileSystemStorage(documents_root())
        current_app.extensions["jisr.documents.storage"] = made
    return made
