"""What a file really is: its type recognised from its bytes, never from its name alone.

An accepted file's name and content agree: a ``.pdf`` starts as a PDF, a ``.docx`` is a
zip holding a Word document's parts, a ``.txt`` is UTF-8 text that is not a web page.
Anything else (a program renamed ``.pdf``, a web page named ``.png``, a macro-carrying
Office file) is refused with a message that says so in the user's language.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

import filetype

from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
PNG = "image/png"
JPEG = "image/jpeg"
TEXT = "text/plain"

# The accepted names' endings and the type their content must have.
EXTENSIONS: dict[str, str] = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".xlsx": XLSX,
    ".pptx": PPTX,
    ".odt": ODT,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".txt": TEXT,
}
ACCEPT = ",".join(sorted(EXTENSIONS))
# The part each Office Open XML document must hold.
OOXML_PARTS = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml", PPTX: "ppt/presentation.xml"}
MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe", b"<object")
SNIFF_BYTES = 8192
TEXT_CHECK_BYTES = 1024 * 1024

NOT_ACCEPTED = _l(
    "This type of file is not accepted. Upload a PDF, a Word, Excel or PowerPoint document, "
    "an OpenDocument text, a PNG or JPEG image, or a plain text file."
)
MACROS = _l("Office documents with macros are not accepted.")
KIND_NAMES = {PDF: "PDF", DOCX: "Word", XLSX: "Excel", PPTX: "PowerPoint", ODT: "OpenDocument", PNG: "PNG"}
KIND_NAMES |= {JPEG: "JPEG", TEXT: "TXT"}


@dataclass(frozen=True)
class Recognised:
    content_type: str
    extension: str


def expected_type(file_name: str) -> str:
    """The type a file of this name must hold; refuses names Jisr does not accept."""
    extension = PurePosixPath(file_name.lower()).suffix
    if extension not in EXTENSIONS:
        raise ValidationError.single("file", NOT_ACCEPTED)
    return EXTENSIONS[extension]


def _disguised(expected: str) -> ValidationError:
    return ValidationError.single(
        "file",
        _l(
            "The content of this file does not match its name: it is not a real %(kind)s file.",
            kind=KIND_NAMES[expected],
        ),
    )


def _check_zip(content: IO[bytes], expected: str) -> None:
    content.seek(0)
    try:
        with zipfile.ZipFile(content) as archive:
            names = set(archive.namelist())
            if any(name.lower().endswith("vbaproject.bin") for name in names):
                raise ValidationError.single("file", MACROS)
            if expected == ODT:
                first = archive.infolist()[0] if archive.infolist() else None
                if first is None or first.filename != "mimetype" or first.file_size > 100:
                    raise _disguised(expected)
                if archive.read(first).strip() != ODT.encode():
                    raise _disguised(expected)
            elif "[Content_Types].xml" not in names or OOXML_PARTS[expected] not in names:
                raise _disguised(expected)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise _disguised(expected) from exc


def _check_text(content: IO[bytes]) -> None:
    content.seek(0)
    data = content.read(TEXT_CHECK_BYTES)
    if b"\x00" in data:
        raise _disguised(TEXT)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A chunk may end inside a character: only an error before its last 3 bytes counts.
        if exc.start < len(data) - 3:
            raise _disguised(TEXT) from exc
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(MARKUP):
        raise _disguised(TEXT)


def recognise(file_name: str, content: IO[bytes]) -> str:
    """The content type of ``content`` if it is what ``file_name`` says; else
    :class:`ValidationError` with the reason in the user's language."""
    expected = expected_type(file_name)
    content.seek(0)
    head = content.read(SNIFF_BYTES)
    if not head:
        raise ValidationError.single("file", _l("The file is empty."))
    guessed = filetype.guess(head)
    found = guessed.mime if guessed is not None else None
    if expected == TEXT:
        if found is not None:
            raise _disguised(TEXT)
        _check_text(content)
    elif expected in OOXML_PARTS or expected == ODT:
        # filetype names an Office file only from its first entries: the zip is read too.
        if found not in (expected, "application/zip"):
            raise _disguised(expected)
        _check_zip(content, expected)
    elif found != expected:
        raise _disguised(expected)
    content.seek(0)
    return expected
