"""One file to get an installation back: ``crm backup`` and ``crm restore``.

The archive (a gzip'd tar, written readable by its owner only: it holds every record and
the instance's secret key) contains:

- ``manifest.json``: when, which database kind, the schema revision, every table's row
  count and the event log's last id — what a restore checks itself against;
- ``database.pgdump`` (``pg_dump -Fc``, PostgreSQL) or ``database.sqlite`` (SQLite's online
  backup API, consistent while Jisr runs);
- ``instance/…``: the instance folder's own files (the secret key that signs links and
  sessions, stored documents), without the databases, the embedded broker and beat's state;
- ``documents/…``: the stored documents when they live outside the instance folder
  (``DOCUMENTS_PATH``, a volume in docker-compose), restored into that folder.

A restore goes into the database of ``DATABASE_URL`` and refuses one that holds data unless
``--force``; it writes the instance files over the new installation's, then checks the row
counts and the last event id against the manifest.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa

from crm.core.time import utcnow

FORMAT = 1
MANIFEST = "manifest.json"
# Files of the instance folder that are not the installation's data (rebuilt or transient).
SKIPPED_INSTANCE = ("jisr.sqlite", "broker.sqlite", "celery-results.sqlite", "celerybeat-schedule", "outbox")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, in one line."""


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, int]
    last_event_id: int
    schema: str | None


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def snapshot(url: str) -> Snapshot:
    """Every table's row count (Jisr's tables as the database has them), the last event id
    and the schema revision."""
    engine = _engine(url)
    try:
        names = sorted(n for n in sa.inspect(engine).get_table_names() if not n.startswith("kombu_"))
        with engine.connect() as conn:
            tables = {
                n: int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(n))).scalar_one()) for n in names
            }
            last = conn.execute(sa.text("SELECT max(id) FROM event")).scalar() if "event" in names else None
            schema = (
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                if "alembic_version" in names
                else None
            )
        return Snapshot(tables=tables, last_event_id=int(last or 0), schema=schema)
    finally:
        engine.dispose()


def _kind(url: str) -> str:
    name = sa.engine.make_url(url).get_backend_name()
    if name not in ("postgresql", "sqlite"):
        raise BackupError(f"unsupported database: {name}")
    return name


