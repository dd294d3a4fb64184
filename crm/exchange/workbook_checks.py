"""Checks a workbook must pass before openpyxl reads it.

An XLSX file is a zip of XML parts. A few hundred kilobytes can unpack to millions of rows
(a "row bomb"), to one row of millions of cells, or to a table of shared texts that openpyxl
loads whole even in read-only mode. So the archive's members are checked first (how many,
how large once unpacked, how much they were compressed), then the chosen sheet's XML is
streamed once with a plain XML tokenizer that keeps nothing: its declared dimension, its
rows, its cells and their text are counted, and reading stops just past the first limit.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from typing import IO, Any
from xml.parsers import expat

from crm.exchange.read_limits import (
    MAX_COLUMNS,
    MAX_FIELD_BYTES,
    Deadline,
    blank_allowance,
    max_cells,
    too_many_cells,
    too_many_columns,
    too_many_rows,
    unreadable_workbook,
    workbook_too_large,
)

# The archive as a whole.
MAX_MEMBERS = 1_000
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
# XML parts that openpyxl parses whole (workbook, styles, theme, relationships…).
MAX_PART_BYTES = 16 * 1024 * 1024
# The table of texts that cells refer to; openpyxl holds it all in memory.
MAX_SHARED_STRINGS_BYTES = 24 * 1024 * 1024
# Deflate cannot compress past about 1,032:1; XML a spreadsheet program writes stays far below
# this, while a bomb made of one repeated byte comes close to it.
MAX_RATIO = 500
RATIO_FROM_BYTES = 1024 * 1024
# Excel's own widest row; a row with more cell elements than this is not a sheet.
SHEET_COLUMNS = 16_384
# What openpyxl builds in memory at once: one row, or one part of the sheet between rows.
MAX_ELEMENTS_BETWEEN_ROWS = 4 * SHEET_COLUMNS
MAX_BYTES_BETWEEN_ROWS = 8 * MAX_FIELD_BYTES
CHUNK = 64 * 1024
WORKSHEETS = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
SHARED_STRINGS = re.compile(r"(^|/)sharedStrings\d*\.xml$", re.IGNORECASE)
WHOLE_PARTS = re.compile(r"\.(xml|rels|vml)$", re.IGNORECASE)
DIMENSION = re.compile(r"^\$?([A-Za-z]{1,3})?\$?(\d+)?$")


def check_archive(archive: zipfile.ZipFile) -> list[str]:
    """Refuse an archive that would unpack to more than a workbook of leads; the worksheet
    members, for :func:`scan_sheet`."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise workbook_too_large()
    if sum(info.file_size for info in members) > MAX_UNPACKED_BYTES:
        raise workbook_too_large()
    sheets = []
    for info in members:
        name = info.filename
        if info.file_size > RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise workbook_too_large()
        if WORKSHEETS.match(name):
            sheets.append(name)
        elif SHARED_STRINGS.search(name):
            if info.file_size > MAX_SHARED_STRINGS_BYTES:
                raise workbook_too_large()
        elif WHOLE_PARTS.search(name) and info.file_size > MAX_PART_BYTES:
            raise workbook_too_large()
    return sheets


@dataclass
class SheetShape:
    """What a scan found: the last row that holds a cell, the widest column with a value, and
    whether the whole sheet was scanned."""

    last_row: int = 0
    last_column: int = 0
    complete: bool = False


