"""Writes of an import, each with its event: upload, reading options, column mapping,
confirm, the import itself (one transaction), failure, cancel and revert.

The import writes organisations, contacts and leads only through their domain operations,
so each row records the same events as a change made in the pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import insert
from sqlmodel import Session, func, select

from crm.accounts.models import User
from crm.accounts.permissions import require_editor
from crm.core.db import pk, serialise_writers
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.core.validation import clean_enum
from crm.exchange.defaults import check_defaults
from crm.exchange.fields import check_mapping, header_signature
from crm.exchange.labels import display_filename, human_size
from crm.exchange.models import DataImport, ImportFile, ImportKind, ImportMapping, ImportRow, ImportStatus, RowAction
from crm.exchange.plan import Problem, RowFailed, RowPlan, chunked
from crm.exchange.planning import forget_plan, keep_plan
from crm.exchange.queries import (
    import_content,
    limit,
    may_manage,
    plan_rows,
    planner_for,
    read_file,
    read_import,
    read_seconds,
    remembered_mapping,
)
from crm.exchange.reading import DELIMITERS, ENCODINGS, Table, file_format
from crm.exchange.reverting import lock_records, remove_rows, restore_rows, revert_check

Progress = Callable[[int, int], None]
WORKER_READ_FACTOR = 5


class FileTooLarge(ValidationError):
    """The upload is over ``IMPORT_MAX_BYTES`` (answered with HTTP 413)."""


class ImportFailure(Exception):
    """A row could not be written after all: the whole import is rolled back."""

    def __init__(self, problem: Problem, row: int | None = None) -> None:
        super().__init__(problem.msgid)
        self.problem = problem
        self.row = row


def _require_manager(actor: User, data_import: DataImport) -> None:
    require_editor(actor)
    if not may_manage(actor, data_import):
        raise PermissionDenied("not your import")


def _take_table(session: Session, data_import: DataImport, table: Table) -> bool:
    data_import.headers = table.headers
    data_import.row_count = len(table.rows)
    data_import.options = table.options
    data_import.detected = {**table.options, "sheets": table.sheets}
    data_import.mapping, remembered = remembered_mapping(session, data_import.kind, table.headers)
    return remembered


def upload_import(
    session: Session, *, kind: ImportKind | str, filename: str, content: bytes, actor: User
) -> DataImport:
    """Keep an uploaded file (in the database) and read its header: nothing else is written."""
    require_editor(actor)
    import_kind: ImportKind = clean_enum(ImportKind, kind, "kind")
    if not content:
        raise ValidationError.single("file", _l("Choose a file."))
    max_bytes = limit("IMPORT_MAX_BYTES")
    if len(content) > max_bytes:
        raise FileTooLarge.single(
            "file",
            _l("The file is larger than %(size)s: split it into smaller files.", size=human_size(max_bytes)),
        )
    data_import = DataImport(
        kind=import_kind,
        author_id=pk(actor),
        filename=display_filename(filename),
        file_format=file_format(content),
        size_bytes=len(content),
    )
    table = read_file(content)
    remembered = _take_table(session, data_import, table)
    session.add(data_import)
    session.flush()
    session.add(ImportFile(data_import_id=pk(data_import), content=content))
    record_event(
        session,
        "import.uploaded",
        data_import,
        actor=actor,
        payload={
            "kind": import_kind,
            "filename": data_import.filename,
            "format": data_import.file_format,
            "rows": data_import.row_count,
            "mapping_remembered": remembered,
        },
    )
    return data_import


def reread_import(
    session: Session,
    data_import: DataImport,
    *,
    actor: User,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> DataImport:
    """Read the file again with another encoding, separator or sheet (the mapping is suggested again)."""
    _require_manager(actor, data_import)
    if not data_import.status.is_open:
        raise ValidationError.single("status", _l("This import can no longer be changed."))
    if encoding and encoding not in ENCODINGS:
        raise ValidationError.single("encoding", _l("Not a valid choice."))
    if delimiter and delimiter not in DELIMITERS:
        raise ValidationError.single("delimiter", _l("Not a valid choice."))
    options = {"sheet": sheet} if data_import.file_format == "xlsx" else {"encoding": encoding, "delimiter": delimiter}
    table = read_file(import_content(session, data_import), options=options)
    _take_table(session, data_import, table)
    forget_plan(session, data_import)
    data_import.status = ImportStatus.UPLOADED
    data_import.failure = {}
    record_event(session, "import.reread", data_import, actor=actor, payload={"options": data_import.options})
    return data_import


def map_import_columns(
    session: Session,
    data_import: DataImport,
    *,
    mapping: list[str],
    actor: User,
    plan_in_worker: bool = False,
    defaults: dict[str, str] | None = None,
) -> DataImport:
    """Decide which field each column fills, and the values for all rows of the fields the
    file leaves out (see ``crm.exchange.defaults``); the mapping is remembered for these headers.

    With ``plan_in_worker`` (a large file) the preview is planned by a worker, which the
    caller hands the import to once this is committed (see ``jobs.queue_planning``); a
    plan stored for an earlier mapping is forgotten either way."""
    _require_manager(actor, data_import)
    if not data_import.status.is_open:
        raise ValidationError.single("status", _l("This import can no longer be changed."))
    cleaned = check_mapping(data_import.kind, mapping, len(data_import.headers))
    data_import.defaults = check_defaults(session, data_import.kind, cleaned, defaults or {})
    data_import.mapping = cleaned
    forget_plan(session, data_import)
    data_import.failure = {}
    if plan_in_worker:
        data_import.status = ImportStatus.PLANNING
        data_import.task_id = uuid.uuid4().hex
        data_import.handovers = 1
        data_import.queued_at = utcnow()
        data_import.started_at = data_import.finished_at = None
    else:
        data_import.status = ImportStatus.MAPPED
    signature = header_signature(data_import.kind, data_import.headers)
    remembered = session.exec(
        select(ImportMapping).where(ImportMapping.kind == data_import.kind, ImportMapping.signature == signature)
    ).first()
    if remembered is None:
        session.add(ImportMapping(kind=data_import.kind, signature=signature, mapping=cleaned))
    elif remembered.mapping != cleaned:
        remembered.mapping = cleaned
        remembered.updated_at = utcnow()
    record_event(
        session,
        "import.mapped",
        data_import,
        actor=actor,
        payload={"mapping": cleaned, "defaults": data_import.defaults, "planning": plan_in_worker},
    )
    return data_import


def confirm_import(session: Session, data_import: DataImport, *, actor: User, background: bool) -> DataImport:
    _require_manager(actor, data_import)
    if data_import.status == ImportStatus.PLANNING:
        raise ValidationError.single("status", _l("The preview is still being prepared: confirm it once it is shown."))
    if data_import.status not in (ImportStatus.MAPPED, ImportStatus.FAILED):
        raise ValidationError.single("status", _l("This import has already been confirmed."))
    data_import.status = ImportStatus.QUEUED
    data_import.confirmed_at = data_import.queued_at = utcnow()
    data_import.failure = {}
    data_import.task_id = uuid.uuid4().hex if background else None
    data_import.handovers = 1 if background else 0
    data_import.started_at = data_import.finished_at = None  # a new try of a failed one
    record_event(session, "import.confirmed", data_import, actor=actor, payload={"background": background})
    return data_import


def start_import(session: Session, data_import: DataImport) -> bool:
    """A worker (or the request, for a small file) takes the confirmed import."""
    if data_import.status != ImportStatus.QUEUED:
        return False
    data_import.status = ImportStatus.RUNNING
    data_import.started_at = utcnow()
    record_event(session, "import.started", data_import, actor=None, payload={})
    return True


def import_author(session: Session, data_import: DataImport) -> User:
    author = session.get(User, data_import.author_id)
    if author is None or not author.is_active or not author.can_edit():
        raise ImportFailure(Problem.of(None, _l("The author of this import may no longer import.")))
    return author


def _log_rows(session: Session, data_import: DataImport, plans: list[RowPlan], ids: dict[int, int]) -> None:
    rows = [
        {
            "data_import_id": data_import.id,
            "row_number": plan.number,
            "action": plan.action,
            "entity_id": ids.get(plan.number, plan.target_id),
            "label": plan.label[:300],
            "changes": plan.changes,
            "problems": [p.to_json() for p in plan.problems],
            "notes": [p.to_json() for p in plan.notes],
        }
        for plan in plans
    ]
    for batch in chunked(rows, 1000):
        session.execute(insert(ImportRow), batch)


def apply_import(session: Session, data_import: DataImport, *, progress: Progress | None = None) -> DataImport:
    """The import itself, in the caller's one transaction: plan again against the data as it
    is now, write every good row through the domain operations, log each row's outcome."""
    serialise_writers(session, f"import:{data_import.id}")
    locked = session.exec(
        select(DataImport)
        .where(DataImport.id == data_import.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if locked.status != ImportStatus.RUNNING:
        return locked
    author = import_author(session, locked)
    # The file was read within IMPORT_READ_SECONDS when it was uploaded; a worker busy with
    # other work is given more time to read it again, still a bounded time.
    table = read_import(session, locked, seconds=WORKER_READ_FACTOR * read_seconds())
    planner = planner_for(session, locked, author)
    plans = plan_rows(planner, locked, table)
    try:
        ids = planner.apply_all(plans, progress)
    except RowFailed as exc:
        raise ImportFailure(exc.problem, exc.number) from None
    except PermissionDenied:
        raise ImportFailure(Problem.of(None, _l("The author of this import may no longer import."))) from None
    total = len(plans)
    _log_rows(session, locked, plans, ids)
    counts = {action: sum(1 for p in plans if p.action == action) for action in RowAction}
    locked.created_count = counts[RowAction.CREATE]
    locked.updated_count = counts[RowAction.UPDATE]
    locked.unchanged_count = counts[RowAction.UNCHANGED]
    locked.error_count = counts[RowAction.ERROR]
    locked.row_count = total
    locked.status = ImportStatus.COMPLETED
    locked.finished_at = utcnow()
    forget_plan(session, locked)  # its log is kept instead
    record_event(
        session,
        "import.completed",
        locked,
        actor=author,
        payload={"kind": locked.kind, "filename": locked.filename, **{a.value: n for a, n in counts.items()}},
    )
    session.flush()
    locked.last_event_id = session.exec(select(func.max(Event.id))).one()
    return locked


def fail_import(session: Session, data_import: DataImport, problem: Problem, *, row: int | None = None) -> None:
    """Record why an import wrote nothing; it can be confirmed again."""
    data_import.status = ImportStatus.FAILED
    data_import.failure = {"row": row, **problem.to_json()}
    data_import.finished_at = utcnow()
    record_event(session, "import.failed", data_import, actor=None, payload=data_import.failure)


# --- the preview of a large file, planned by a worker -----------------------------------


def start_planning(session: Session, data_import: DataImport) -> bool:
    """A worker takes the planning (counted by the sweep: a file that kills workers fails)."""
    if data_import.status != ImportStatus.PLANNING or data_import.started_at is not None:
        return False
    data_import.started_at = utcnow()
    record_event(session, "import.planning_started", data_import, actor=None, payload={})
    return True


def store_plan(session: Session, import_id: int, task_id: str, plans: list[RowPlan]) -> DataImport | None:
    """Keep the plan as the import's preview, if the import still waits for this task's plan
    (not cancelled, mapped again, or planned already by another run of it); then it can be
    confirmed.  Returns the import when the plan was stored."""
    serialise_writers(session, f"import:{import_id}")
    locked = session.exec(
        select(DataImport).where(DataImport.id == import_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if locked is None or locked.status != ImportStatus.PLANNING or locked.task_id != task_id:
        return None
    keep_plan(session, locked, plans)
    locked.status = ImportStatus.MAPPED
    counts = {action.value: sum(1 for p in plans if p.action == action) for action in RowAction}
    record_event(session, "import.planned", locked, actor=None, payload={"rows": len(plans), **counts})
    return locked


def fail_planning(session: Session, data_import: DataImport, problem: Problem) -> None:
    """Record why the preview could not be planned: the import goes back to its columns,
    which say why; mapping them again plans again."""
    forget_plan(session, data_import)
    data_import.status = ImportStatus.UPLOADED
    data_import.failure = problem.to_json()
    record_event(session, "import.planning_failed", data_import, actor=None, payload=data_import.failure)


def cancel_import(session: Session, data_import: DataImport, *, actor: User) -> None:
    """Abandon an import before it is confirmed; its file is deleted."""
    _require_manager(actor, data_import)
    if not data_import.status.is_open:
        raise ValidationError.single("status", _l("This import can no longer be cancelled."))
    data_import.status = ImportStatus.CANCELLED
    forget_plan(session, data_import)
    stored = session.get(ImportFile, data_import.id)
    if stored is not None:
        session.delete(stored)
    record_event(session, "import.cancelled", data_import, actor=actor, payload={})


@dataclass
class RevertResult:
    reverted: int
    kept: int


def revert_import(session: Session, data_import: DataImport, *, actor: User) -> RevertResult:
    """Remove what the import created and restore what it updated, row by row where that is
    safe; a row changed or referred to since the import is kept, and says why."""
    _require_manager(actor, data_import)
    if data_import.status != ImportStatus.COMPLETED:
        raise ValidationError.single("status", _l("Only a completed import can be reverted."))
    serialise_writers(session, f"import:{data_import.id}")
    lock_records(session, data_import)
    check = revert_check(session, data_import)
    now = utcnow()
    kept: list[tuple[ImportRow, Problem]] = list(check.kept)
    removed = remove_rows(session, data_import, [r for r in check.revertible if r.action == RowAction.CREATE], actor)
    updated = [r for r in check.revertible if r.action == RowAction.UPDATE]
    restored, refused = restore_rows(session, data_import.kind, updated, actor)
    kept += refused
    for row in [*removed, *restored]:
        row.reverted_at = now
        session.add(row)
    for row, problem in kept:
        row.kept_because = problem.to_json()
        session.add(row)
    data_import.status = ImportStatus.REVERTED
    data_import.reverted_at = now
    data_import.reverted_count = len(removed) + len(restored)
    data_import.kept_count = len(kept)
    record_event(
        session,
        "import.reverted",
        data_import,
        actor=actor,
        payload={
            "removed": len(removed),
            "restored": len(restored),
            "kept_rows": sorted(row.row_number for row, _ in kept)[:1000],
        },
    )
    return RevertResult(reverted=data_import.reverted_count, kept=data_import.kept_count)
