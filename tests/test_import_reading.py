"""Reading uploaded files: encodings, separators, workbooks, and headers recognised in
Arabic, French and English. No database here: these are the file readers alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crm.core.errors import ValidationError
from crm.exchange.fields import header_signature, suggest_mapping
from crm.exchange.models import ImportKind
from crm.exchange.reading import detect_delimiter, detect_encoding, file_format, read_table
from tests.conftest import make_test_app
from tests.exchange_helpers import csv_bytes, xlsx_bytes

ARABIC = [
    ["العنوان", "المؤسسة المغربية"],
    ["نقل السحابة", "وكالة التنمية الرقمية"],
    ["أكاديمية المهارات", "المديرية العامة"],
]
FRENCH = [["Titre", "Organisme marocain"], ["Migration vers le cloud", "Agence de Développement du Digital"],
          ["École du numérique", "Confédération Générale des Entreprises du Maroc"]]  # fmt: skip


@pytest.fixture
def app_context(tmp_path: Path, instance_root: Path) -> Iterator[Any]:
    """An app for translated labels (the header names in three languages); no database is used."""
    app = make_test_app(f"sqlite:///{tmp_path / 'unused.sqlite'}")
    with app.app_context():
        yield app


def read(content: bytes, **options: Any) -> Any:
    return read_table(content, options=options, max_rows=100)


def test_utf16_with_its_byte_order_mark_is_read() -> None:
    table = read(csv_bytes(ARABIC, delimiter="\t", encoding="utf-16"))
    assert table.encoding == "utf-16" and table.delimiter == "\t"
    assert table.headers == ARABIC[0]
    assert table.rows[0] == (2, ARABIC[1])


def test_utf16_without_a_byte_order_mark_is_recognised() -> None:
    for codec in ("utf-16-le", "utf-16-be"):
        table = read(csv_bytes(FRENCH, delimiter="\t", encoding=codec))
        assert table.encoding == "utf-16" and table.headers == FRENCH[0], codec


def test_windows_1256_arabic_is_detected() -> None:
    content = csv_bytes(ARABIC, delimiter=";", encoding="cp1256")
    assert detect_encoding(content) == "cp1256"
    table = read(content)
    assert table.headers == ARABIC[0] and table.rows[1][1] == ARABIC[2]


def test_latin_1_french_is_detected() -> None:
    content = csv_bytes(FRENCH, delimiter=";", encoding="latin-1")
    assert detect_encoding(content) in ("cp1252", "latin-1")
    table = read(content)
    assert table.rows[0][1][1] == "Agence de Développement du Digital"
    assert table.rows[1][1][0] == "École du numérique"


def test_utf8_byte_order_mark_is_not_part_of_the_first_header() -> None:
    table = read("\ufeff".encode() + csv_bytes(FRENCH))
    assert table.encoding == "utf-8" and table.headers[0] == "Titre"


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), (",", "comma")])
def test_separator_is_sniffed(delimiter: str, name: str) -> None:
    rows = [["Titre", "Valeur", "Devise"], ["Cloud, phase 1", "250 000,50", "MAD"], ["IA", "1 000", "USD"]]
    content = csv_bytes(rows, delimiter=delimiter)
    assert detect_delimiter(content.decode()) == delimiter
    assert read(content).rows[0][1] == rows[1]


def test_chosen_encoding_and_separator_win_over_detection() -> None:
    content = csv_bytes(ARABIC, delimiter=";", encoding="cp1256")
    assert read(content, encoding="cp1256", delimiter=";").headers == ARABIC[0]
    misread = read(content, encoding="latin-1", delimiter=",")
    assert misread.encoding == "latin-1" and len(misread.headers) == 1 and misread.headers[0] != ARABIC[0][0]
    with pytest.raises(ValidationError) as refused:
        read(content, encoding="utf-8")
    assert "encoding" in refused.value.errors


def test_quoted_cells_keep_their_separators_and_line_breaks() -> None:
    table = read(b'Title,Description\n"Cloud, phase 1","Line one\nline two"\n')
    assert table.rows == [(2, ["Cloud, phase 1", "Line one\nline two"])]


def test_blank_rows_are_left_out_but_rows_keep_their_spreadsheet_numbers() -> None:
    table = read(b"Title\n\nFirst\n,,\nSecond\n")
    assert table.rows == [(3, ["First"]), (5, ["Second"])]


def test_xlsx_first_sheet_by_default_and_a_chosen_sheet() -> None:
    content = xlsx_bytes(
        [["Titre", "Valeur", "Signé le"], ["Cloud", 250000.5, datetime(2024, 2, 12)], ["IA", 1000, None]],
        sheet="Pistes",
        extra_sheets=("Notes",),
    )
    assert file_format(content) == "xlsx"
    first = read(content)
    assert first.sheets == ["Notes", "Pistes"] and first.headers == ["Notes"] and first.rows == []
    chosen = read(content, sheet="Pistes")
    assert chosen.headers == ["Titre", "Valeur", "Signé le"]
    assert chosen.rows == [(2, ["Cloud", "250000.5", "2024-02-12"]), (3, ["IA", "1000"])]
    with pytest.raises(ValidationError):
        read(content, sheet="Missing")


def test_old_xls_and_broken_workbooks_are_refused_with_a_message() -> None:
    with pytest.raises(ValidationError):
        read(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(ValidationError):
        read(b"PK\x03\x04 this is not a workbook")


def test_row_limit_is_checked_while_reading() -> None:
    content = csv_bytes([["Title"], *[[f"Lead {n}"] for n in range(6)]])
    assert len(read_table(content, max_rows=6).rows) == 6
    with pytest.raises(ValidationError):
        read_table(content, max_rows=5)


@pytest.mark.parametrize(
    "headers",
    [
        ["Titre", "Organisme marocain", "Entreprise américaine", "Étape", "Valeur", "Devise", "Responsable"],
        ["العنوان", "المؤسسة المغربية", "الشركة الأمريكية", "المرحلة", "القيمة", "العملة", "المسؤول"],
        ["Title", "Moroccan organisation", "US organisation", "Stage", "Amount", "Currency", "Owner"],
    ],
)
def test_lead_headers_are_recognised_in_three_languages(app_context: Any, headers: list[str]) -> None:
    assert suggest_mapping(ImportKind.LEADS, headers) == [
        "title",
        "ma_organisation",
        "us_organisation",
        "stage",
        "estimated_value",
        "currency",
        "owner",
    ]


def test_an_owner_email_column_is_preferred_and_unknown_headers_are_left_out(app_context: Any) -> None:
    mapping = suggest_mapping(ImportKind.LEADS, ["Responsable", "Owner email", "Couleur"])
    assert mapping == ["", "owner", ""]


def test_organisation_and_contact_headers_are_recognised(app_context: Any) -> None:
    assert suggest_mapping(ImportKind.ORGANISATIONS, ["Sigle", "Nom en arabe", "Pays", "Site web"]) == [
        "acronym",
        "name_ar",
        "country",
        "website",
    ]
    assert suggest_mapping(ImportKind.CONTACTS, ["Nom", "Fonction", "Organisme", "Courriel", "الهاتف"]) == [
        "name",
        "title",
        "organisation",
        "email",
        "phone",
    ]


def test_header_signature_ignores_case_accents_and_punctuation() -> None:
    assert header_signature(ImportKind.LEADS, ["Titre", "Étape"]) == header_signature(
        ImportKind.LEADS, ["TITRE", "etape"]
    )
    assert header_signature(ImportKind.LEADS, ["Titre"]) != header_signature(ImportKind.CONTACTS, ["Titre"])
