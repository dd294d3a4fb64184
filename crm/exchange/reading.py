"""Reading uploaded spreadsheets: CSV in the encodings and separators that offices in
Morocco and the US produce (UTF-8 with or without BOM, UTF-16, Windows-1256 Arabic,
Latin-1 / Windows-1252 French; comma, semicolon or tab), and XLSX workbooks.

The format is told by the file's bytes, never by its name; the encoding and the separator
are detected unless the user chose them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import charset_normalizer

from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l

ENCODINGS = {
    "utf-8": _l("Unicode (UTF-8)"),
    "utf-16": _l("Unicode (UTF-16)"),
    "cp1256": _l("Arabic (Windows-1256)"),
    "cp1252": _l("Western European (Windows-1252)"),
    "latin-1": _l("Western European (ISO-8859-1, Latin-1)"),
}
DELIMITERS = {",": _l("Comma"), ";": _l("Semicolon"), "\t": _l("Tab")}
MAX_COLUMNS = 200
# A cell longer than this is not data a person typed (the longest field, a description, is 50,000).
MAX_CELL = 60_000
# A workbook that unpacks to more than this is not a spreadsheet of leads (a "zip bomb").
MAX_UNPACKED_BYTES = 300 * 1024 * 1024

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
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    best = charset_normalizer.from_bytes(content[:500_000], cp_isolation=["cp1256", "cp1252"]).best()
    if best is not None and best.encoding in ("cp1256", "cp1252"):
        return str(best.encoding)
    return "latin-1"


def _looks_utf16(content: bytes) -> bool:
    """UTF-16 without a byte-order mark: text in Latin letters has a zero byte in every pair."""
    sample = content[:4096]
    return len(sample) >= 4 and sample.count(b"\x00") * 3 >= len(sample)


def _utf16_codec(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = content[:4096]
    return "utf-16-be" if sample[0::2].count(b"\x00") > sample[1::2].count(b"\x00") else "utf-16-le"


def decode(content: bytes, encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise ValidationError.single("encoding", _l("Not a valid choice."))
    codec = {"utf-8": "utf-8-sig", "utf-16": _utf16_codec(content)}.get(encoding, encoding)
    try:
        text = content.decode(codec)
    except UnicodeError:
        raise ValidationError.single(
            "encoding",
            _l("The file cannot be read as %(encoding)s: choose another encoding.", encoding=ENCODINGS[encoding]),
        ) from None
    return text.removeprefix("\ufeff")


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


def _too_many_rows(max_rows: int) -> ValidationError:
    return ValidationError.single(
        "file", _l("The file has more than %(max)d rows: split it into smaller files.", max=max_rows)
    )


def _collect(records: Any, max_rows: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (the first non-blank row) and the non-blank rows after it."""
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, record in enumerate(records, start=1):
        cells = [cell.strip() for cell in record]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if len(cells) > MAX_COLUMNS:
            raise ValidationError.single("file", _l("The file has more than %(max)d columns.", max=MAX_COLUMNS))
        if any(len(cell) > MAX_CELL for cell in cells):
            raise ValidationError.single("file", _l("Row %(row)d has a cell that is far too long.", row=number))
        if headers is None:
            headers = cells
            continue
        if len(rows) >= max_rows:
            raise _too_many_rows(max_rows)
        rows.append((number, cells))
    if headers is None:
        raise ValidationError.single("file", _l("The file is empty."))
    return headers, rows


def read_csv(content: bytes, *, encoding: str | None, delimiter: str | None, max_rows: int) -> Table:
    encoding = encoding or detect_encoding(content)
    text = decode(content, encoding)
    if delimiter is not None and delimiter not in DELIMITERS:
        raise ValidationError.single("delimiter", _l("Not a valid choice."))
    delimiter = delimiter or detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers, rows = _collect(reader, max_rows)
    except csv.Error:
        raise ValidationError.single(
            "file", _l("Row %(row)d cannot be read: check its quotes.", row=reader.line_num)
        ) from None
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


def _check_unpacked_size(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationError.single("file", _l("This file cannot be read as an Excel workbook (.xlsx).")) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValidationError.single("file", _l("This workbook is too large once unpacked."))


def read_xlsx(content: bytes, *, sheet: str | None, max_rows: int) -> Table:
    import openpyxl

    _check_unpacked_size(content)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, AttributeError):
        raise ValidationError.single("file", _l("This file cannot be read as an Excel workbook (.xlsx).")) from None
    try:
        sheets = list(workbook.sheetnames)
        if not sheets:
            raise ValidationError.single("file", _l("The workbook has no sheet."))
        if sheet is not None and sheet not in sheets:
            raise ValidationError.single("sheet", _l("The workbook has no sheet called %(sheet)s.", sheet=sheet))
        chosen = sheet or sheets[0]
        records = ([cell_text(v) for v in row] for row in workbook[chosen].iter_rows(values_only=True))
        try:
            headers, rows = _collect(records, max_rows)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, AttributeError):
            raise ValidationError.single("file", _l("This file cannot be read as an Excel workbook (.xlsx).")) from None
    finally:
        workbook.close()
    return Table(headers=headers, rows=rows, sheet=chosen, sheets=sheets)


def read_table(content: bytes, *, options: dict[str, Any] | None = None, max_rows: int) -> Table:
    """The file's header and rows, read with the chosen ``options`` (detected when absent)."""
    options = options or {}
    if file_format(content) == "xlsx":
        return read_xlsx(content, sheet=options.get("sheet") or None, max_rows=max_rows)
    return read_csv(
        content, encoding=options.get("encoding") or None, delimiter=options.get("delimiter") or None, max_rows=max_rows
    )
