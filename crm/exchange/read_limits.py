"""What reading an uploaded file may cost, and what the uploader is told when a file asks for
more: a number of rows, a field size, a number of cells and a reading time, each checked
while the file is streamed so that a small file that unpacks to millions of rows is refused
after reading just past the limit, never held whole in memory.
"""

from __future__ import annotations

import time

from babel.numbers import format_decimal

from crm.core.errors import ValidationError
from crm.core.i18n import FORMAT_LOCALES, current_language
from crm.core.i18n import lazy_gettext as _l

# The longest field a file may hold (a CSV field or a workbook cell), in UTF-8 bytes. A
# description of 50,000 characters fits; the rows' own checks then apply to each field.
MAX_FIELD_BYTES = 1024 * 1024
# The most columns read in a row, and the most filled cells in a file per row allowed.
MAX_COLUMNS = 200
CELLS_PER_ROW = 50
MIN_CELLS = 1_000_000
# How long reading a file may take before it is given up.
READ_SECONDS = 20.0


class Count(int):
    """A number shown in the reader's language when a message is rendered ("20,000",
    "20 000"), still a number for anything that stores it."""

    def __str__(self) -> str:
        return str(format_decimal(int(self), locale=FORMAT_LOCALES[current_language()]))


def blank_allowance(max_rows: int) -> int:
    """The last spreadsheet row a file may use: the header, ``max_rows`` rows of data and as
    many blank rows again. A row past it is not read; a sheet that declares one is refused."""
    return 2 * max_rows + 1


def max_cells(max_rows: int) -> int:
    return max(MIN_CELLS, max_rows * CELLS_PER_ROW)


def too_many_rows(max_rows: int) -> ValidationError:
    return ValidationError.single(
        "file", _l("The file has more than %(max)s rows: split it into smaller files.", max=Count(max_rows))
    )


def too_many_columns() -> ValidationError:
    return ValidationError.single("file", _l("The file has more than %(max)s columns.", max=Count(MAX_COLUMNS)))


def too_many_cells(max_rows: int) -> ValidationError:
    return ValidationError.single(
        "file",
        _l(
            "The file has more than %(max)s filled cells: keep only the columns to import, or split the file.",
            max=Count(max_cells(max_rows)),
        ),
    )


def field_too_long(row: int) -> ValidationError:
    return ValidationError.single(
        "file",
        _l("A field in row %(row)s is longer than %(size)s MB.", row=Count(row), size=Count(MAX_FIELD_BYTES // 2**20)),
    )


def unreadable_workbook() -> ValidationError:
    return ValidationError.single("file", _l("This file cannot be read as an Excel workbook (.xlsx)."))


def workbook_too_large() -> ValidationError:
    return ValidationError.single("file", _l("This workbook is too large once unpacked."))


def field_is_too_long(cell: str) -> bool:
    return len(cell) > MAX_FIELD_BYTES // 4 and len(cell.encode("utf-8", "surrogatepass")) > MAX_FIELD_BYTES


class Deadline:
    """The moment reading a file is given up; checked every so many rows while streaming."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise ValidationError.single(
                "file",
                _l(
                    "Reading the file took longer than %(seconds)s seconds: split it into smaller files.",
                    seconds=Count(round(self.seconds)),
                ),
            )