def _libpq(url: str) -> str:
    """The address as pg_dump / pg_restore take it (no SQLAlchemy driver suffix)."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("the SQLite database has no file")
    return Path(database)


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)  # noqa: S603 - no shell, our own arguments
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from exc
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{command[0]} failed: {last[-1] if last else done.returncode}")


def _instance_files(instance: Path) -> list[Path]:
    if not instance.is_dir():
        return []
    found = []
    for path in sorted(instance.rglob("*")):
        relative = path.relative_to(instance)
        if not path.is_file() or relative.parts[0].startswith(SKIPPED_INSTANCE):
            continue
        found.append(path)
    return found


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(utcnow().timestamp())
    archive.addfile(info, io.BytesIO(data))


def _outside(documents: Path | None, instance: Path) -> Path | None:
    """The documents' folder when it is not inside the instance folder (else ``None``: the
    instance files carry them)."""
    if documents is None:
        return None
    documents, instance = documents.resolve(), instance.resolve()
    return None if documents == instance or instance in documents.parents else documents


def _document_files(documents: Path | None) -> list[Path]:
    if documents is None or not documents.is_dir():
        return []
    return [p for p in sorted(documents.rglob("*")) if p.is_file() and not p.name.startswith(".partial-")]


def backup(url: str, instance: Path, output: Path, *, documents: Path | None = None) -> dict[str, Any]:
    """Write the archive to ``output`` (through a temporary file: a failed backup leaves no
    half archive behind); return its manifest.  ``documents`` is the documents' folder."""
    kind = _kind(url)
    documents = _outside(documents, instance)
    output = output.resolve()
    with tempfile.TemporaryDirectory(prefix="jisr-backup-") as work:
        dump = Path(work) / ("database.pgdump" if kind == "postgresql" else "database.sqlite")
        if kind == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}", _libpq(url)])
            taken = snapshot(url)  # after the dump: a count that moved meanwhile shows at the restore check
        else:
            source = sqlite3.connect(_sqlite_path(url))
            target = sqlite3.connect(dump)
            try:
                with target:
                    source.backup(target)
            finally:
                source.close()
                target.close()
            taken = snapshot(f"sqlite:///{dump}")  # exactly what the copy holds
        manifest = {
            "format": FORMAT,
            "created_at": utcnow().isoformat(),
            "database": kind,
            "schema": taken.schema,
            "tables": taken.tables,
            "last_event_id": taken.last_event_id,
            "instance_files": [str(p.relative_to(instance)) for p in _instance_files(instance)],
            "document_files": len(_document_files(documents)),
        }
        partial = output.with_name(f".{output.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
                archive.add(dump, arcname=dump.name)
                for path in _instance_files(instance):
                    archive.add(path, arcname=f"instance/{path.relative_to(instance)}")
                if documents is not None:
                    for path in _document_files(documents):
                        archive.add(path, arcname=f"documents/{path.relative_to(documents)}")
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member else None
    except (KeyError, ValueError) as exc:
        raise BackupError("this file is not a Jisr backup (no manifest)") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("this file is not a Jisr backup of a known format")
    return manifest


def _holds_data(url: str) -> bool:
    taken = snapshot(url)
    return any(count for name, count in taken.tables.items() if name != "alembic_version")


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise BackupError(f"the archive holds an unsafe path: {name}")
    return path


def restore(
    url: str, instance: Path, archive_path: Path, *, force: bool = False, documents: Path | None = None
) -> dict[str, Any]:
    """Restore ``archive_path`` into ``url`` and ``instance`` (and the documents' folder
    ``documents``, for those backed up from outside the instance folder); return the manifest."""
    kind = _kind(url)
    documents_folder = documents or instance / "documents"
    try:
        archive = tarfile.open(archive_path, mode="r:gz")  # noqa: SIM115 - closed by the ``with`` below
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read {archive_path}: {exc}") from exc
    with archive, tempfile.TemporaryDirectory(prefix="jisr-restore-") as work:
        manifest = _read_manifest(archive)
        if manifest["database"] != kind:
            raise BackupError(f"this backup is of a {manifest['database']} database; DATABASE_URL is {kind}")
        files = {}
        for member in archive.getmembers():
            path = _safe_member(member.name)
            if path.parts[0] == "instance" and member.isfile():
                files[instance / Path(*path.parts[1:])] = member
            elif path.parts[0] == "documents" and member.isfile() and len(path.parts) > 1:
                files[documents_folder / Path(*path.parts[1:])] = member
        # Everything that could refuse is checked before anything changes.  An empty
        # database is a new installation: its instance files (a secret key made at its
        # first start) give way to the backup's.
        fresh = kind == "sqlite" and not _sqlite_path(url).exists()
        if not force and not fresh and _holds_data(url):
            raise BackupError("the database of DATABASE_URL holds data: restore into an empty one, or use --force")
        dump_name = "database.pgdump" if kind == "postgresql" else "database.sqlite"
        archive.extract(dump_name, work, filter="data")
        dump = Path(work) / dump_name
        if kind == "postgresql":
            _run(["pg_restore", "--no-owner", "--no-privileges", "--clean", "--if-exists", "--single-transaction",
                  f"--dbname={_libpq(url)}", str(dump)])  # fmt: skip
        else:
            target_path = _sqlite_path(url)
            target_path.parent.mkdir(parents=True, exist_ok=True)
            source, target = sqlite3.connect(dump), sqlite3.connect(target_path)
            try:
                with target:
                    source.backup(target)
            finally:
                source.close()
                target.close()
        for destination, member in files.items():
            destination.parent.mkdir(parents=True, exist_ok=True)
            content = archive.extractfile(member)
            if content is not None:
                with destination.open("wb") as out:
                    shutil.copyfileobj(content, out)
                destination.chmod(0o600)
    found = snapshot(url)
    expected = {name: count for name, count in manifest["tables"].items()}
    if found.tables != expected or found.last_event_id != manifest["last_event_id"]:
        differ = sorted(n for n in set(found.tables) | set(expected) if found.tables.get(n) != expected.get(n))
        raise BackupError(
            f"the restored database differs from the backup in: {', '.join(differ) or 'the last event id'}"
        )
    return manifest
