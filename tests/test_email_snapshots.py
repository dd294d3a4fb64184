"""The reminder and digest emails as their readers get them, in Arabic and in French:
compared with the snapshots in tests/snapshots/ (set JISR_UPDATE_SNAPSHOTS=1 to rewrite
them after a deliberate change, then read the diff)."""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm.accounts.models import Language, Role, User
from crm.core.emails import render_email
from crm.core.time import to_utc
from crm.followups.models import FollowUp
from crm.leads.labels import stage_label
from crm.leads.models import Currency, Lead, PartnershipType, Stage
from crm.organisations.models import Country, Organisation, OrganisationKind

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _reminder(app: Any, language: str, zone: str, rung: str, days: int) -> Any:
    dgssi = Organisation(
        id=3,
        country=Country.MA,
        kind=OrganisationKind.AGENCY,
        acronym="DGSSI",
        name_ar="المديرية العامة لأمن نظم المعلومات",
        name_fr="Direction Générale de la Sécurité des Systèmes d'Information",
        name_en="General Directorate of Information Systems Security",
    )
    pan = Organisation(
        id=13,
        country=Country.US,
        kind=OrganisationKind.COMPANY,
        name_ar="بالو ألتو نتوركس",
        name_fr="Palo Alto Networks",
        name_en="Palo Alto Networks",
    )
    owner = User(
        id=2,
        email="officer@jisr.example",
        name="Leïla Benjelloun",
        password_hash="x",
        role=Role.OFFICER,
        language=Language(language),
        timezone=zone,
    )
    lead = Lead(
        id=7,
        title="Cybersecurity workshop between DGSSI and Palo Alto Networks",
        ma_organisation_id=3,
        us_organisation_id=13,
        partnership_type=PartnershipType.CAPACITY_BUILDING,
        owner_id=2,
        stage=Stage.MEETING_HELD,
        estimated_value=Decimal("60000"),
        currency=Currency.USD,
    )
    due_local = datetime(2026, 9, 21, 10, 0)
    followup = FollowUp(
        id=11,
        lead_id=7,
        title="Agree the workshop dates",
        due_local=due_local,
        timezone="Africa/Casablanca",
        due_at=to_utc(due_local, "Africa/Casablanca"),
        owner_id=2,
    )
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        return render_email(
            "reminder",
            language=language,
            timezone=zone,
            rung=rung,
            days=days,
            followup=followup,
            lead=lead,
            owner=owner,
            ma_organisation=dgssi,
            us_organisation=pan,
            stage_label=stage_label,
        )


@pytest.mark.parametrize(
    ("name", "language", "zone", "rung", "days"),
    [
        ("reminder-ar-before", "ar", "Africa/Casablanca", "before-1", 1),
        ("reminder-fr-overdue-los-angeles", "fr", "America/Los_Angeles", "overdue-3", 3),
    ],
)
def test_reminder_email_matches_its_snapshot(
    app: Any, name: str, language: str, zone: str, rung: str, days: int
) -> None:
    email = _reminder(app, language, zone, rung, days)
    rendered = f"Subject: {email.subject}\n\n{email.text}"
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("JISR_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")
    assert f'lang="{language}"' in email.html
    assert ('dir="rtl"' in email.html) == (language == "ar")


def _matches_snapshot(name: str, rendered: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("JISR_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_weekly_digest_email_matches_its_snapshot(app: Any, session: Any, language: str) -> None:
    """The prepared week 48 of 2026 as the DGSSI focal point reads it (ids and the signed
    unsubscribe token vary between runs and are written as placeholders)."""
    import re

    from crm.digests.compile import compile_digest
    from crm.digests.models import Cadence
    from crm.digests.periods import latest_due_period
    from crm.digests.render import render_digest
    from tests.digest_helpers import SEND_AT, prepare_week

    app.config["BASE_URL"] = "https://jisr.example.org"
    week = prepare_week(session, language=language)
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, "Africa/Casablanca", 0, 8)
    email = render_digest(compile_digest(session, week.subscription, period, now=SEND_AT), week.subscription).email
    rendered = re.sub(
        r"/digests/unsubscribe/\S+", "/digests/unsubscribe/<token>", f"Subject: {email.subject}\n\n{email.text}"
    )
    _matches_snapshot(f"digest-{language}-weekly", rendered)
    assert ('dir="rtl"' in email.html) == (language == "ar")
