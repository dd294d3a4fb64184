"""Realistic files for the import and export tests: the February 2024 mission's
organisations, and lead spreadsheets in mixed Arabic, French and English."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from crm.organisations.models import Organisation
from tests.factories import make_organisation

# (Arabic, French, English, acronym) of the Moroccan institutions of the mission.
MOROCCAN = [
    (
        "وزارة الانتقال الرقمي وإصلاح الإدارة",
        "Ministère de la Transition Numérique et de la Réforme de l'Administration",
        "Ministry of Digital Transition and Administration Reform",
        "MTNRA",
    ),
    ("وكالة التنمية الرقمية", "Agence de Développement du Digital", "Digital Development Agency", "ADD"),
    (
        "المديرية العامة لأمن نظم المعلومات",
        "Direction Générale de la Sécurité des Systèmes d'Information",
        "General Directorate of Information Systems Security",
        "DGSSI",
    ),
    (
        "الاتحاد العام لمقاولات المغرب",
        "Confédération Générale des Entreprises du Maroc",
        "General Confederation of Moroccan Enterprises",
        "CGEM",
    ),
    (
        "جمعية مستعملي الأنظمة المعلوماتية بالمغرب",
        "Association des Utilisateurs des Systèmes d'Information au Maroc",
        "Moroccan IT Users Association",
        "AUSIM",
    ),
]
US_FIRMS = ["Oracle", "Microsoft", "Cisco", "Cloudera", "Google Cloud", "Palo Alto Networks", "Amazon Web Services"]


def seed_mission_organisations(session: Session) -> tuple[list[Organisation], list[Organisation]]:
    moroccan = [
        make_organisation(session, "MA", name_ar=ar, name_fr=fr, name_en=en, acronym=short)
        for ar, fr, en, short in MOROCCAN
    ]
    american = [make_organisation(session, "US", name_en=name) for name in US_FIRMS]
    return moroccan, american


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, sheet: str = "Leads", extra_sheets: tuple[str, ...] = ()) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = extra_sheets[0] if extra_sheets else sheet
    if extra_sheets:
        first.append(["Notes"])
        target = workbook.create_sheet(sheet)
    else:
        target = first
    for row in rows:
        target.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Ways an officer writes the Moroccan side: acronym, French, Arabic or English name.
def _ma_name(n: int) -> str:
    ar, fr, en, short = MOROCCAN[n % len(MOROCCAN)]
    return (short, fr, ar, en)[n % 4]


TYPES = [
    "Projet pilote",
    "Technology partnership",
    "التكوين وتنمية المهارات",
    "Investissement",
    "B2B sale",
    "نقل التكنولوجيا",
]
STAGES = ["Identifiée", "Contacted", "عُقد اجتماع", "Proposition", "Negotiation", ""]
TITLES = [
    "Migration vers le cloud n°{n}",
    "أكاديمية المهارات الرقمية {n}",
    "Cybersecurity workshop {n}",
    "Centre de données souverain {n}",
    "منصة الخدمات الحكومية الرقمية {n}",
    "AI pilot for e-government {n}",
]
HEADERS = ["Titre", "Organisme marocain", "Entreprise américaine", "Type de partenariat", "Étape", "Valeur", "Devise"]
# What a bad row gets wrong, and the words its error must contain (in English).
BAD_KINDS = [
    ("unknown_ma", "No organisation is called"),
    ("us_as_ma", "is not a Moroccan organisation"),
    ("stage", "Unknown stage"),
    ("amount", "Enter an amount"),
    ("title", "This field is required"),
]


@dataclass
class LeadFile:
    content: bytes
    rows: int
    bad: dict[int, str] = field(default_factory=dict)  # spreadsheet row number -> expected error words


def mixed_leads_file(count: int, bad_every: int | None = None, *, bad_count: int = 0) -> LeadFile:
    """``count`` lead rows in Arabic, French and English, ``bad_count`` of them wrong in five ways."""
    step = max(1, count // bad_count) if bad_count else 0
    bad_positions = {step * k + step // 2: BAD_KINDS[k % len(BAD_KINDS)] for k in range(bad_count)}
    rows = [HEADERS]
    result = LeadFile(content=b"", rows=count)
    for n in range(count):
        title = TITLES[n % len(TITLES)].format(n=n)
        row = [title, _ma_name(n), US_FIRMS[n % len(US_FIRMS)], TYPES[n % len(TYPES)], STAGES[n % len(STAGES)]]
        row += ["250 000,50", "MAD"] if n % 3 == 0 else (["1,500,000", "USD"] if n % 3 == 1 else ["", ""])
        if n in bad_positions:
            kind, words = bad_positions[n]
            if kind == "unknown_ma":
                row[1] = "Agence inconnue"
            elif kind == "us_as_ma":
                row[1] = "Oracle"
            elif kind == "stage":
                row[4] = "Presque fini"
            elif kind == "amount":
                row[5] = "beaucoup"
            else:
                row[0] = ""
            result.bad[n + 2] = words  # the header is row 1
        rows.append(row)
    result.content = csv_bytes(rows, delimiter=";")
    return result


def one_lead_import(session: Session, ctx: dict[str, Any], until: str) -> Any:
    """An import of one lead, taken through its steps up to ``until`` (for the event scenarios)."""
    from crm.core.db import pk
    from crm.exchange import operations as exchange
    from crm.exchange.plan import Problem
    from crm.exchange.queries import plan_import

    lead = ctx["lead"]
    ma = session.get(Organisation, lead.ma_organisation_id)
    us = session.get(Organisation, lead.us_organisation_id)
    assert ma is not None and us is not None
    content = csv_bytes(
        [
            ["Title", "Moroccan organisation", "US organisation", "Partnership type"],
            ["Imported pilot", ma.name_en, us.name_en, "pilot"],
        ]
    )
    officer = ctx["officer"]
    data_import = exchange.upload_import(session, kind="leads", filename="leads.csv", content=content, actor=officer)
    steps = {
        "reread": lambda: exchange.reread_import(session, data_import, actor=officer, encoding="utf-8"),
        "cancelled": lambda: exchange.cancel_import(session, data_import, actor=officer),
        "mapped": lambda: exchange.map_import_columns(session, data_import, mapping=data_import.mapping, actor=officer),
        "planning": lambda: exchange.map_import_columns(
            session, data_import, mapping=data_import.mapping, actor=officer, plan_in_worker=True
        ),
        "planning_started": lambda: exchange.start_planning(session, data_import),
        "planned": lambda: exchange.store_plan(
            session, pk(data_import), data_import.task_id or "", plan_import(session, data_import, officer)
        ),
        "planning_failed": lambda: exchange.fail_planning(session, data_import, Problem(None, "It stopped.")),
        "confirmed": lambda: exchange.confirm_import(session, data_import, actor=officer, background=False),
        "started": lambda: exchange.start_import(session, data_import),
        "failed": lambda: exchange.fail_import(session, data_import, Problem(None, "The import failed.")),
        "applied": lambda: exchange.apply_import(session, data_import),
        "reverted": lambda: exchange.revert_import(session, data_import, actor=officer),
    }
    order = {
        "uploaded": [],
        "reread": ["reread"],
        "cancelled": ["cancelled"],
        "mapped": ["mapped"],
        "planning_started": ["planning", "planning_started"],
        "planned": ["planning", "planned"],
        "planning_failed": ["planning", "planning_failed"],
        "confirmed": ["mapped", "confirmed"],
        "started": ["mapped", "confirmed", "started"],
        "failed": ["mapped", "confirmed", "started", "failed"],
        "applied": ["mapped", "confirmed", "started", "applied"],
        "reverted": ["mapped", "confirmed", "started", "applied", "reverted"],
    }
    for step in order[until]:
        steps[step]()
        if step == "applied":
            session.flush()
    return data_import


def worker_env(tmp_path: Path, database_url: str, backend: str) -> dict[str, str]:
    """The environment of an app and a Celery worker process that plan and run imports of
    more than 100 rows (over Redis on PostgreSQL, skipped without it)."""
    import pytest

    from tests.conftest import TEST_REDIS_URL

    env = {"JISR_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url, "IMPORT_INLINE_ROWS": "100"}
    if backend == "postgresql":
        if not TEST_REDIS_URL:
            pytest.skip("the PostgreSQL suite runs its workers over Redis: set REDIS_URL")
        env["REDIS_URL"] = TEST_REDIS_URL
    return env
