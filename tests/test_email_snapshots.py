"""Every kind of email as its reader gets it, in Arabic, French and English: the subject
and text part in ``tests/snapshots/<name>.txt``, the HTML part in ``<name>.html`` (signed
tokens, content ids and MIME boundaries written as placeholders).

After a deliberate change to a template or a translation, rewrite them all with
``JISR_UPDATE_SNAPSHOTS=1 pytest tests/test_email_snapshots.py``, then read the diff.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask_babel import force_locale

from crm.accounts.models import Language, Role, User
from crm.accounts.operations import PasswordLinkReason
from crm.accounts.tokens import MAX_AGE, set_password_url
from crm.core.emails import render_email
from crm.core.text import isolate
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


LANGUAGES = ["ar", "fr", "en"]
# The day before at 09:00 in Casablanca ("due tomorrow at 10:00"), on the due day, three
# days late; and the escalation to the owner's supervisor five days late.
RUNGS = {
    "before": ("before-1", datetime(2026, 9, 20, 9, 0, tzinfo=UTC)),
    "due": ("due", datetime(2026, 9, 21, 8, 0, tzinfo=UTC)),
    "overdue": ("overdue-3", datetime(2026, 9, 24, 8, 0, tzinfo=UTC)),
}


def _supervisor(language: str) -> User:
    return User(
        id=9,
        email="boss@jisr.example",
        name="Nadia Alaoui",
        password_hash="x",
        role=Role.ADMIN,
        language=Language(language),
        timezone="Africa/Casablanca",
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("when", sorted(RUNGS))
def test_reminder_email_matches_its_snapshot(app: Any, language: str, when: str) -> None:
    rung, now = RUNGS[when]
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        item = _item(language, "Africa/Casablanca")
        email, _said = render_reminder(item, item.owner, rung, now)
    _matches_snapshots(f"reminder-{language}-{when}", email)
    # Done, done + next week; and snooze only once the follow-up is due (not the day before).
    links = 2 if when == "before" else 3
    assert email.html.count("/followups/link/") == email.text.count("/followups/link/") == links


def test_overdue_reminder_read_in_another_zone_matches_its_snapshot(app: Any) -> None:
    """Three days late, read in Los Angeles (the due day is the 21st there too)."""
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        item = _item("fr", "America/Los_Angeles")
        email, _said = render_reminder(item, item.owner, "overdue-3", datetime(2026, 9, 24, 16, 0, tzinfo=UTC))
    _matches_snapshots("reminder-fr-overdue-los-angeles", email)


@pytest.mark.parametrize("language", LANGUAGES)
def test_escalation_email_matches_its_snapshot(app: Any, language: str) -> None:
    """One overdue follow-up, told to the owner's supervisor: no one-click links for them."""
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        item = _item("fr", "Africa/Casablanca")
        email, _said = render_reminder(
            item, _supervisor(language), "escalation", datetime(2026, 9, 26, 8, 0, tzinfo=UTC)
        )
    _matches_snapshots(f"escalation-{language}", email)
    assert "/followups/link/" not in email.html + email.text


@pytest.mark.parametrize("language", LANGUAGES)
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
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        email = render_team_escalation(_supervisor(language), lines)
    _matches_snapshots(f"team-escalation-{language}", email)
    assert email.text.count("/leads/") == email.html.count("/leads/") == 5


VOLATILE = [
    (re.compile(r"/followups/link/[^\s\"'<>]+"), "/followups/link/<token>"),
    (re.compile(r"/digests/unsubscribe/[^\s\"'<>]+"), "/digests/unsubscribe/<token>"),
    (re.compile(r"/set-password/[^\s\"'<>]+"), "/set-password/<token>"),
    (re.compile(r"/checkins/answer/[^\s\"'<>?]+"), "/checkins/answer/<token>"),
    (re.compile(r"/checkins/stop/[^\s\"'<>]+"), "/checkins/stop/<token>"),
    (re.compile(r"cid:[^\s\"'<>]+"), "cid:<id>"),
    (re.compile(r"={10,}\d+=="), "<boundary>"),
]


