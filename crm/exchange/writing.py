"""Writing spreadsheets people open in Excel or LibreOffice: CSV with a UTF-8 byte-order
mark (so Excel reads Arabic right) and XLSX, both safe from formula injection — a text
cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading apostrophe, and XLSX cells holding text are always typed as strings."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal

from crm.core.i18n import FORMAT_LOCALES
from crm.exchange.plan import FORMULA_STARTS

BOM = "\ufeff"
# Direction marks Babel puts around Arabic numbers; a spreadsheet would keep them as text.
_MARKS = re.compile("[\u200e\u200f\u061c]")
# Characters XML 1.0 (and so XLSX) cannot hold.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Excel keeps at most this many characters in a cell (a description may be longer).
XLSX_CELL_LIMIT = 32_767


def safe_text(value: str) -> str:
    """Text that no spreadsheet will run as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_cell(value: Any, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Decimal):
        return _MARKS.sub("", str(format_decimal(value, format="0.00", locale=FORMAT_LOCALES[language])))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return safe_text(str(value))


def csv_chunks(headers: list[str], rows: Iterable[list[Any]], *, language: str, delimiter: str = ",") -> Iterator[str]:
    """The CSV text in pieces (for a streamed response), starting with the byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([safe_text(h) for h in headers])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(v, language) for v in row])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=_ILLEGAL.sub("", safe_text(value))[:XLSX_CELL_LIMIT])
        cell.data_type = "s"  # never a formula, whatever the text
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, Decimal):
        cell.number_format = "#,##0.00"
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    return cell


def xlsx_bytes(title: str, headers: list[str], rows: Iterable[list[Any]], *, right_to_left: bool = False) -> bytes:
    """A one-sheet workbook, written row by row (openpyxl's write-only mode)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Jisr")
    sheet.sheet_view.rightToLeft = right_to_left
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=_ILLEGAL.sub("", safe_text(header)))
        cell.data_type = "s"
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
