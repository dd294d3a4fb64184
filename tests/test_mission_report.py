"""The post-mission report: the figures of a mission as the reader may see them (the same as
the mission page's), as a page and a PDF in Arabic, French or English, with charts drawn on
the server, in a fixed number of queries."""

from __future__ import annotations

import html
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from markupsafe import Markup
from sqlmodel import Session

from crm.accounts.models import Role
from crm.checkins.links import AnswerLink
from crm.checkins.models import Checkin, Outcome
from crm.checkins.operations import answer_checkin
from crm.core.i18n import gettext
from crm.followups.operations import complete_followup
from crm.leads.models import Currency, PartnershipType, Stage
from crm.leads.operations import move_lead_to_stage
from crm.missions.operations import create_mission, log_meeting
from crm.missions.plan import leg_rows
from crm.missions.queries import mission_detail, scorecard
from crm.organisations.models import Country
from crm.organisations.operations import create_contact
from crm.reference.operations import create_sector
from crm.reports.charts import WIDTH, bar
from crm.reports.queries import meetings_per_leg, mission_report
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

MISSION_AR = "البعثة الرقمية إلى هيوستن ووادي السيليكون"
PLACES = [
    {"name": "Houston, Texas", "timezone": "America/Chicago"},
    {"name": "Silicon Valley", "timezone": "America/Los_Angeles"},
]
FUTURE, PAST = datetime(2099, 1, 1, 9), datetime(2020, 1, 1, 9)


def _world(session: Session) -> dict[str, Any]:
    """A mission in Houston and Silicon Valley (and a debrief in Casablanca): four meetings,
    three leads an officer sees and a confidential one they do not, follow-ups kept, late and
    overdue, and one check-in answer."""
    officer = make_user(session, email="officer@jisr.example", language="fr")
    other = make_user(session, email="other@jisr.example")
    admin = make_user(session, role=Role.ADMIN, email="admin@jisr.example", language="en")
    viewer = make_user(session, role=Role.VIEWER, email="viewer@jisr.example", language="ar")
    add = make_organisation(session, Country.MA, acronym="ADD", name_ar="وكالة التنمية الرقمية", name_fr="ADD")
    dgssi = make_organisation(session, Country.MA, acronym="DGSSI", name_fr="Direction de la sécurité")
    oracle = make_organisation(session, Country.US, name_en="Oracle", name_fr="Oracle", name_ar="أوراكل")
    palo = make_organisation(session, Country.US, name_en="Palo Alto Networks")
    cloud = create_sector(session, code="cloud", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")
    cyber = create_sector(
        session, code="cyber", name_ar="الأمن السيبراني", name_fr="Cybersécurité", name_en="Cybersecurity"
    )
    mission = create_mission(
        session, name=MISSION_AR, starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), places=PLACES
    )
    legs = {leg.timezone: leg.id for leg in leg_rows(session, mission.id or 0)}
    meetings = [
        log_meeting(
            session,
            title=title,
            starts_local=when,
            timezone=zone,
            leg_id=legs.get(zone),
            mission_id=mission.id,
            organisation_ids=orgs,
        )
        for title, when, zone, orgs in (
            ("Cloud briefing", datetime(2024, 2, 12, 10), "America/Chicago", [add.id, oracle.id]),
            ("Security round table", datetime(2024, 2, 13, 14), "America/Chicago", [dgssi.id, oracle.id]),
            ("Zero trust workshop", datetime(2024, 2, 19, 9), "America/Los_Angeles", [add.id, palo.id]),
            ("Debrief", datetime(2024, 2, 23, 9), "Africa/Casablanca", []),
        )
    ]
    common = {"ma_organisation_id": add.id, "us_organisation_id": oracle.id}
    cloud_lead = make_lead(
        session,
        owner=officer,
        meeting_id=meetings[0].id,
        sector_id=cloud.id,
        estimated_value=Decimal(900000),
        currency=Currency.MAD,
        **common,
    )
    move_lead_to_stage(session, cloud_lead, Stage.PROPOSAL)
    training = make_lead(
        session,
        owner=officer,
        meeting_id=meetings[1].id,
        sector_id=cyber.id,
        partnership_type=PartnershipType.TRAINING_AND_SKILLS,
        estimated_value=Decimal(50000),
        currency=Currency.USD,
        **common,
    )
    move_lead_to_stage(session, training, Stage.AGREEMENT_SIGNED)
    investment = make_lead(
        session, owner=officer, meeting_id=meetings[2].id, partnership_type=PartnershipType.INVESTMENT, **common
    )
    secret = make_lead(
        session,
        owner=other,
        meeting_id=meetings[2].id,
        sector_id=cyber.id,
        estimated_value=Decimal(1000000),
        currency=Currency.USD,
        confidential=True,
        **common,
    )
    move_lead_to_stage(session, secret, Stage.AGREEMENT_SIGNED)
    complete_followup(session, make_followup(session, cloud_lead, FUTURE))
    complete_followup(session, make_followup(session, training, PAST))
    make_followup(session, investment, PAST)
    make_followup(session, secret, FUTURE)
    contact = create_contact(session, organisation_id=oracle.id, name="John Miller", email="john@oracle.example")
    session.add(
        Checkin(meeting_id=meetings[0].id, days=90, contact_id=contact.id, lead_ids=[cloud_lead.id], mail_key="k1")
    )
    session.flush()
    link = AnswerLink(contact_id=contact.id, lead_id=cloud_lead.id, meeting_id=meetings[0].id, days=90)
    answer_checkin(session, link, cloud_lead, outcome=Outcome.TALKING)
    session.commit()
    return {
        "mission": mission,
        "officer": officer,
        "admin": admin,
        "viewer": viewer,
        "orgs": (add, dgssi, oracle, palo),
        "sectors": (cloud, cyber),
        "leads": (cloud_lead, training, investment, secret),
    }


