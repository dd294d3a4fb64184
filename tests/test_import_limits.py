"""Uploads cannot exhaust a worker: workbooks that unpack to millions of rows, to a row of
thousands of columns or to a table of millions of shared texts, and CSV files past the row
or field limits, are refused after reading just past the limit, in bounded memory, with a
message that says exactly what was wrong in the uploader's language; nothing is written.
A long field within the stated limit is read."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from crm.core.errors import ValidationError
from crm.core.events import Event
from crm.exchange.models import DataImport, ImportFile
from crm.exchange.plan import Problem
from crm.exchange.reading import read_table
from crm.leads.models import Lead
from tests import upload_bombs
from tests.factories import make_user
from tests.test_import_leads import count, events_of, suggested_mapping, upload
from tests.web_helpers import login

ROOT = Path(__file__).resolve().parent.parent
MAX_ROWS = 20_000
MB = 1024 * 1024
ROWS = "The file has more than %(max)s rows: split it into smaller files."
COLUMNS = "The file has more than %(max)s columns."
FIELD = "A field in row %(row)s is longer than %(size)s MB."
UNPACKED = "This workbook is too large once unpacked."
CELLS = "The file has more than %(max)s filled cells: keep only the columns to import, or split the file."


@functools.cache
def bomb(name: str) -> bytes:
    """Each hostile file is built once for the whole module."""
    return BOMBS[name][0]()


# name: (builder, the message, its parameters, the file name it is uploaded as)
BOMBS: dict[str, tuple[Callable[[], bytes], str, dict[str, int], str]] = {
    "rows declared in the dimension": (upload_bombs.row_bomb, ROWS, {"max": MAX_ROWS}, "leads.xlsx"),
    "rows behind a dimension that lies": (
        lambda: upload_bombs.row_bomb(dimension="A1:B2"),
        ROWS,
        {"max": MAX_ROWS},
        "leads.xlsx",
    ),
    "rows without a dimension": (lambda: upload_bombs.row_bomb(dimension=None), ROWS, {"max": MAX_ROWS}, "leads.xlsx"),
    "a row numbered two million": (upload_bombs.gap_bomb, ROWS, {"max": MAX_ROWS}, "leads.xlsx"),
    "a row of 16,384 columns": (upload_bombs.wide_row_bomb, COLUMNS, {"max": 200}, "leads.xlsx"),
    "a row of millions of cells, compressed 1000:1": (upload_bombs.cell_flood, UNPACKED, {}, "leads.xlsx"),
    "a million merged ranges": (upload_bombs.merged_cells_bomb, UNPACKED, {}, "leads.xlsx"),
    "a shared-texts table of 50 MB": (upload_bombs.shared_strings_bomb, UNPACKED, {}, "leads.xlsx"),
    "a million shared texts": (
        lambda: upload_bombs.shared_strings_bomb(1_000_000),
        UNPACKED,
        {},
        "leads.xlsx",
    ),
    "a workbook cell over 1 MB": (lambda: upload_bombs.long_cell(MB + 1), FIELD, {"row": 2, "size": 1}, "leads.xlsx"),
    "a row of 9 MB of text": (lambda: upload_bombs.long_cell(MB, cells=9), UNPACKED, {}, "leads.xlsx"),
    "CSV rows past the limit": (lambda: upload_bombs.csv_rows(MAX_ROWS + 1), ROWS, {"max": MAX_ROWS}, "leads.csv"),
    "two million blank CSV lines": (
        lambda: upload_bombs.csv_rows(2_000_000, blank=True),
        ROWS,
        {"max": MAX_ROWS},
        "leads.csv",
    ),
    "a CSV field over 1 MB": (lambda: upload_bombs.csv_long_field(MB + 1), FIELD, {"row": 2, "size": 1}, "leads.csv"),
    "a CSV field of 1 MB in Arabic letters": (
        lambda: 'Title\r\n"{}"\r\n'.format("ب" * (MB // 2 + 1)).encode(),
        FIELD,
        {"row": 2, "size": 1},
        "leads.csv",
    ),
}


def refusal(content: bytes, **options: Any) -> Problem:
    with pytest.raises(ValidationError) as caught:
        read_table(content, options=options, max_rows=MAX_ROWS, seconds=600)
    name, message = next(iter(caught.value.errors.items()))
    return Problem.of(name, message)


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_hostile_file_is_refused_with_what_was_wrong(name: str) -> None:
    _, msgid, params, _ = BOMBS[name]
    problem = refusal(bomb(name))
    assert (problem.field, problem.msgid, problem.params) == ("file", msgid, params)


MEASURE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    from crm.core.errors import ValidationError
    from crm.exchange.reading import read_table

    def status(key):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

    content = Path(sys.argv[1]).read_bytes()
    read_table(b"Title\\nwarm\\n", max_rows=10)  # the modules' first use, not the file's
    try:
        Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    except OSError:
        pass  # then the peak since the start counts: an overestimate, never an underestimate
    before = status("VmRSS")
    started = time.monotonic()
    try:
        read_table(content, max_rows=int(sys.argv[2]), seconds=600)
        outcome = "read"
    except ValidationError as exc:
        outcome = str(next(iter(exc.errors.values())))
    print(json.dumps({"growth": status("VmHWM") - before, "seconds": time.monotonic() - started, "outcome": outcome}))
    """
)


