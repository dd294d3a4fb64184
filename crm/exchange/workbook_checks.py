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
from typing import IO
from xml.parsers import expat

from openpyxl.utils.cell import column_index_from_string

from crm.exchange.read_limits import (
    MAX_COLUMNS,
    MAX_FIELD_BYTES,
    Deadline,
    blank_allowance,
    field_too_long,
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
MAX_TEXT_BETWEEN_ROWS = 8 * MAX_FIELD_BYTES
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
    """What a scan found: the last row that holds a cell and the widest column with a value."""

    last_row: int = 0
    last_column: int = 0


class _SheetScan:
    """Counts a worksheet's rows, cells and text as the XML streams by; raises at the first
    limit passed. Nothing of the sheet is kept."""

    def __init__(self, *, max_rows: int, deadline: Deadline, whole: bool) -> None:
        self.max_rows = max_rows
        self.last_allowed = blank_allowance(max_rows)
        self.cell_budget = max_cells(max_rows)
        self.deadline = deadline
        self.whole = whole
        self.shape = SheetShape()
        self.rows = 0
        self.row = 0
        self.column = 0
        self.cells = 0
        self.row_cells = 0
        self.elements = 0
        self.text = 0
        self.cell_text = 0
        self.in_data = False
        self.declared = False
        self.done = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.done:
            return
        tag = name.rpartition(":")[2]
        self.elements += 1
        if self.elements > MAX_ELEMENTS_BETWEEN_ROWS:
            raise workbook_too_large()
        if tag == "c" and self.in_data:
            self.start_cell(attrs)
        elif tag in ("v", "is"):
            if self.row_cells and self.column > self.shape.last_column:
                self.shape.last_column = self.column
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
        self.rows += 1
        number = attrs.get("r")
        self.row = _row_number(number) if number else self.row + 1
        if self.row > self.last_allowed or self.rows > self.last_allowed:
            raise too_many_rows(self.max_rows)
        self.shape.last_row = max(self.shape.last_row, self.row)
        self.column = self.row_cells = self.elements = self.text = 0
        if self.rows % 256 == 0:
            self.deadline.check()

    def start_cell(self, attrs: dict[str, str]) -> None:
        self.row_cells += 1
        self.cells += 1
        self.cell_text = 0
        if self.row_cells > SHEET_COLUMNS:
            raise too_many_columns()
        if self.cells > self.cell_budget:
            raise too_many_cells(self.max_rows)
        reference = attrs.get("r")
        self.column = _column_number(reference) if reference else self.column + 1
        if self.column > SHEET_COLUMNS:
            raise too_many_columns()

    def characters(self, data: str) -> None:
        if self.done:
            return
        size = len(data)
        self.text += size
        self.cell_text += size
        if self.cell_text > MAX_FIELD_BYTES:
            raise field_too_long(max(self.row, 1))
        if self.text > MAX_TEXT_BETWEEN_ROWS:
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
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    parser.StartElementHandler = scan.start
    parser.CharacterDataHandler = scan.characters
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    try:
        while not scan.done:
            chunk = source.read(CHUNK)
            parser.Parse(chunk, not chunk)
            if not chunk:
                break
            deadline.check()
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
    try:
        return int(column_index_from_string(letters.upper()))
    except ValueError:
        raise unreadable_workbook() from None


def readable_columns(shape: SheetShape) -> int:
    """How many columns to ask openpyxl for: the widest value, refused past the limit."""
    if shape.last_column > MAX_COLUMNS:
        raise too_many_columns()
    return max(shape.last_column, 1)