def test_the_report_counts_meetings_per_leg_organisations_leads_followups_and_value(session: Session) -> None:
    world = _world(session)
    mission = world["mission"]
    add, dgssi, oracle, palo = world["orgs"]
    cloud, cyber = world["sectors"]
    report = mission_report(session, world["officer"], mission)

    assert [(leg.name, leg.timezone, leg.meetings) for leg in report.legs] == [
        ("Houston, Texas", "America/Chicago", 2),
        ("Silicon Valley", "America/Los_Angeles", 1),
        ("", "Africa/Casablanca", 1),
    ]
    assert report.legs[0].first == datetime(2024, 2, 12, 16, tzinfo=UTC)
    assert [(o.organisation.id, o.meetings) for o in report.met_from(Country.MA)] == [(add.id, 2), (dgssi.id, 1)]
    assert [(o.organisation.id, o.meetings) for o in report.met_from(Country.US)] == [(oracle.id, 2), (palo.id, 1)]
    assert report.leads.total == 3
    assert [(s.id if s else None, n) for s, n in report.leads.by_sector] == [(cloud.id, 1), (cyber.id, 1), (None, 1)]
    assert dict(report.leads.by_type) == {
        PartnershipType.TECHNOLOGY_PARTNERSHIP: 1,
        PartnershipType.TRAINING_AND_SKILLS: 1,
        PartnershipType.INVESTMENT: 1,
    }
    assert report.leads.at(Stage.AGREEMENT_SIGNED) == 1 and report.leads.at(Stage.PROPOSAL) == 1
    _, training, _, secret = world["leads"]
    assert [(a.lead.id, a.moroccan.id, a.american.id) for a in report.agreements] == [(training.id, add.id, oracle.id)]
    keeping = report.followups
    assert (keeping.done_on_time, keeping.done_late, keeping.open_overdue, keeping.open_pending) == (1, 1, 1, 0)
    totals = report.pipeline.totals
    assert totals.value == {Currency.MAD: Decimal(900000), Currency.USD: Decimal(50000)}
    assert totals.weighted == {Currency.MAD: Decimal(450000), Currency.USD: Decimal(50000)}
    assert dict(report.outcomes)[Outcome.TALKING] == 1

    # The administrator sees the confidential lead: its value, its stage, its follow-up.
    full = mission_report(session, world["admin"], mission)
    assert full.leads.total == 4 and full.leads.at(Stage.AGREEMENT_SIGNED) == 2
    assert full.pipeline.totals.value[Currency.USD] == Decimal(1050000)
    assert full.followups.open_pending == 1
    assert [a.lead.id for a in full.agreements] == [secret.id, training.id]  # the latest signed first


def test_the_report_shows_the_mission_pages_figures(session: Session) -> None:
    world = _world(session)
    mission = world["mission"]
    for user in (world["officer"], world["admin"], world["viewer"]):
        report = mission_report(session, user, mission)
        assert report.score == scorecard(session, user, mission.id)
        assert report.score.meetings_held == sum(leg.meetings for leg in report.legs)
        assert report.score.leads_created == report.leads.total
        assert report.score.agreements_signed == report.leads.at(Stage.AGREEMENT_SIGNED)
        shown = mission_detail(session, user, mission)
        assert [o.organisation.id for o in report.organisations] == [o.id for o in shown.organisations_met]