def peak_growth(tmp_path: Path, content: bytes, max_rows: int = MAX_ROWS) -> dict[str, Any]:
    """Read ``content`` in a fresh process; the growth of its peak resident memory while reading."""
    path = tmp_path / "upload"
    path.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(max_rows)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a guard only: refusing takes well under a second here
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "name",
    [
        "rows declared in the dimension",
        "rows without a dimension",
        "a row numbered two million",
        "a million merged ranges",
        "a million shared texts",
        "two million blank CSV lines",
    ],
)
def test_refusing_a_bomb_grows_the_process_by_less_than_50_mb(name: str, tmp_path: Path) -> None:
    measured = peak_growth(tmp_path, bomb(name))
    assert measured["outcome"] != "read"
    assert measured["growth"] < 50 * MB, measured


def test_a_file_at_the_row_limit_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """The limit is not a refusal of everything large: 20,000 rows are read whole."""
    measured = peak_growth(tmp_path, upload_bombs.row_bomb(MAX_ROWS + 1, dimension=f"A1:B{MAX_ROWS + 1}"))
    assert measured["outcome"] == "read"
    assert measured["growth"] < 50 * MB, measured


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda: upload_bombs.csv_long_field(MB), id="csv"),
        pytest.param(
            lambda: 'Title,Moroccan organisation\r\n"{}",ADD\r\n'.format("ب" * (MB // 2)).encode(), id="arabic"
        ),
        pytest.param(lambda: upload_bombs.long_cell(MB), id="xlsx"),
    ],
)
def test_a_field_of_exactly_1_mb_is_read(content: Callable[[], bytes]) -> None:
    table = read_table(content(), max_rows=MAX_ROWS)
    assert table.headers == ["Title", "Moroccan organisation"]
    ((number, cells),) = table.rows
    assert number == 2 and len(cells[0].encode()) == MB and cells[1] == "ADD"


@pytest.mark.parametrize("blank_rows", [0, 100, MAX_ROWS])
def test_blank_rows_do_not_count_towards_the_limit_up_to_as_many_again(blank_rows: int) -> None:
    content = upload_bombs.csv_rows(MAX_ROWS, header="Title,Moroccan organisation" + "\r\n" * blank_rows)
    assert len(read_table(content, max_rows=MAX_ROWS).rows) == MAX_ROWS
    problem = refusal(content + b"Lead,ADD\r\n")
    assert problem.msgid == ROWS


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_reading_is_given_up_after_its_time_with_a_message(kind: str) -> None:
    content = upload_bombs.csv_rows(5_000) if kind == "csv" else upload_bombs.row_bomb(5_000, dimension="A1:B5000")
    with pytest.raises(ValidationError) as caught:
        read_table(content, max_rows=MAX_ROWS, seconds=0)
    problem = Problem.of("file", caught.value.errors["file"])
    assert problem.msgid == "Reading the file took longer than %(seconds)s seconds: split it into smaller files."


def test_the_mapping_sample_reads_only_the_first_rows() -> None:
    """Showing a few rows under each header never reads the file past them."""
    content = upload_bombs.csv_rows(2_000_000, blank=False)
    table = read_table(content, max_rows=MAX_ROWS, first=3)
    assert [number for number, _ in table.rows] == [2, 3, 4]


