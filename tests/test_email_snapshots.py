"""The reminder and digest emails as their readers get them, in Arabic and in French:
compared with the snapshots in tests/snapshots/ (set JISR_UPDATE_SNAPSHOTS=1 to rewrite
them after a deliberate change, then read the diff)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm.accounts.models import Language, Role, User
from crm.core.time import to_utc
from crm.followups.agenda import AgendaItem
from crm.followups.mails import OverdueLine, render_reminder, render_team_escalation
from crm.followups.models import FollowUp
from crm.leads.models import Currency, Lead, PartnershipType, Stage
from crm.organisations.models import Country, Organisation, OrganisationKind

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _item(language: str, zone: str) -> AgendaItem:
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
    return AgendaItem(followup, lead, dgssi, pan, owner)


def _as_read(email: Any) -> str:
    """Subject and text, with the signed links (which carry the moment of signing) as placeholders."""
    return re.sub(r"/followups/link/\S+", "/followups/link/<token>", f"Subject: {email.subject}\n\n{email.text}")


@pytest.mark.parametrize(
    ("name", "language", "zone", "rung", "now"),
    [
        # The day before, at 09:00 in Casablanca: "Due tomorrow at 10:00".
        ("reminder-ar-before", "ar", "Africa/Casablanca", "before-1", datetime(2026, 9, 20, 9, 0, tzinfo=UTC)),
        # Three days late, read in Los Angeles (one hour later, the due day is the 21st there too).
        (
            "reminder-fr-overdue-los-angeles",
            "fr",
            "America/Los_Angeles",
            "overdue-3",
            datetime(2026, 9, 24, 16, 0, tzinfo=UTC),
        ),
    ],
)
def test_reminder_email_matches_its_snapshot(
    app: Any, name: str, language: str, zone: str, rung: str, now: datetime
) -> None:
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        item = _item(language, zone)
        email, _said = render_reminder(item, item.owner, rung, now)
    _matches_snapshot(name, _as_read(email))
    assert f'lang="{language}"' in email.html
    assert ('dir="rtl"' in email.html) == (language == "ar")
    # Done, done + next week; and snooze only once the follow-up is due (not the day before).
    links = 3 if rung.startswith("overdue") else 2
    assert email.html.count("/followups/link/") == email.text.count("/followups/link/") == links


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_grouped_escalation_email_matches_its_snapshot(app: Any, language: str) -> None:
    """Five overdue follow-ups of two officers, told to their supervisor in one mail."""
    lines = []
    for n, (days, owner) in enumerate([(3, "Leïla Benjelloun"), (12, "Omar Tazi"), (4, "Leïla Benjelloun")] * 2):
        if n == 5:
            break
        item = _item("fr", "Africa/Casablanca")
        item.owner.name = owner
        item.followup.id, item.lead.id = 100 + n, 200 + n
        item.followup.title = f"Follow-up {n + 1}"
        due = datetime(2026, 9, 24, 10, 0) - timedelta(days=days)
        item.followup.due_local, item.followup.due_at = due, to_utc(due, "Africa/Casablanca")
        lines.append(OverdueLine(item, days))
    reader = User(
        id=9,
        email="boss@jisr.example",
        name="Nadia Alaoui",
        password_hash="x",
        role=Role.ADMIN,
        language=Language(language),
        timezone="Africa/Casablanca",
    )
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        email = render_team_escalation(reader, lines)
    _matches_snapshot(f"team-escalation-{language}", _as_read(email))
    assert email.text.count("/leads/") == email.html.count("/leads/") == 5
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