def test_the_legs_come_in_order_with_their_dates_and_meetings_on_no_leg_last(session: Session) -> None:
    mission = create_mission(
        session,
        name="Two places, then home",
        starts_on=date(2024, 2, 11),
        ends_on=date(2024, 2, 21),
        legs=[
            {"name": "Houston", "timezone": "America/Chicago", "starts_on": "2024-02-12", "ends_on": "2024-02-15"},
            {"name": "Silicon Valley", "timezone": "America/Los_Angeles", "starts_on": "2024-02-16",
             "ends_on": "2024-02-21"},
        ],
    )  # fmt: skip
    session.commit()
    assert [(leg.name, leg.meetings, leg.first, leg.starts_on) for leg in meetings_per_leg(session, mission)] == [
        ("Houston", 0, None, date(2024, 2, 12)),
        ("Silicon Valley", 0, None, date(2024, 2, 16)),
    ]
    log_meeting(session, title="Debrief", starts_local=datetime(2024, 2, 23, 9), timezone="Africa/Casablanca",
                mission_id=mission.id)  # fmt: skip
    session.commit()
    last = meetings_per_leg(session, mission)[-1]
    assert (last.name, last.timezone, last.meetings, last.starts_on) == ("", "Africa/Casablanca", 1, date(2024, 2, 23))


def _values(page: str, prefix: str) -> dict[str, str]:
    return dict(re.findall(rf'data-testid="{prefix}([A-Za-z-]+)" data-value="([^"]*)"', page))


def test_the_report_page_repeats_the_mission_page_figures_in_each_language(session: Session, client: Any) -> None:
    world = _world(session)
    mission = world["mission"]
    login(client, "officer@jisr.example")
    mission_page = client.get(f"/missions/{mission.id}").get_data(as_text=True)
    assert f'href="/missions/{mission.id}/report"' in mission_page
    shown = {
        **_values(mission_page, "score-"),
        **{f"checkins-{k}": v for k, v in _values(mission_page, "checkins-").items()},
    }
    assert shown == {
        "meetings": "4",
        "leads": "3",
        "on-time": "1",
        "signed": "1",
        "checkins-sent": "1",
        "checkins-answered": "1",
        "checkins-contradicting": "0",
    }
    for language, words in (
        ("ar", "تقرير ما بعد البعثة"),
        ("fr", "Rapport de fin de mission"),
        ("en", "Post-mission report"),
    ):
        response = client.get(f"/missions/{mission.id}/report?lang={language}")
        assert response.status_code == 200
        page = html.unescape(response.get_data(as_text=True))
        figures = _values(page, "report-")
        assert {key: figures.get(key) for key in shown} == shown
        direction = "rtl" if language == "ar" else "ltr"
        assert 'data-testid="mission-report"' in page and f'lang="{language}" dir="{direction}"' in page
        assert words in page and MISSION_AR in page
        # A bar for each leg, sector, partnership type, stage, kind of follow-up and outcome.
        assert page.count('<svg class="report-bar"') == 3 + 3 + 3 + 8 + 4 + 5
        assert "1000000" not in page and "1 000 000" not in page  # the confidential lead's value
        assert 'aria-current="page" data-testid="report-lang-' + language in page
    # The page's menus stay in the reader's language (French) whatever the report's.
    page = client.get(f"/missions/{mission.id}/report?lang=ar").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert client.get(f"/missions/{mission.id}/report?lang=xx").status_code == 200
    assert client.get("/missions/999999/report").status_code == 404
    assert client.get("/missions/999999/report.pdf").status_code == 404


def test_the_report_needs_a_login_and_counts_only_what_the_reader_sees(session: Session, client: Any) -> None:
    world = _world(session)
    mission = world["mission"]
    response = client.get(f"/missions/{mission.id}/report")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(f"/missions/{mission.id}/report.pdf").status_code == 302
    login(client, "viewer@jisr.example")
    page = client.get(f"/missions/{mission.id}/report").get_data(as_text=True)
    assert _values(page, "report-")["leads"] == "3" and _values(page, "report-")["value-USD"] == "50000.00"
    client.post("/logout")
    login(client, "admin@jisr.example")
    page = client.get(f"/missions/{mission.id}/report").get_data(as_text=True)
    assert _values(page, "report-")["leads"] == "4" and _values(page, "report-")["value-USD"] == "1050000.00"
    assert "Confidential leads you may not see" not in page