class _SheetScan:
    """Counts a worksheet's rows, cells and elements as the XML streams by, and how many bytes
    each row takes; raises at the first limit passed. Nothing of the sheet is kept.

    Cells come in column order within a row, so the widest column with a value is worked out
    once per row, from the last reference (``r="AB12"``) before the row's last value and the
    cells since it."""

    def __init__(self, *, max_rows: int, deadline: Deadline, whole: bool) -> None:
        self.max_rows = max_rows
        self.last_allowed = blank_allowance(max_rows)
        self.cell_budget = max_cells(max_rows)
        self.deadline = deadline
        self.whole = whole
        self.shape = SheetShape()
        self.rows = self.row = self.cells = self.row_cells = self.elements = 0
        self.row_starts_at = 0  # the byte where the current row (or the part before the rows) began
        self.reference: str | None = None  # the row's last cell reference, and the cells since it
        self.since_reference = 0
        self.valued: tuple[str | None, int] | None = None  # the same, at the row's last value
        self.in_data = self.declared = self.done = False
        self.parser: Any = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.done:
            return
        self.elements += 1
        if self.elements > MAX_ELEMENTS_BETWEEN_ROWS:
            raise workbook_too_large()
        tag = name.rpartition(":")[2]
        if tag == "c" and self.in_data:
            self.start_cell(attrs)
        elif tag == "v" or tag == "is":
            self.valued = (self.reference, self.since_reference)
        elif tag == "row" and self.in_data:
            self.start_row(attrs)
        elif tag == "dimension":
            self.declared = True
            if self.whole:
                self.check_dimension(attrs.get("ref", ""))
        elif tag == "sheetData":
            self.in_data = True
            # openpyxl opens every sheet by reading its declared size; without one, it parses
            # the whole sheet to find where its rows end, so such a sheet is scanned whole.
            self.done = not self.whole and self.declared

    def start_row(self, attrs: dict[str, str]) -> None:
        self.end_row()
        self.rows += 1
        number = attrs.get("r")
        self.row = _row_number(number) if number else self.row + 1
        if self.row > self.last_allowed or self.rows > self.last_allowed:
            raise too_many_rows(self.max_rows)
        self.shape.last_row = max(self.shape.last_row, self.row)
        self.row_cells = self.elements = self.since_reference = 0
        self.reference = None
        self.row_starts_at = self.parser.CurrentByteIndex
        if self.rows % 256 == 0:
            self.deadline.check()

    def end_row(self) -> None:
        if self.valued is not None:
            reference, since = self.valued
            column = (_column_number(reference) if reference else 0) + since
            if column > SHEET_COLUMNS:
                raise too_many_columns()
            self.shape.last_column = max(self.shape.last_column, column)
            self.valued = None

    def start_cell(self, attrs: dict[str, str]) -> None:
        self.row_cells += 1
        self.cells += 1
        if self.row_cells > SHEET_COLUMNS:
            raise too_many_columns()
        if self.cells > self.cell_budget:
            raise too_many_cells(self.max_rows)
        reference = attrs.get("r")
        if reference is None:
            self.since_reference += 1
        else:
            self.reference, self.since_reference = reference, 0

    def check_span(self, fed: int) -> None:
        """One row (or the part of the sheet before or after its rows) is what openpyxl holds
        in memory at once: it may not take more than ``MAX_BYTES_BETWEEN_ROWS``."""
        if not self.done and fed - self.row_starts_at > MAX_BYTES_BETWEEN_ROWS:
            raise workbook_too_large()

    def check_dimension(self, ref: str) -> None:
        """A sheet declares its used range (``A1:Z2000000``) before its rows; one that declares
        more rows than may be read is refused at once. A missing or wrong one changes nothing:
        the rows are counted anyway."""
        last = DIMENSION.match(ref.rpartition(":")[2].strip())
        if last and last.group(2) and int(last.group(2)) > self.last_allowed:
            raise too_many_rows(self.max_rows)


def scan_sheet(source: IO[bytes], *, max_rows: int, deadline: Deadline, whole: bool = True) -> SheetShape:
    """Stream one worksheet's XML through the limits; with ``whole=False`` only the part
    before its rows, which is all openpyxl reads of a sheet that is not the chosen one
    (unless the sheet does not declare its size)."""
    scan = _SheetScan(max_rows=max_rows, deadline=deadline, whole=whole)
    parser = expat.ParserCreate()
    parser.StartElementHandler = scan.start
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    scan.parser = parser
    fed = 0
    try:
        while not scan.done:
            chunk = source.read(CHUNK)
            parser.Parse(chunk, not chunk)
            if not chunk:
                break
            fed += len(chunk)
            scan.check_span(fed)
            deadline.check()
        scan.end_row()
        scan.shape.complete = not scan.done
    except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError):
        raise unreadable_workbook() from None
    return scan.shape


def _refuse_doctype(*_args: object) -> None:
    raise unreadable_workbook()  # no spreadsheet program writes a DTD into a sheet


def _refuse_entity(*_args: object) -> None:
    raise unreadable_workbook()


def _row_number(text: str) -> int:
    try:
        number = int(text) if text.isdigit() else int(float(text))
    except (ValueError, OverflowError):
        raise unreadable_workbook() from None
    if number < 1:
        raise unreadable_workbook()
    return number


def _column_number(reference: str) -> int:
    letters = reference.rstrip("0123456789$").lstrip("$")
    if not letters or len(letters) > 3:
        raise unreadable_workbook()
    from openpyxl.utils.cell import column_index_from_string  # loaded only to read a workbook

    try:
        return int(column_index_from_string(letters.upper()))
    except ValueError:
        raise unreadable_workbook() from None


def readable_columns(shape: SheetShape) -> int:
    """How many columns to ask openpyxl for: the widest value, refused past the limit."""
    if shape.last_column > MAX_COLUMNS:
        raise too_many_columns()
    return max(shape.last_column, 1)
