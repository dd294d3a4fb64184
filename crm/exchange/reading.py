"""Reading uploaded spreadsheets: CSV in the encodings and separators that offices in
Morocco and the US produce (UTF-8 with or without BOM, UTF-16, Windows-1256 Arabic,
Latin-1 / Windows-1252 French; comma, semicolon or tab), and XLSX workbooks.

The format is told by the file's bytes, never by its name; the encoding and the separator
are detected unless the user chose them.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import charset_normalizer

from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l
from crm.exchange.read_limits import (
    MAX_COLUMNS,
    MAX_FIELD_BYTES,
    READ_SECONDS,
    Deadline,
    blank_allowance,
    field_is_too_long,
    field_too_long,
    max_cells,
    too_many_cells,
    too_many_columns,
    too_many_rows,
    unreadable_workbook,
)
from crm.exchange.workbook_checks import SheetShape, check_archive, readable_columns, scan_sheet

ENCODINGS = {
    "utf-8": _l("Unicode (UTF-8)"),
    "utf-16": _l("Unicode (UTF-16)"),
    "cp1256": _l("Arabic (Windows-1256)"),
    "cp1252": _l("Western European (Windows-1252)"),
    "latin-1": _l("Western European (ISO-8859-1, Latin-1)"),
}
DELIMITERS = {",": _l("Comma"), ";": _l("Semicolon"), "\t": _l("Tab")}
CHUNK = 1024 * 1024

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls


@dataclass
class Table:
    headers: list[str]
    # (the row's number as a spreadsheet shows it, its cells), blank rows left out
    rows: list[tuple[int, list[str]]]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)

    @property
    def options(self) -> dict[str, Any]:
        if self.sheet is not None:
            return {"sheet": self.sheet}
        return {"encoding": self.encoding, "delimiter": self.delimiter}


def file_format(content: bytes) -> str:
    """``"xlsx"`` or ``"csv"``, from the bytes; the old binary .xls is refused."""
    if content.startswith(OLE_MAGIC):
        raise ValidationError.single(
            "file", _l("Old Excel files (.xls) cannot be read: save the sheet as .xlsx or CSV and upload it again.")
        )
    if content.startswith(ZIP_MAGIC):
        return "xlsx"
    return "csv"


def detect_encoding(content: bytes) -> str:
    """The encoding of a CSV file: a byte-order mark decides, then strict UTF-8, then the
    closest of Windows-1256 (Arabic) and Windows-1252 (French) by how the text reads."""
    if content.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(content):
        return "utf-16"
    if _is_utf8(content):
        return "utf-8"
    best = charset_normalizer.from_bytes(content[:500_000], cp_isolation=["cp1256", "cp1252"]).best()
    if best is not None and best.encoding in ("cp1256", "cp1252"):
        return str(best.encoding)
    return "latin-1"


def _is_utf8(content: bytes) -> bool:
    """Strict UTF-8, checked a piece at a time (the file is never copied whole as text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(content)
    try:
        for start in range(0, len(view), CHUNK):
            decoder.decode(view[start : start + CHUNK], final=start + CHUNK >= len(view))
    except UnicodeDecodeError:
        return False
    return True


def _looks_utf16(content: bytes) -> bool:
    """UTF-16 without a byte-order mark: text in Latin letters has a zero byte in every pair."""
    sample = content[:4096]
    return len(sample) >= 4 and sample.count(b"\x00") * 3 >= len(sample)


def _utf16_codec(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = content[:4096]
    return "utf-16-be" if sample[0::2].count(b"\x00") > sample[1::2].count(b"\x00") else "utf-16-le"


def _codec(content: bytes, encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise ValidationError.single("encoding", _l("Not a valid choice."))
    return {"utf-8": "utf-8-sig", "utf-16": _utf16_codec(content)}.get(encoding, encoding)


def _refused(encoding: str) -> ValidationError:
    return ValidationError.single(
        "encoding",
        _l("The file cannot be read as %(encoding)s: choose another encoding.", encoding=ENCODINGS[encoding]),
    )


def _text(content: bytes, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(content), encoding=_codec(content, encoding), newline="")


def _lines(content: bytes, encoding: str) -> Iterator[str]:
    """The file's lines, decoded as they are read (the file is never held whole as text); a
    byte the encoding cannot read is told as the encoding's error wherever it is met."""
    try:
        first = True
        for line in _text(content, encoding):
            yield line.removeprefix("\ufeff") if first else line
            first = False
    except UnicodeError:
        raise _refused(encoding) from None


def decode(content: bytes, encoding: str, *, size: int = -1) -> str:
    """The file's text, or its first ``size`` characters."""
    try:
        return _text(content, encoding).read(size).removeprefix("\ufeff")
    except UnicodeError:
        raise _refused(encoding) from None


def _sample_rows(text: str, delimiter: str, count: int = 20) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text[:65536], newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= count:
                break
    except csv.Error:
        return rows
    return rows


def detect_delimiter(text: str) -> str:
    """The separator that splits the first rows into the most columns, the same number in each."""
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        rows = _sample_rows(text, delimiter)
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(1 for row in rows if len(row) == width), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class _Records:
    """The CSV reader's records, numbered as a spreadsheet numbers rows; a field over the
    stated limit or a broken quote is told with its row."""

    def __init__(self, lines: Iterator[str], delimiter: str) -> None:
        self.reader = csv.reader(lines, delimiter=delimiter)
        self.number = 0

    def __iter__(self) -> Iterator[list[str]]:
        while True:
            try:
                record = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise field_too_long(self.number + 1) from None
                raise ValidationError.single(
                    "file", _l("Row %(row)d cannot be read: check its quotes.", row=self.number + 1)
                ) from None
            self.number += 1
            yield record


def _collect(
    records: Iterable[list[str]], *, max_rows: int, deadline: Deadline, first: int | None = None
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (the first non-blank row) and the non-blank rows after it, stopping just
    past the limits: ``max_rows`` rows of data, a last row of :func:`blank_allowance`, the
    file's share of filled cells, fields of ``MAX_FIELD_BYTES``. With ``first``, only that
    many rows are read (a sample)."""
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    last_allowed, cell_budget = blank_allowance(max_rows), max_cells(max_rows)
    for number, record in enumerate(records, start=1):
        if number > last_allowed:
            raise too_many_rows(max_rows)
        if number % 256 == 0:
            deadline.check()
        cells = [cell.strip() for cell in record]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if len(cells) > MAX_COLUMNS:
            raise too_many_columns()
        if any(field_is_too_long(cell) for cell in cells):
            raise field_too_long(number)
        cell_budget -= len(cells)
        if cell_budget < 0:
            raise too_many_cells(max_rows)
        if headers is None:
            headers = cells
            continue
        if len(rows) >= max_rows:
            raise too_many_rows(max_rows)
        rows.append((number, cells))
        if first is not None and len(rows) >= first:
            break
    if headers is None:
        raise ValidationError.single("file", _l("The file is empty."))
    return headers, rows


def read_csv(
    content: bytes,
    *,
    encoding: str | None,
    delimiter: str | None,
    max_rows: int,
    deadline: Deadline | None = None,
    first: int | None = None,
) -> Table:
    """The CSV file's rows, decoded and split as they are read: the file is never held
    whole as text, and reading stops just past the limits."""
    deadline = deadline or Deadline(READ_SECONDS)
    encoding = encoding or detect_encoding(content)
    if delimiter is not None and delimiter not in DELIMITERS:
        raise ValidationError.single("delimiter", _l("Not a valid choice."))
    delimiter = delimiter or detect_delimiter(decode(content, encoding, size=65536))
    # The csv module's field limit is the process's: set it here, deliberately, to the one
    # stated to users (counted in characters, so no field over the limit in bytes gets by).
    csv.field_size_limit(MAX_FIELD_BYTES)
    records = _Records(_lines(content, encoding), delimiter)
    headers, rows = _collect(records, max_rows=max_rows, deadline=deadline, first=first)
    return Table(headers=headers, rows=rows, encoding=encoding, delimiter=delimiter)


def cell_text(value: Any) -> str:
    """A workbook cell as the text a person would type for it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def read_xlsx(
    content: bytes, *, sheet: str | None, max_rows: int, deadline: Deadline | None = None, first: int | None = None
) -> Table:
    """The chosen sheet's rows (the first sheet's by default), streamed by openpyxl in
    read-only mode once the archive and the sheet's XML have passed the checks of
    :mod:`crm.exchange.workbook_checks`; only the rows and columns that hold data are read."""
    deadline = deadline or Deadline(READ_SECONDS)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise unreadable_workbook() from None
    with archive:
        shapes = {}
        for name in check_archive(archive):
            with archive.open(name) as source:
                shapes[name] = scan_sheet(source, max_rows=max_rows, deadline=deadline, whole=False)
        # openpyxl (about 8 MB) is loaded by the process that reads a workbook, not by every one.
        from crm.exchange.workbook_texts import open_workbook

        try:
            workbook = open_workbook(content, max_rows=max_rows, deadline=deadline)
        except ValidationError:
            raise
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, AttributeError, SyntaxError):
            raise unreadable_workbook() from None
        try:
            return _read_sheet(archive, workbook, sheet, shapes, max_rows=max_rows, deadline=deadline, first=first)
        finally:
            workbook.close()


def _read_sheet(
    archive: zipfile.ZipFile,
    workbook: Any,
    sheet: str | None,
    shapes: dict[str, SheetShape],
    *,
    max_rows: int,
    deadline: Deadline,
    first: int | None,
) -> Table:
    sheets = list(workbook.sheetnames)
    if not sheets:
        raise ValidationError.single("file", _l("The workbook has no sheet."))
    if sheet is not None and sheet not in sheets:
        raise ValidationError.single("sheet", _l("The workbook has no sheet called %(sheet)s.", sheet=sheet))
    chosen = sheet or sheets[0]
    worksheet = workbook[chosen]
    path = getattr(worksheet, "_worksheet_path", None)
    if not path:
        raise unreadable_workbook()
    shape = shapes.get(path)
    if shape is None or not shape.complete:  # only its start was scanned before opening it
        try:
            with archive.open(path) as source:
                shape = scan_sheet(source, max_rows=max_rows, deadline=deadline)
        except KeyError:
            raise unreadable_workbook() from None
    if shape.last_row == 0:
        raise ValidationError.single("file", _l("The file is empty."))
    # Ask for the rows and columns the scan found, never the sheet's declared size (it may lie).
    cells = worksheet.iter_rows(
        min_row=1, max_row=shape.last_row, min_col=1, max_col=readable_columns(shape), values_only=True
    )
    records = ([cell_text(v) for v in row] for row in cells)
    try:
        headers, rows = _collect(records, max_rows=max_rows, deadline=deadline, first=first)
    except ValidationError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, AttributeError, SyntaxError):
        raise unreadable_workbook() from None
    return Table(headers=headers, rows=rows, sheet=chosen, sheets=sheets)


def read_table(
    content: bytes,
    *,
    options: dict[str, Any] | None = None,
    max_rows: int,
    seconds: float = READ_SECONDS,
    first: int | None = None,
) -> Table:
    """The file's header and rows, read with the chosen ``options`` (detected when absent),
    within the limits: ``max_rows`` rows of data, ``seconds`` of reading. With ``first``,
    only the header and that many rows are read (a sample for the mapping page)."""
    options = options or {}
    deadline = Deadline(seconds)
    if file_format(content) == "xlsx":
        return read_xlsx(content, sheet=options.get("sheet") or None, max_rows=max_rows, deadline=deadline, first=first)
    return read_csv(
        content,
        encoding=options.get("encoding") or None,
        delimiter=options.get("delimiter") or None,
        max_rows=max_rows,
        deadline=deadline,
        first=first,
    )