def pdftotext(data: bytes, tmp_path: Path) -> str:
    source = tmp_path / "report.pdf"
    source.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True).stdout
    text = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", text)  # direction marks
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _flat(text: str) -> str:
    """Without Arabic vowel marks (pdftotext sets them on a line of their own) and with
    single spaces."""
    return " ".join(re.sub("[\u064b-\u0652]", "", text).split())


def test_the_pdf_in_arabic_reads_back_the_mission_name_and_its_figures(
    app: Any, session: Session, client: Any, tmp_path: Path
) -> None:
    world = _world(session)
    mission = world["mission"]
    login(client, "officer@jisr.example")
    response = client.get(f"/missions/{mission.id}/report.pdf?lang=ar")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    text = pdftotext(response.data, tmp_path)
    assert MISSION_AR in text
    score = scorecard(session, world["officer"], mission.id)
    with app.test_request_context("/"), force_locale("ar"):
        labels = {
            gettext("Meetings held"): score.meetings_held,
            gettext("Leads created"): score.leads_created,
            gettext("Leads with an on-time follow-up"): score.leads_with_on_time_followup,
            gettext("Agreements signed"): score.agreements_signed,
            gettext("Questions sent"): 1,
        }
    # Laid out right to left, each line reads its figure, then its label.
    flat = _flat(text)
    for label, value in labels.items():
        assert re.search(r"[\u0600-\u06ff]", label), label
        assert re.search(rf"(?<![\d.]){value} {re.escape(_flat(label))}", flat), (label, value, flat[:600])
    assert "Houston, Texas" in text and "America/Chicago" in text
    assert "وكالة التنمية الرقمية" in text and "أوراكل" in text and "الحوسبة السحابية" in text
    assert re.search(r"900[.\s]000", text) and re.search(r"450[.\s]000", text)
    assert "1.000.000" not in text and "1.050.000" not in text


def test_the_pdf_follows_the_chosen_language(session: Session, client: Any, tmp_path: Path) -> None:
    mission = _world(session)["mission"]
    login(client, "officer@jisr.example")
    text = pdftotext(client.get(f"/missions/{mission.id}/report.pdf?lang=en").data, tmp_path)
    assert "Post-mission report" in text and "Meetings held per leg" in text and "Oracle" in text
    assert re.search(r"Meetings held\s+4", text)
    text = pdftotext(client.get(f"/missions/{mission.id}/report.pdf").data, tmp_path)  # the reader's: French
    assert "Rapport de fin de mission" in text


def test_the_report_runs_a_fixed_number_of_queries(app: Any, session: Session, client: Any) -> None:
    world = _world(session)
    mission = world["mission"]
    login(client, "officer@jisr.example")
    path = f"/missions/{mission.id}/report"
    with count_queries(app) as few:
        assert client.get(path).status_code == 200
    oracle = world["orgs"][2]
    for n in range(12):
        org = make_organisation(session, Country.US if n % 2 else Country.MA)
        meeting = log_meeting(
            session,
            title=f"Meeting {n}",
            starts_local=datetime(2024, 2, 14, 9) + timedelta(hours=n),
            timezone="America/Chicago" if n % 3 else "Europe/Paris",
            mission_id=mission.id,
            organisation_ids=[org.id, oracle.id],
        )
        sector = create_sector(session, code=f"s{n}", name_ar=f"قطاع {n}", name_fr=f"Secteur {n}", name_en=f"S {n}")
        lead = make_lead(session, meeting_id=meeting.id, sector_id=sector.id, confidential=n % 4 == 0)
        make_followup(session, lead, PAST if n % 2 else FUTURE)
    session.commit()
    with count_queries(app) as many:
        assert client.get(path).status_code == 200
    assert len(many) == len(few)
    assert len(few) < 25


def test_a_bar_grows_from_the_start_of_its_line_in_either_direction() -> None:
    def rect(svg: Markup) -> tuple[float, float]:
        x, width = re.findall(r'<rect x="([\d.]+)" y="0" width="([\d.]+)"', str(svg))[1]
        return float(x), float(width)

    assert rect(bar(3, 4, "ltr")) == (0, WIDTH * 3 / 4)
    assert rect(bar(3, 4, "rtl")) == (WIDTH / 4, WIDTH * 3 / 4)  # ends at the right edge
    assert rect(bar(0, 0, "rtl")) == (WIDTH, 0)
    assert 'aria-hidden="true"' in str(bar(1, 1))
