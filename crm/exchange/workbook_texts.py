"""Opening a workbook with openpyxl, its table of shared texts read within limits.

openpyxl reads a workbook's shared texts (``xl/sharedStrings.xml``, the texts that cells
refer to by number) whole, even in read-only mode, building an object per text: a table
of a million tiny texts takes it many seconds and hundreds of megabytes. Here the table is
streamed instead, keeping only the texts themselves, and refused past a count of texts.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO, Any
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader
from openpyxl.xml.constants import SHARED_STRINGS

from crm.core.errors import ValidationError
from crm.exchange.read_limits import Deadline, max_cells, unreadable_workbook, workbook_too_large

CHUNK = 64 * 1024


class _SharedTexts:
    """Collects the plain text of each ``<si>`` (its runs joined, phonetic guides left out),
    as openpyxl would read it without rich text."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.texts: list[str] = []
        self.seen: dict[str, str] = {}  # a text repeated in the table is kept once
        self.parts: list[str] = []
        self.in_text = False
        self.phonetic = 0

    def start(self, name: str, _attrs: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "t" and not self.phonetic:
            self.in_text = True
        elif tag == "rPh":
            self.phonetic += 1
        elif tag == "si":
            self.parts = []

    def end(self, name: str) -> None:
        tag = name.rpartition(":")[2]
        if tag == "t":
            self.in_text = False
        elif tag == "rPh":
            self.phonetic -= 1
        elif tag == "si":
            if len(self.texts) >= self.limit:
                raise workbook_too_large()
            text = "".join(self.parts).replace("x005F_", "")
            self.texts.append(self.seen.setdefault(text, text))

    def characters(self, data: str) -> None:
        if self.in_text:
            self.parts.append(data)


def read_shared_texts(source: IO[bytes], *, limit: int, deadline: Deadline) -> list[str]:
    texts = _SharedTexts(limit)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = texts.start
    parser.EndElementHandler = texts.end
    parser.CharacterDataHandler = texts.characters
    parser.StartDoctypeDeclHandler = _refuse
    try:
        while chunk := source.read(CHUNK):
            parser.Parse(chunk, False)
            deadline.check()
        parser.Parse(b"", True)
    except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError):
        raise unreadable_workbook() from None
    return texts.texts


def _refuse(*_args: object) -> None:
    raise unreadable_workbook()


class _Reader(ExcelReader):  # type: ignore[misc]
    def __init__(self, content: bytes, *, max_rows: int, deadline: Deadline) -> None:
        super().__init__(io.BytesIO(content), read_only=True, data_only=True)
        self.max_rows = max_rows
        self.deadline = deadline

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is None:
            return
        with self.archive.open(part.PartName[1:]) as source:
            # More texts than half the cells a file may fill is not a table of leads.
            limit = max_cells(self.max_rows) // 2
            self.shared_strings = read_shared_texts(source, limit=limit, deadline=self.deadline)


def open_workbook(content: bytes, *, max_rows: int, deadline: Deadline) -> Any:
    """The workbook in openpyxl's read-only mode, values rather than formulas."""
    reader = _Reader(content, max_rows=max_rows, deadline=deadline)
    try:
        reader.read()
    except ValueError as exc:  # openpyxl wraps what went wrong, a limit of ours included
        if isinstance(exc.__cause__, ValidationError):
            raise exc.__cause__ from None
        raise
    return reader.wb