# What the uploader reads, in their language (Babel's separators: U+202F in French).
SAID = {
    "en": {ROWS: "The file has more than 20,000 rows: split it into smaller files.",
           COLUMNS: "The file has more than 200 columns.",
           FIELD: "A field in row 2 is longer than 1 MB.",
           UNPACKED: "This workbook is too large once unpacked."},
    "fr": {ROWS: "Le fichier a plus de 20\u202f000 lignes : découpez-le en fichiers plus petits.",
           COLUMNS: "Le fichier a plus de 200 colonnes.",
           FIELD: "Un champ de la ligne 2 dépasse 1 Mo.",
           UNPACKED: "Ce classeur est trop volumineux une fois décompressé."},
    "ar": {ROWS: "يحتوي الملف على أكثر من 20.000 صف: قسّمه إلى ملفات أصغر.",
           COLUMNS: "يحتوي الملف على أكثر من 200 عمود.",
           FIELD: "في الصف 2 حقل يتجاوز 1 ميغابايت.",
           UNPACKED: "هذا المصنف كبير جدًا بعد فكّ ضغطه."},
}  # fmt: skip


# Each hostile file in one of the three languages in turn, the row bomb in all three.
UPLOADS = [(name, ("en", "fr", "ar")[i % 3]) for i, name in enumerate(BOMBS)] + [
    ("rows declared in the dimension", "fr"),
    ("rows declared in the dimension", "ar"),
]


@pytest.mark.parametrize(("name", "language"), UPLOADS)
def test_an_uploaded_bomb_is_refused_in_the_uploaders_language_and_nothing_is_written(
    name: str, language: str, session: Session, client: Any
) -> None:
    _, msgid, _, filename = BOMBS[name]
    make_user(session, email="officer@jisr.example", language=language)
    session.commit()
    login(client, "officer@jisr.example")
    events_before = count(session, Event)
    response = upload(client, bomb(name), filename=filename)
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("\u200f", "").replace("\u200e", "")
    assert SAID[language][msgid] in page
    assert count(session, DataImport) == 0 and count(session, ImportFile) == 0
    assert count(session, Event) == events_before


def test_an_upload_with_a_1_mb_field_is_taken_and_the_field_judged_by_its_column(session: Session, client: Any) -> None:
    """A long field is valid CSV: the file is taken, and the preview says the title is too
    long for a title, as it would for any row."""
    make_user(session, email="officer@jisr.example", language="en")
    session.commit()
    login(client, "officer@jisr.example")
    page = re.sub(r"<[^>]+>", "", client.get("/imports").get_data(as_text=True))
    assert "20,000 rows per file, each field at most 1 MB." in page
    response = upload(client, upload_bombs.csv_long_field(MB))
    assert response.status_code == 302
    mapping_url = response.headers["Location"]
    mapping = suggested_mapping(client.get(mapping_url).get_data(as_text=True))
    assert mapping == ["title", "ma_organisation"]
    # The file has no partnership type: its value for all rows is chosen on the mapping page.
    preview = client.post(mapping_url, data={"mapping": mapping, "default-partnership_type": "pilot"})
    page = client.get(preview.headers["Location"]).get_data(as_text=True)
    assert "At most 300 characters." in page
    assert count(session, DataImport) == 1 and count(session, Lead) == 0


@pytest.mark.parametrize(("dimension", "language"), [("A1:B2000000", "fr"), ("A1:B2", "ar")])
def test_a_bomb_on_another_sheet_is_refused_when_that_sheet_is_chosen(
    dimension: str, language: str, session: Session, client: Any
) -> None:
    """The sheet of leads is read; choosing the sheet of two million rows says so, and the
    import keeps reading the sheet it had."""
    make_user(session, email="officer@jisr.example", language=language)
    session.commit()
    login(client, "officer@jisr.example")
    response = upload(client, upload_bombs.with_archive_bomb(dimension), filename="mission.xlsx")
    assert response.status_code == 302
    import_id = int(response.headers["Location"].split("/")[2])
    response = client.post(f"/imports/{import_id}/reading", data={"sheet": "Archive"})
    assert response.status_code == 400
    page = response.get_data(as_text=True).replace("\u200f", "").replace("\u200e", "")
    assert SAID[language][ROWS] in page
    data_import = session.get(DataImport, import_id)
    assert data_import is not None and data_import.options == {"sheet": "Leads"} and data_import.row_count == 1
    assert events_of(session, "import.reread") == 0


def test_a_sheet_that_declares_no_size_is_counted_even_when_not_chosen(session: Session, client: Any) -> None:
    """Opening a workbook makes openpyxl read through a sheet without a declared size to find
    its end: such a sheet of two million rows refuses the workbook, whichever sheet is read."""
    make_user(session, email="officer@jisr.example", language="en")
    session.commit()
    login(client, "officer@jisr.example")
    response = upload(client, upload_bombs.with_archive_bomb(None), filename="mission.xlsx")
    assert response.status_code == 400
    assert SAID["en"][ROWS] in response.get_data(as_text=True)
    assert count(session, DataImport) == 0