def _normalised(text: str) -> str:
    for pattern, placeholder in VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def _matches_snapshot(name: str, rendered: str, suffix: str = "txt") -> None:
    path = SNAPSHOTS / f"{name}.{suffix}"
    rendered = _normalised(rendered)
    if os.environ.get("JISR_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def _matches_snapshots(name: str, email: Any) -> None:
    """The text part (with its subject) and the HTML part, each against its snapshot; the
    HTML is in the reader's language and direction."""
    language = name.split("-")[-1] if name.split("-")[-1] in LANGUAGES else name.split("-")[1]
    _matches_snapshot(name, f"Subject: {email.subject}\n\n{email.text}")
    _matches_snapshot(name, email.html, "html")
    assert f'lang="{language}"' in email.html
    assert ('dir="rtl"' in email.html) == (language == "ar")


@pytest.mark.parametrize("language", LANGUAGES)
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
    _matches_snapshots(f"digest-{language}-weekly", email)


def _reader(language: str, role: Role = Role.OFFICER) -> User:
    return User(
        id=5,
        email="sara.amrani@jisr.example",
        name="سارة العمراني",
        password_hash="x",
        role=role,
        language=Language(language),
        timezone="Africa/Casablanca",
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("reason", list(PasswordLinkReason))
def test_password_link_email_matches_its_snapshot(app: Any, language: str, reason: PasswordLinkReason) -> None:
    """An invitation and a reset name the administrator who asked; a forgotten password does not."""
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        user = _reader(language)
        email = render_email(
            "password_link",
            language=language,
            timezone=user.timezone,
            reason=reason.value,
            actor_name="" if reason == PasswordLinkReason.FORGOTTEN else "Nadia Alaoui",
            link=set_password_url(user, for_email=True),
            days=MAX_AGE // 86400,
            email=user.email,
        )
    _matches_snapshots(f"password-link-{reason.value}-{language}", email)
    assert email.text.count("/set-password/") == 1 and "/set-password/" in email.html


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("completed", [True, False], ids=["completed", "failed"])
def test_import_report_email_matches_its_snapshot(app: Any, language: str, completed: bool) -> None:
    from crm.exchange.display import failure_text
    from crm.exchange.jobs import GAVE_UP
    from crm.exchange.labels import kind_label
    from crm.exchange.models import DataImport, ImportKind, ImportStatus
    from crm.exchange.plan import Problem

    data_import = DataImport(
        id=42,
        kind=ImportKind.LEADS,
        author_id=5,
        filename="pistes-été-2026.csv",
        file_format="csv",
        status=ImportStatus.COMPLETED if completed else ImportStatus.FAILED,
        failure={} if completed else Problem.of(None, GAVE_UP).to_json(),
    )
    with app.app_context(), force_locale(language):
        app.config["BASE_URL"] = "https://jisr.example.org"
        failure, import_kind = failure_text(data_import), kind_label(data_import.kind)
        email = render_email(
            "import_report",
            language=language,
            timezone="Africa/Casablanca",
            data_import=data_import,
            completed=completed,
            counts={"create": 3, "update": 1, "unchanged": 0, "error": 2} if completed else {},
            failure=failure,
            import_kind=import_kind,
        )
    _matches_snapshots(f"import-report-{'completed' if completed else 'failed'}-{language}", email)
    assert "/imports/42" in email.text and "/imports/42" in email.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_webhook_disabled_email_matches_its_snapshot(app: Any, language: str) -> None:
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        email = render_email(
            "webhook_disabled",
            language=language,
            timezone="Africa/Casablanca",
            url=isolate("https://hooks.partner.example/jisr"),
            failures=5,
            endpoint_id=4,
        )
    _matches_snapshots(f"webhook-disabled-{language}", email)
    assert "hooks.partner.example/jisr" in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_checkin_email_matches_its_snapshot(app: Any, language: str) -> None:
    """90 days after a meeting in Houston, a contact is asked about its two leads."""
    from crm.checkins.mails import LeadQuestion, render_checkin
    from crm.missions.models import Meeting
    from crm.organisations.models import Contact

    item = _item(language, "America/Chicago")
    contact = Contact(
        id=7,
        organisation_id=13,
        name="سلمى بناني" if language == "ar" else "Salma Bennani",
        email="salma@add.gov.ma",
        language=Language(language),
        timezone="America/Chicago",
    )
    meeting = Meeting(
        id=5,
        title="Cloud security roadmap",
        starts_local=datetime(2026, 9, 1, 10, 0),
        timezone="America/Chicago",
        starts_at=to_utc(datetime(2026, 9, 1, 10, 0), "America/Chicago"),
    )
    second = Lead(
        id=9,
        title="SOC analysts training",
        ma_organisation_id=3,
        us_organisation_id=13,
        partnership_type=PartnershipType.TRAINING_AND_SKILLS,
        owner_id=2,
    )
    questions = [
        LeadQuestion(item.lead, item.ma_organisation, item.us_organisation),
        LeadQuestion(second, item.ma_organisation, item.us_organisation),
    ]
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        email = render_checkin(contact, meeting, 90, questions)
    _matches_snapshots(f"checkin-{language}", email)
    assert email.text.count("/checkins/answer/") == email.html.count("/checkins/answer/") == 10
    assert "/checkins/stop/" in email.text and "/checkins/stop/" in email.html
