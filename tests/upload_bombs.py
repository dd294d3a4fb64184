"""Hostile uploads built in the test: workbooks whose XML is written straight into the zip
(a few hundred kilobytes that unpack to millions of rows, a row of thousands of columns, a
table of shared texts of tens of megabytes) and CSV files past the limits.

Each builder streams its XML into the archive, so that building a bomb costs the test
process no more memory than reading it should."""

from __future__ import annotations

import functools
import io
import random
import zipfile
from collections.abc import Callable, Iterator

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006"
CONTENT_TYPES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="{PACKAGE}/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/worksheets/sheet2.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{PACKAGE}/relationships">
<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">
<sheets><sheet name="Leads" sheetId="1" r:id="rId1"/>%s</sheets></workbook>"""
SECOND_SHEET = '<sheet name="Archive" sheetId="2" r:id="rId3"/>'
WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{PACKAGE}/relationships">
<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/>
<Relationship Id="rId3" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet2.xml"/>
</Relationships>"""
HEADER_ROW = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'

Pieces = Callable[[], Iterator[str]]


def workbook(
    sheet_data: Pieces,
    *,
    dimension: str | None,
    shared_strings: Pieces | None = None,
    archive_sheet: tuple[Pieces, str | None] | None = None,
    after_data: Pieces | None = None,
) -> bytes:
    """A minimal workbook with a sheet "Leads", its ``<sheetData>`` written piece by piece,
    and a second sheet "Archive" when ``archive_sheet`` gives its data and dimension;
    ``after_data`` is written after the rows (where merged cells and formatting go)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK % (SECOND_SHEET if archive_sheet else ""))
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode())
            part.write(b"<si><t>Title</t></si><si><t>Moroccan organisation</t></si>")
            for piece in shared_strings() if shared_strings else ():
                part.write(piece.encode())
            part.write(b"</sst>")
        _write_sheet(archive, "xl/worksheets/sheet1.xml", sheet_data, dimension, after_data)
        if archive_sheet:
            _write_sheet(archive, "xl/worksheets/sheet2.xml", *archive_sheet)
    return buffer.getvalue()


def _write_sheet(
    archive: zipfile.ZipFile, name: str, sheet_data: Pieces, dimension: str | None, after_data: Pieces | None = None
) -> None:
    with archive.open(name, "w") as part:
        part.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode())
        if dimension is not None:
            part.write(f'<dimension ref="{dimension}"/>'.encode())
        part.write(b"<sheetData>")
        for piece in sheet_data():
            part.write(piece.encode())
        part.write(b"</sheetData>")
        for piece in after_data() if after_data else ():
            part.write(piece.encode())
        part.write(b"</worksheet>")


def _in_batches(make: Callable[[int], str], first: int, last: int, batch: int = 20_000) -> Iterator[str]:
    for start in range(first, last + 1, batch):
        yield "".join(make(n) for n in range(start, min(start + batch, last + 1)))


def row_bomb(rows: int = 2_000_000, *, dimension: str | None = "A1:B2000000") -> bytes:
    """About 500 KB that unpack to ``rows`` rows (some 50 MB of XML). The rows carry no ``r``
    attribute (a sheet may leave it out), so only counting them tells how many there are;
    ``dimension`` is what the sheet declares (true, a lie, or missing)."""
    return workbook(functools.partial(bomb_rows, rows), dimension=dimension)


def bomb_rows(rows: int) -> Iterator[str]:
    yield HEADER_ROW
    yield from _in_batches(lambda n: f"<row><c><v>{n % 1000}</v></c></row>", 2, rows)


def lead_rows() -> Iterator[str]:
    """A header and one lead between two organisations of the mission."""
    yield HEADER_ROW
    yield '<row r="2"><c r="A2" t="inlineStr"><is><t>Cloud migration</t></is></c>'
    yield '<c r="B2" t="inlineStr"><is><t>ADD</t></is></c></row>'


def with_archive_bomb(dimension: str | None) -> bytes:
    """A sheet "Leads" of one lead and a sheet "Archive" of two million rows."""
    return workbook(lead_rows, dimension="A1:B2", archive_sheet=(functools.partial(bomb_rows, 2_000_000), dimension))


def gap_bomb(last_row: int = 2_000_000) -> bytes:
    """Two rows, the second numbered ``last_row``: a few hundred bytes that a reader which
    fills the gap with blank rows turns into millions of rows."""

    def data() -> Iterator[str]:
        yield HEADER_ROW
        yield f'<row r="{last_row}"><c r="A{last_row}"><v>1</v></c></row>'

    return workbook(data, dimension="A1:B2")


def wide_row_bomb(columns: int = 16_384) -> bytes:
    """A header, then one row with a value in each of ``columns`` columns."""

    def data() -> Iterator[str]:
        yield HEADER_ROW
        yield '<row r="2">' + "".join(f"<c><v>{n % 10}</v></c>" for n in range(columns)) + "</row>"

    return workbook(data, dimension=None)


def cell_flood(cells: int = 3_000_000) -> bytes:
    """One row of millions of cell elements (past any sheet's width, all in one element)."""

    def data() -> Iterator[str]:
        yield HEADER_ROW
        yield '<row r="2">'
        yield from _in_batches(lambda n: "<c/>", 1, cells, batch=100_000)
        yield "</row>"

    return workbook(data, dimension="A1:B2")


def merged_cells_bomb(merges: int = 1_000_000) -> bytes:
    """A sheet of one lead followed by a million merged ranges, which openpyxl reads into
    objects all at once, after the rows (compressed only as much as real XML is)."""

    def merged() -> Iterator[str]:
        yield f'<mergeCells count="{merges}">'
        yield from _in_batches(lambda n: f'<mergeCell ref="C{n}:D{n}"/>', 1, merges)
        yield "</mergeCells>"

    return workbook(lead_rows, dimension="A1:B2", after_data=merged)


def shared_strings_bomb(strings: int = 3_000_000) -> bytes:
    """A sheet of two rows whose table of shared texts holds millions of entries."""

    def data() -> Iterator[str]:
        yield HEADER_ROW
        yield '<row r="2"><c r="A2" t="s"><v>2</v></c></row>'

    def texts() -> Iterator[str]:
        yield from _in_batches(lambda n: f"<si><t>{n % 100}</t></si>", 1, strings)

    return workbook(data, dimension="A1:B2", shared_strings=texts)


def prose(size: int) -> str:
    """``size`` characters of varied text (which compresses as text does, about 3:1)."""
    words = random.Random(size).choices(["cloud", "pilote", "agence", "data", "formation", "IA", "2024"], k=size // 3)
    return " ".join(words)[:size].rstrip().ljust(size, ".")


def long_cell(size: int, *, cells: int = 1) -> bytes:
    """A header and one row whose first ``cells`` cells hold ``size`` characters of text each,
    then "ADD"."""

    def data() -> Iterator[str]:
        yield HEADER_ROW
        yield '<row r="2">'
        for _ in range(cells):
            yield f'<c t="inlineStr"><is><t>{prose(size)}</t></is></c>'
        yield '<c t="inlineStr"><is><t>ADD</t></is></c></row>'

    return workbook(data, dimension="A1:B2")


def csv_rows(rows: int, *, header: str = "Title,Moroccan organisation", blank: bool = False) -> bytes:
    """A CSV of a header and ``rows`` short rows (blank lines when ``blank``)."""
    line = b"\r\n" if blank else b"Lead,ADD\r\n"
    return header.encode() + b"\r\n" + line * rows


def csv_long_field(size: int) -> bytes:
    """A header and one row whose first (quoted) field holds ``size`` characters."""
    return b'Title,Moroccan organisation\r\n"' + b"x" * size + b'",ADD\r\n'
