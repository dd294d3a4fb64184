"""The demo data: the February 2024 trade mission, loaded through the operations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel, select

from crm.accounts.models import Role, User
from crm.core.events import Event
from crm.core.security import verify_password
from crm.core.time import utcnow
from crm.demo import DEMO_PASSWORD, DEMO_USERS, DemoReport, load_demo
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Activity, Lead, PartnershipType, Stage
from crm.missions.conflicts import mission_conflicts
from crm.missions.models import DelegateRole, Meeting, Mission, MissionDelegate, MissionOrganiser, MissionStatus
from crm.missions.plan import leg_rows
from crm.organisations.models import Contact, Country, Organisation, OrganisationKind
from crm.organisations.queries import find_similar_organisations
from crm.reference.models import Sector

MOROCCAN = {
    "MTNRA": OrganisationKind.MINISTRY,
    "ADD": OrganisationKind.AGENCY,
    "DGSSI": OrganisationKind.AGENCY,
    "CGEM": OrganisationKind.FEDERATION,
    "AUSIM": OrganisationKind.ASSOCIATION,
    "APEBI": OrganisationKind.FEDERATION,
}
US_FIRMS = {
    "Oracle",
    "Microsoft",
    "Cisco",
    "Cloudera",
    "Google Cloud",
    "Palo Alto Networks",
    "Amazon Web Services",
    "Plug and Play",
    "Nutanix",
    "Tyler Technologies",
    "SparkCognition",
}


def _load(session: Any, **kwargs: Any) -> DemoReport:
    report = load_demo(session, **kwargs)
    session.commit()
    return report


def _row_counts(session: Any) -> dict[str, int]:
    import crm.models  # noqa: F401 - every table registered

    return {
        table.name: session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in SQLModel.metadata.sorted_tables
    }


def _org(session: Any, name_en: str) -> Organisation:
    return session.exec(select(Organisation).where(Organisation.name_en == name_en)).one()


def test_moroccan_institutions_have_three_names(session: Any) -> None:
    _load(session)
    orgs = session.exec(select(Organisation).where(Organisation.country == Country.MA)).all()
    assert len(orgs) == 7
    for org in orgs:
        assert org.name_ar and org.name_fr and org.name_en, org
        assert org.website and org.website.startswith("https://")
    by_acronym = {org.acronym: org for org in orgs}
    assert set(by_acronym) == {*MOROCCAN, None}
    for acronym, kind in MOROCCAN.items():
        assert by_acronym[acronym].kind == kind
    technopark = by_acronym[None]
    assert technopark.kind == OrganisationKind.TECHNOLOGY_PARK
    assert technopark.name_ar == "تيكنوبارك"
    ministry = by_acronym["MTNRA"]
    assert ministry.name_ar == "وزارة التحول الرقمي وإصلاح الإدارة"
    assert "وزارة الانتقال الرقمي وإصلاح الإدارة" in ministry.aliases
    assert by_acronym["ADD"].name_fr == "Agence de Développement du Digital"
    assert by_acronym["DGSSI"].name_ar == "المديرية العامة لأمن نظم المعلومات"


def test_us_firms_and_agencies(session: Any) -> None:
    _load(session)
    orgs = session.exec(select(Organisation).where(Organisation.country == Country.US)).all()
    companies = {o.name_en for o in orgs if o.kind in (OrganisationKind.COMPANY, OrganisationKind.ACCELERATOR)}
    assert companies == US_FIRMS
    agencies = {o.name_en for o in orgs if o.kind == OrganisationKind.US_GOVERNMENT_AGENCY}
    assert agencies == {"US Trade and Development Agency", "US Commercial Service"}
    for org in orgs:
        assert org.name_ar and org.name_fr and org.name_en, org
    assert _org(session, "Amazon Web Services").acronym == "AWS"
    assert _org(session, "Plug and Play").kind == OrganisationKind.ACCELERATOR
    assert _org(session, "US Trade and Development Agency").acronym == "USTDA"
    assert _org(session, "Palo Alto Networks").name_ar == "بالو ألتو نتوركس"


def test_sectors_contacts_and_mission(session: Any) -> None:
    _load(session)
    sectors = {s.code: s for s in session.exec(select(Sector)).all()}
    assert {
        "cloud",
        "cybersecurity",
        "ai",
        "e_government",
        "data_centres",
        "e_commerce",
        "startups",
        "skills",
        "technology_transfer",
    } <= set(sectors)
    assert sectors["cybersecurity"].name_ar == "الأمن السيبراني"
    amrani = session.exec(select(Contact).where(Contact.email == "s.amrani@mtnra.example")).one()
    assert amrani.language == "ar" and "سارة العمراني" in amrani.name
    assert amrani.phone is not None and amrani.phone.startswith("+212")
    contacts = session.exec(select(Contact)).all()
    assert all(c.email and c.email.endswith(".example") for c in contacts)
    assert {c.language for c in contacts} == {"ar", "fr", "en"}
    mission = session.exec(select(Mission)).one()
    assert (mission.starts_on.isoformat(), mission.ends_on.isoformat()) == ("2024-02-11", "2024-02-21")
    legs = leg_rows(session, mission.id)
    assert [(leg.timezone, leg.starts_on.day, leg.ends_on.day) for leg in legs] == [
        ("America/Chicago", 11, 14),
        ("America/Los_Angeles", 15, 21),
    ]
    assert mission.name_ar.startswith("البعثة التجارية") and mission.status == MissionStatus.UNDER_WAY
    organisers = session.exec(select(MissionOrganiser).where(MissionOrganiser.mission_id == mission.id)).all()
    assert {session.get(Organisation, o.organisation_id).acronym for o in organisers} == {"USTDA", None}
    delegates = session.exec(select(MissionDelegate).where(MissionDelegate.mission_id == mission.id)).all()
    assert len(delegates) == 7
    assert [d.contact_id for d in delegates if d.role == DelegateRole.HEAD] == [amrani.id]
    meetings = session.exec(select(Meeting).order_by(Meeting.starts_at)).all()
    assert 6 <= len(meetings) <= 10
    assert all(m.leg_id in {leg.id for leg in legs if leg.timezone == m.timezone} for m in meetings)
    assert mission_conflicts(session, mission.id) == []
    assert all(m.mission_id == mission.id for m in meetings)
    zones = [m.timezone for m in meetings]
    # Houston first, then Silicon Valley; wall times in February 2024.
    assert zones == sorted(zones, key=lambda z: z != "America/Chicago")
    assert {m.starts_local.year * 100 + m.starts_local.month for m in meetings} == {202402}


def test_users_and_roles(session: Any) -> None:
    _load(session)
    roles = {email: role for email, role in DEMO_USERS}
    assert roles["admin@jisr.example"] == "admin"
    assert roles["officer@jisr.example"] == "officer"
    assert roles["viewer@jisr.example"] == "viewer"
    for email, role in DEMO_USERS:
        user = session.exec(select(User).where(User.email == email)).one()
        assert user.role == Role(role)
        assert verify_password(user.password_hash, DEMO_PASSWORD)
    languages = {u.email: u.language for u in session.exec(select(User)).all()}
    assert languages["admin@jisr.example"] == "en"
    assert languages["officer@jisr.example"] == "fr"
    assert languages["viewer@jisr.example"] == "ar"


def test_leads_cover_every_stage_and_type(session: Any) -> None:
    _load(session)
    leads = session.exec(select(Lead)).all()
    assert 12 <= len(leads) <= 14
    assert {lead.stage for lead in leads} == set(Stage)
    assert {lead.partnership_type for lead in leads} == set(PartnershipType)
    assert sum(lead.confidential for lead in leads) == 1
    assert {lead.currency for lead in leads if lead.estimated_value is not None} == {"MAD", "USD"}
    for lead in leads:
        assert session.get(Organisation, lead.ma_organisation_id).country == Country.MA
        assert session.get(Organisation, lead.us_organisation_id).country == Country.US
        assert lead.meeting_id is not None and lead.mission_id is not None and lead.sector_id is not None

    workshop = session.exec(
        select(Lead).where(Lead.title == "Cybersecurity workshop between DGSSI and Palo Alto Networks")
    ).one()
    assert session.get(Organisation, workshop.ma_organisation_id).acronym == "DGSSI"
    assert session.get(Organisation, workshop.us_organisation_id).name_en == "Palo Alto Networks"
    cloud = session.exec(select(Lead).where(Lead.title == "Cloud migration proposal for ADD")).one()
    assert session.get(Organisation, cloud.ma_organisation_id).acronym == "ADD"
    assert session.get(Organisation, cloud.us_organisation_id).name_en in {"Oracle", "Amazon Web Services"}

    # Each lead was created at "identified" and walked to its stage: the log shows the history.
    signed = session.exec(select(Lead).where(Lead.stage == Stage.AGREEMENT_SIGNED)).one()
    moves = session.exec(
        select(Event).where(Event.lead_id == signed.id, Event.type == "lead.stage_changed").order_by(Event.id)
    ).all()
    assert [m.payload["to"] for m in moves] == [
        "contacted",
        "meeting_held",
        "proposal",
        "negotiation",
        "agreement_signed",
    ]
    assert all(m.actor_id == signed.owner_id for m in moves)
    activities = session.exec(select(Activity)).all()
    assert activities and all(a.occurred_at <= utcnow() for a in activities)


def test_followups_overdue_this_week_and_later(session: Any) -> None:
    now = utcnow()
    _load(session, now=now)
    followups = session.exec(select(FollowUp)).all()
    open_ = [f for f in followups if f.status == FollowUpStatus.OPEN]
    overdue = [f for f in open_ if f.due_at < now]
    this_week = [f for f in open_ if now <= f.due_at <= now + timedelta(days=7)]
    later = [f for f in open_ if f.due_at > now + timedelta(days=7)]
    assert len(overdue) >= 3 and len(this_week) >= 3 and len(later) >= 3
    assert [f.status for f in followups].count(FollowUpStatus.DONE) == 1
    assert {f.timezone for f in followups} >= {"Africa/Casablanca", "America/New_York"}
    for f in followups:
        lead = session.get(Lead, f.lead_id)
        assert f.owner_id == lead.owner_id
        assert f.due_local.minute == 0 and 9 <= f.due_local.hour <= 16
    closed = session.exec(select(Lead).where(Lead.stage.in_([Stage.AGREEMENT_SIGNED, Stage.CLOSED_NO_GO]))).all()
    assert not [f for f in open_ if f.lead_id in {lead.id for lead in closed}]


def test_loading_twice_changes_nothing(session: Any) -> None:
    first = _load(session)
    assert first.total_created > 0 and first.total_present == 0
    before = _row_counts(session)
    assert before["event"] > 0
    second = _load(session, now=utcnow() + timedelta(days=3))
    assert _row_counts(session) == before
    assert second.total_created == 0
    assert second.total_present == first.total_created
    assert "created 0" in second.summary()


def test_summary_names_what_was_loaded(session: Any) -> None:
    report = _load(session)
    text = report.summary()
    assert text.startswith("Demo data: ")
    assert "20 organisations" in text and "1 mission," in text
    assert f"{report.count('leads')} leads" in text
    assert "already present 0" in text


def test_every_write_recorded_an_event_with_an_actor(session: Any) -> None:
    _load(session)
    admin = session.exec(select(User).where(User.email == "admin@jisr.example")).one()
    created = session.exec(select(Event).where(Event.type == "organisation.created")).all()
    assert len(created) == 20 and all(e.actor_id == admin.id for e in created)
    assert session.exec(select(Event).where(Event.type == "lead.created")).all()
    assert session.exec(select(Event).where(Event.type == "followup.done")).all()


def test_the_leads_have_a_history_over_the_past_weeks(session: Any) -> None:
    _load(session)
    now = utcnow()
    moves = session.exec(select(Event).where(Event.type == "lead.stage_changed")).all()
    weeks = {(now - e.occurred_at).days // 7 for e in moves}
    assert len(weeks) >= 6 and max(weeks) < 13, sorted(weeks)  # the dashboard shows twelve weeks
    assert all(e.occurred_at <= now for e in moves)
    created = {e.entity_id: e.occurred_at for e in session.exec(select(Event).where(Event.type == "lead.created"))}
    for lead in session.exec(select(Lead)).all():
        history = sorted((e.occurred_at, e.id) for e in moves if e.lead_id == lead.id)
        # created first, then moved in the order the event log records, the lead's stamps agreeing
        assert lead.created_at == created[lead.id] and all(lead.created_at < when for when, _ in history)
        assert [i for _, i in history] == sorted(i for _, i in history)
        assert lead.stage_changed_at == (history[-1][0] if history else lead.created_at)
        first_activity = min(
            (a.occurred_at for a in session.exec(select(Activity).where(Activity.lead_id == lead.id))), default=now
        )
        assert lead.created_at < first_activity


def test_search_finds_add_by_any_name(session: Any) -> None:
    _load(session)
    found = [
        find_similar_organisations(session, name)
        for name in ("ADD", "Agence de Développement du Digital", "وكالة التنمية الرقمية")
    ]
    assert all(len(result) == 1 for result in found), found
    assert {result[0].id for result in found} == {found[0][0].id}
    assert found[0][0].acronym == "ADD"


def test_future_now_keeps_activities_in_the_past(session: Any) -> None:
    _load(session, now=utcnow() + timedelta(days=30))
    assert all(a.occurred_at <= utcnow() for a in session.exec(select(Activity)).all())


def test_demo_command(app: Any) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["crm", "demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data:" in first.output
    second = runner.invoke(args=["crm", "demo"])
    assert second.exit_code == 0, second.output
    assert "created 0" in second.output
