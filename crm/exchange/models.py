"""Imports: the uploaded file, what was decided about its columns, and what each row did."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crm.core.db import UTCDateTime, enum_column
from crm.core.events import Audited
from crm.core.time import utcnow


class ImportKind(enum.StrEnum):
    ORGANISATIONS = "organisations"
    CONTACTS = "contacts"
    LEADS = "leads"


class ImportStatus(enum.StrEnum):
    UPLOADED = "uploaded"  # the file is kept; its columns are not mapped yet
    # Columns mapped, a large file: a worker is planning its rows (the preview waits for it).
    PLANNING = "planning"
    MAPPED = "mapped"  # columns mapped: the preview can be shown and confirmed
    QUEUED = "queued"  # confirmed; waiting for a worker
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"  # nothing was written; it can be confirmed again
    REVERTED = "reverted"
    CANCELLED = "cancelled"  # abandoned before confirming; the file is deleted

    @property
    def is_open(self) -> bool:
        """Still being prepared: the mapping and preview may change."""
        return self in (ImportStatus.UPLOADED, ImportStatus.PLANNING, ImportStatus.MAPPED, ImportStatus.FAILED)

    @property
    def is_working(self) -> bool:
        return self in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class RowAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


class DataImport(Audited, SQLModel, table=True):
    __tablename__ = "data_import"

    id: int | None = Field(default=None, primary_key=True)
    kind: ImportKind = Field(sa_type=enum_column(ImportKind, 16))
    status: ImportStatus = Field(default=ImportStatus.UPLOADED, sa_type=enum_column(ImportStatus, 16), index=True)
    author_id: int = Field(foreign_key="user_account.id", index=True, ondelete="RESTRICT")
    # The name the file had on the uploader's computer: shown, never used as a path.
    filename: str = Field(default="", max_length=255)
    file_format: str = Field(max_length=8)  # "csv" or "xlsx"
    size_bytes: int = Field(default=0)
    # How the file is read: {"encoding": …, "delimiter": …} for CSV, {"sheet": …} for XLSX.
    options: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # What was found in the file: the same keys, plus "sheets" for a workbook.
    detected: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    headers: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # The field each column goes to, by column position ("" leaves the column out).
    mapping: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # {field: value} for the fields the file leaves out or empty on a row that creates a
    # record (a code, or an owner's email), chosen on the mapping page.
    defaults: dict[str, str] = Field(
        default_factory=dict, sa_type=sa.JSON, sa_column_kwargs={"server_default": sa.text("'{}'")}
    )
    row_count: int = Field(default=0)
    created_count: int = Field(default=0)
    updated_count: int = Field(default=0)
    unchanged_count: int = Field(default=0)
    error_count: int = Field(default=0)
    reverted_count: int = Field(default=0)
    kept_count: int = Field(default=0)
    task_id: str | None = Field(default=None, max_length=64)
    # How many times the confirmed import was handed to a worker (again when its task went missing).
    handovers: int = Field(default=0)
    # Why the import failed, as a message id and its parameters (shown in the reader's language).
    failure: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # The last event the import recorded: a later event on one of its rows means the row changed since.
    last_event_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When it was last handed to a worker (or, run in the request, confirmed).
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When a worker stored the plan of a large file (its preview); None while the preview is
    # planned on each view (a small file) or has to be planned again.
    planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reverted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ImportFile(SQLModel, table=True):
    """The uploaded bytes, kept in the database between the steps (and for the error report),
    apart from :class:`DataImport` so that listing imports never loads them."""

    __tablename__ = "import_file"

    data_import_id: int = Field(foreign_key="data_import.id", primary_key=True, ondelete="CASCADE")
    content: bytes = Field(sa_type=sa.LargeBinary)


class ImportRow(SQLModel, table=True):
    """What one row of a confirmed import did: the log that the results page, the error
    report and the revert read."""

    __tablename__ = "import_row"
    __table_args__ = (sa.Index("ix_import_row_import_number", "data_import_id", "row_number"),)

    id: int | None = Field(default=None, primary_key=True)
    data_import_id: int = Field(foreign_key="data_import.id", ondelete="CASCADE")
    row_number: int
    action: RowAction = Field(sa_type=enum_column(RowAction, 16))
    entity_id: int | None = Field(default=None)
    label: str = Field(default="", max_length=300)
    # {field: [before, after]} for an update (the revert restores "before"); the values set for a create.
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # [{"field": …, "msgid": …, "params": {…}}]: errors for an error row, remarks otherwise.
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    reverted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why the revert kept this row (same shape as a problem).
    kept_because: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class ImportPlanRow(SQLModel, table=True):
    """What one row of a large file will do, as a worker planned it for the preview: the
    preview pages through these rather than reading the file again.  Deleted when the
    mapping or the reading options change, when the import is cancelled and once it is
    written (its log is then :class:`ImportRow`)."""

    __tablename__ = "import_plan_row"
    __table_args__ = (
        sa.Index("ix_import_plan_row_import_number", "data_import_id", "row_number"),
        sa.Index("ix_import_plan_row_import_action", "data_import_id", "action", "row_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    data_import_id: int = Field(foreign_key="data_import.id", ondelete="CASCADE")
    row_number: int
    action: RowAction = Field(sa_type=enum_column(RowAction, 16))
    label: str = Field(default="", max_length=300)
    target_id: int | None = Field(default=None)
    # The values a created row would be given (JSON values), and {field: [before, after]} of an update.
    values: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)


class ImportMapping(Audited, SQLModel, table=True):
    """The last column mapping used for a set of headers, offered again for the next file
    with the same headers (the monthly spreadsheet of an office)."""

    __tablename__ = "import_mapping"
    __table_args__ = (sa.UniqueConstraint("kind", "signature"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: ImportKind = Field(sa_type=enum_column(ImportKind, 16))
    signature: str = Field(max_length=64)
    mapping: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
