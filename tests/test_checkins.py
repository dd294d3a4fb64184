"""Outcome check-ins: 90 and 180 days after a meeting, every contact who attended it (both
sides, with an address, not erased, not opted out) is asked once, in their language and at
09:00 on their clock, where each lead born in the meeting stands; the signed link shows a
form on GET and records on POST, once; a contradicting answer rings the owner's bell; the
mission page shows it all; one click stops these mails for good."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlmodel import Session, col, func, select

from crm.accounts.models import Role
from crm.checkins.dispatch import dispatch_due_checkins, due_checkins, fire_at
from crm.checkins.links import answer_token, stop_token
from crm.checkins.models import Checkin, CheckinAnswer, CheckinOptOut, Outcome
from crm.checkins.outcomes import contradicts
from crm.config import ConfigError, load_settings, parse_checkin_days
from crm.core.db import db
from crm.core.events import Event
from crm.core.ledger import OutboundMail
from crm.leads.models import Lead, Stage
from crm.leads.operations import move_lead_to_stage
from crm.missions.models import Meeting
from crm.missions.operations import create_mission, log_meeting
from crm.notifications.models import Notification
from crm.organisations.models import Contact, Country, Organisation
from crm.organisations.operations import create_contact
from crm.privacy.operations import erase_contact
from tests.factories import make_lead, make_organisation, make_user
from tests.test_spine import relay_and_consume
from tests.test_web import count_queries
from tests.web_helpers import login

MEETING_DAY = datetime(2026, 9, 1, 10, 0)  # in Houston (CDT, UTC-5)
# 90 days later is 30 November: Chicago is on CST (UTC-6) by then, Paris on CET (UTC+1).
DAY_90 = date(2026, 11, 30)


def _orgs(session: Session) -> tuple[Organisation, Organisation]:
    ma = make_organisation(
        session,
        Country.MA,
        acronym="ADD",
        name_ar="وكالة التنمية الرقمية",
        name_fr="Agence de développement du digital",
        name_en="Digital Development Agency",
    )
    us = make_organisation(session, Country.US, name_ar="نيمبوس كلاود", name_fr="Nimbus Cloud", name_en="Nimbus Cloud")
    return ma, us


def _world(session: Session, *, stage: Stage = Stage.MEETING_HELD) -> dict[str, Any]:
    """A meeting in Houston on 1 September 2026 with a Moroccan agency and a US company:
    three contacts who attended (Arabic in Casablanca, French in Paris, English in
    Chicago), one lead born in it, and one confidential lead."""
    owner = make_user(
        session, name="Leïla Benjelloun", email="leila@jisr.example", language="en", timezone="Africa/Casablanca"
    )
    ma, us = _orgs(session)
    salma = create_contact(
        session,
        organisation_id=ma.id,
        name="سلمى بناني",
        email="salma@add.gov.ma",
        language="ar",
        timezone="Africa/Casablanca",
    )
    claire = create_contact(
        session,
        organisation_id=ma.id,
        name="Claire Dubois",
        email="claire@add.gov.ma",
        language="fr",
        timezone="Europe/Paris",
    )
    john = create_contact(
        session,
        organisation_id=us.id,
        name="John Carter",
        email="john@nimbus.example",
        language="en",
        timezone="America/Chicago",
    )
    mission = create_mission(
        session, name="Digital trade mission", starts_on=date(2026, 8, 30), ends_on=date(2026, 9, 5)
    )
    meeting = log_meeting(
        session,
        title="Cloud roadmap",
        starts_local=MEETING_DAY,
        timezone="America/Chicago",
        mission_id=mission.id,
        organisation_ids=[ma.id, us.id],
        contact_ids=[salma.id, claire.id, john.id],
    )
    lead = make_lead(
        session,
        owner=owner,
        title="Cloud skills academy",
        ma_organisation_id=ma.id,
        us_organisation_id=us.id,
        meeting_id=meeting.id,
        mission_id=mission.id,
        stage=stage,
    )
    secret = make_lead(
        session,
        owner=owner,
        title="Sovereign data centre",
        ma_organisation_id=ma.id,
        us_organisation_id=us.id,
        meeting_id=meeting.id,
        mission_id=mission.id,
        confidential=True,
    )
    session.commit()
    return {
        "owner": owner,
        "ma": ma,
        "us": us,
        "salma": salma,
        "claire": claire,
        "john": john,
        "mission": mission,
        "meeting": meeting,
        "lead": lead,
        "secret": secret,
    }


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _mails(session: Session) -> dict[str, OutboundMail]:
    session.expire_all()
    rows = session.exec(select(OutboundMail).where(OutboundMail.kind == "checkin").order_by(col(OutboundMail.id)))
    return {m.recipient_email: m for m in rows}


def _send_all(session: Session) -> dict[str, OutboundMail]:
    """Every contact of the world asked (the evening of the 90th day in UTC: day everywhere)."""
    dispatch_due_checkins(session, now=_utc(DAY_90, 16))
    return _mails(session)


def _link(world: dict[str, Any], contact: str = "john", lead: str = "lead", days: int = 90) -> str:
    return f"/checkins/answer/{answer_token(world[contact].id, world[lead].id, world['meeting'].id, days)}"


def _state(response: Any) -> str:
    found = re.search(r'data-testid="checkin-answer" data-state="([\w-]+)"', response.get_data(as_text=True))
    return found.group(1) if found else ""


def _counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    return (
        session.exec(select(func.count()).select_from(Event)).one(),
        session.exec(select(func.count()).select_from(CheckinAnswer)).one(),
    )


# --- settings ----------------------------------------------------------------------------


def test_checkin_days_are_read_and_checked_at_start() -> None:
    assert parse_checkin_days("90,180") == (90, 180)
    assert parse_checkin_days(" 180 , 90, 90 ") == (90, 180)
    assert parse_checkin_days("0") == parse_checkin_days("") == ()
    for bad in ("ninety", "90;180", "-5", "90,,180", "0,90", "99999"):
        with pytest.raises(ConfigError, match="CHECKIN_DAYS"):
            parse_checkin_days(bad)
    assert load_settings({"CHECKIN_DAYS": "30"}).flask_config()["CHECKIN_DAYS"] == (30,)
    assert load_settings({}).flask_config()["CHECKIN_DAYS"] == (90, 180)
    with pytest.raises(ConfigError, match="CHECKIN_LINK_DAYS"):
        load_settings({"CHECKIN_LINK_DAYS": "0"})


# --- when, and to whom -------------------------------------------------------------------


def test_a_checkin_goes_at_nine_on_each_contacts_own_clock_across_daylight_saving(session: Session) -> None:
    world = _world(session)
    # The meeting's day plus 90, at 09:00 where each contact is: Paris (UTC+1) at 08:00 UTC,
    # Chicago at 15:00 UTC — standard time by then, not the meeting's daylight time (14:00).
    assert fire_at(MEETING_DAY.date(), 90, "Europe/Paris") == _utc(DAY_90, 8)
    assert fire_at(MEETING_DAY.date(), 90, "America/Chicago") == _utc(DAY_90, 15)
    assert dispatch_due_checkins(session, now=_utc(DAY_90 - timedelta(days=1), 16)) == 0
    assert dispatch_due_checkins(session, now=_utc(DAY_90, 7, 59)) == 0
    dispatch_due_checkins(session, now=_utc(DAY_90, 8))
    assert set(_mails(session)) >= {"claire@add.gov.ma"}
    assert "john@nimbus.example" not in _mails(session)
    dispatch_due_checkins(session, now=_utc(DAY_90, 14, 59))
    assert "john@nimbus.example" not in _mails(session)
    dispatch_due_checkins(session, now=_utc(DAY_90, 15))
    mails = _mails(session)
    assert set(mails) == {"claire@add.gov.ma", "john@nimbus.example", "salma@add.gov.ma"}
    meeting_id = world["meeting"].id
    assert mails["john@nimbus.example"].dedupe_key == f"checkin:{meeting_id}:90:{world['john'].id}"
    # 180 days after (28 February 2027), again at 09:00 in Chicago.
    assert dispatch_due_checkins(session, now=_utc(date(2027, 2, 28), 14, 59)) == 2  # Paris, Casablanca
    assert dispatch_due_checkins(session, now=_utc(date(2027, 2, 28), 15)) == 1
    keys = {m.dedupe_key for m in session.exec(select(OutboundMail))}
    assert f"checkin:{meeting_id}:180:{world['john'].id}" in keys and len(keys) == 6


def test_a_late_dispatcher_catches_up_by_day_but_never_at_night(session: Session) -> None:
    _world(session)
    # Two days late, 04:00 UTC: 22:00 in Chicago, 05:00 in Paris — nobody is asked at night.
    assert dispatch_due_checkins(session, now=_utc(DAY_90 + timedelta(days=2), 4)) == 0
    assert dispatch_due_checkins(session, now=_utc(DAY_90 + timedelta(days=2), 16)) == 3
    # After a week the moment has passed.
    assert due_checkins(session, _utc(DAY_90 + timedelta(days=8), 16), days=[90]) == []


def test_checkins_can_be_turned_off(app: Any, session: Session) -> None:
    _world(session)
    app.config["CHECKIN_DAYS"] = ()
    assert dispatch_due_checkins(session, now=_utc(DAY_90, 16)) == 0
    app.config["CHECKIN_DAYS"] = (90,)
    assert dispatch_due_checkins(session, now=_utc(DAY_90, 16)) == 3


def test_each_checkin_is_sent_exactly_once_even_by_two_dispatchers_at_once(app: Any, session: Session) -> None:
    _world(session)
    now = _utc(DAY_90, 16)
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def dispatch() -> None:
        try:
            with app.app_context():
                start.wait(10)
                results.append(dispatch_due_checkins(db.session, now=now))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and sorted(results) == [0, 3], (results, errors)
    assert dispatch_due_checkins(session, now=now) == 0
    assert dispatch_due_checkins(session, now=now + timedelta(hours=1)) == 0
    assert len(_mails(session)) == 3
    assert session.exec(select(func.count()).select_from(Checkin)).one() == 3


def test_both_sides_are_asked_in_their_language_about_each_lead_but_the_confidential_one(session: Session) -> None:
    world = _world(session)
    mails = _send_all(session)
    salma, claire, john = mails["salma@add.gov.ma"], mails["claire@add.gov.ma"], mails["john@nimbus.example"]
    assert (salma.language, claire.language, john.language) == ("ar", "fr", "en")
    assert salma.subject == "إلى أين وصلت الأمور منذ «Cloud roadmap»؟"
    assert claire.subject == "Où en est-on depuis « Cloud roadmap » ?"
    assert john.subject == "Where does it stand since “Cloud roadmap”?"
    assert 'dir="rtl"' in salma.html_body and "وكالة التنمية الرقمية" in salma.text_body
    assert "نحن في مرحلة التفاوض" in salma.html_body and "سلمى بناني" in salma.text_body
    assert "Agence de développement du digital" in claire.text_body and "Nous négocions" in claire.html_body
    assert "Digital Development Agency" in john.text_body and "We are negotiating" in john.html_body
    assert "90 days later" in john.text_body and "90 jours plus tard" in claire.text_body
    assert "نيمبوس كلاود" in salma.text_body and "1 septembre 2026" in claire.text_body
    assert "On September 1, 2026 you took part" in john.text_body
    for mail in mails.values():
        assert "Cloud skills academy" in mail.text_body and "Cloud skills academy" in mail.html_body
        assert "Sovereign data centre" not in mail.text_body + mail.html_body + mail.subject
        assert mail.text_body.count("/checkins/answer/") == mail.html_body.count("/checkins/answer/") == 5
        assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"<https?://[^>]+/checkins/stop/[^>]+>", mail.headers["List-Unsubscribe"])
    (checkin,) = [c for c in session.exec(select(Checkin)) if c.contact_id == world["john"].id]
    assert checkin.lead_ids == [world["lead"].id]


def test_contacts_without_address_erased_or_opted_out_and_meetings_without_leads_get_nothing(
    session: Session, client: Any
) -> None:
    world = _world(session)
    admin = make_user(session, Role.ADMIN)
    ma = world["ma"]
    no_address = create_contact(session, organisation_id=ma.id, name="Sans Adresse", language="fr")
    erased = create_contact(session, organisation_id=ma.id, name="Effacée", email="gone@add.gov.ma")
    session.commit()
    erase_contact(session, erased, actor=admin)
    session.commit()
    client.post(f"/checkins/stop/{stop_token(world['claire'].id)}")
    # Only leads nobody outside may hear of, or none at all: nothing to ask.
    only_secret = log_meeting(
        session,
        title="Closed-door",
        starts_local=MEETING_DAY,
        timezone="America/Chicago",
        contact_ids=[world["john"].id],
    )
    make_lead(
        session,
        title="Secret",
        ma_organisation_id=ma.id,
        us_organisation_id=world["us"].id,
        meeting_id=only_secret.id,
        confidential=True,
    )
    log_meeting(
        session, title="Courtesy", starts_local=MEETING_DAY, timezone="America/Chicago", contact_ids=[world["john"].id]
    )
    meeting = session.get(Meeting, world["meeting"].id)
    from crm.missions.operations import update_meeting

    update_meeting(
        session,
        meeting,
        contact_ids=[world["salma"].id, world["claire"].id, world["john"].id, no_address.id, erased.id],
    )
    session.commit()
    mails = _send_all(session)
    assert set(mails) == {"salma@add.gov.ma", "john@nimbus.example"}
    assert {c.meeting_id for c in session.exec(select(Checkin))} == {world["meeting"].id}


# --- the answer link ---------------------------------------------------------------------


def test_opening_the_link_shows_the_form_in_the_contacts_language_and_records_nothing(
    session: Session, client: Any
) -> None:
    world = _world(session)
    _send_all(session)
    before = _counts(session)
    for method in (client.get, client.head):
        response = method(_link(world, "claire") + "?outcome=negotiating")
        assert response.status_code == 200
    html = client.get(_link(world, "claire") + "?outcome=negotiating").get_data(as_text=True)
    assert _state(client.get(_link(world, "claire"))) == "form"
    assert 'lang="fr"' in html and "Où en est-on ?" in html and "Cloud skills academy" in html
    assert re.search(r'value="negotiating" checked', html) and html.count(" checked") == 1
    assert 'name="comment"' in html and "Envoyer ma réponse" in html
    assert _counts(session) == before


def test_the_answer_is_recorded_once_as_an_event_on_the_leads_timeline(session: Session, client: Any) -> None:
    world = _world(session)
    _send_all(session)
    link = _link(world, "salma")
    response = client.post(link, data={"outcome": "talking", "comment": "اجتماع ثانٍ في يناير"})
    assert response.status_code == 200 and _state(response) == "answered"
    assert 'dir="rtl"' in response.get_data(as_text=True)
    (event,) = session.exec(select(Event).where(Event.type == "lead.checkin_answered")).all()
    assert event.lead_id == world["lead"].id and event.actor_id is None
    assert event.payload == {
        "outcome": "talking",
        "comment": "اجتماع ثانٍ في يناير",
        "contact_id": world["salma"].id,
        "meeting_id": world["meeting"].id,
        "days": 90,
        "stage": "meeting_held",
        "contradicts": False,
    }
    before = _counts(session)
    again = client.post(link, data={"outcome": "not_relevant"})
    assert again.status_code == 409 and _state(again) == "used"
    assert "سبقت الإجابة" in again.get_data(as_text=True)
    assert _state(client.get(link)) == "used"
    assert _counts(session) == before
    assert session.exec(select(CheckinAnswer)).one().outcome == Outcome.TALKING

    login(client, world["owner"].email)
    page = client.get(f"/leads/{world['lead'].id}").get_data(as_text=True)
    assert "سلمى بناني" in page and "We are talking" in page and "اجتماع ثانٍ في يناير" in page


def test_a_bad_answer_is_refused_in_the_contacts_language_and_nothing_is_written(session: Session, client: Any) -> None:
    world = _world(session)
    _send_all(session)
    before = _counts(session)
    for data in ({"outcome": "maybe"}, {}, {"outcome": "talking", "comment": "x" * 2001}):
        response = client.post(_link(world, "claire"), data=data)
        assert response.status_code == 400 and _state(response) == "form"
    assert "Choisissez l’une des réponses." in client.post(_link(world, "claire")).get_data(as_text=True)
    assert _counts(session) == before


def test_expired_forged_and_foreign_links_answer_a_clear_page_never_a_500(session: Session, client: Any) -> None:
    world = _world(session)
    _send_all(session)
    link = _link(world, "john")
    before = _counts(session)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=61)):
        for method in (client.get, client.post):
            expired = method(link, data={"outcome": "talking"})
            assert expired.status_code == 410 and _state(expired) == "expired"
            assert "This link has expired" in expired.get_data(as_text=True)
    token = link.rsplit("/", 1)[1]
    forged = client.post(f"/checkins/answer/{token[:-2]}xx", data={"outcome": "talking"})
    assert forged.status_code == 404 and _state(forged) == "invalid"
    assert client.get("/checkins/answer/" + "a" * 900).status_code == 404
    # Signed, but for a question that was never asked (the confidential lead), or another days.
    assert _state(client.get(_link(world, "john", "secret"))) == "gone"
    assert client.post(_link(world, "john", days=180), data={"outcome": "talking"}).status_code == 404
    assert _counts(session) == before


def test_two_answers_at_the_same_moment_record_one(app: Any, session: Session) -> None:
    world = _world(session)
    _send_all(session)
    link = _link(world, "john")
    states: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def answer(outcome: str) -> None:
        try:
            client = app.test_client()
            start.wait(10)
            states.append(_state(client.post(link, data={"outcome": outcome})))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(o,)) for o in ("talking", "negotiating")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and sorted(states) == ["answered", "used"], (states, errors)
    session.expire_all()
    assert session.exec(select(func.count()).select_from(CheckinAnswer)).one() == 1
    assert len(session.exec(select(Event).where(Event.type == "lead.checkin_answered")).all()) == 1


# --- contradictions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "stage", "expected"),
    [
        (Outcome.AGREEMENT_SIGNED, Stage.NEGOTIATION, True),
        (Outcome.AGREEMENT_SIGNED, Stage.CLOSED_NO_GO, True),
        (Outcome.AGREEMENT_SIGNED, Stage.AGREEMENT_SIGNED, False),
        (Outcome.NO_FURTHER_CONTACT, Stage.PROPOSAL, True),
        (Outcome.NOT_RELEVANT, Stage.NEGOTIATION, True),
        (Outcome.NO_FURTHER_CONTACT, Stage.ON_HOLD, False),
        (Outcome.NO_FURTHER_CONTACT, Stage.CLOSED_NO_GO, False),
        (Outcome.NEGOTIATING, Stage.CLOSED_NO_GO, True),
        (Outcome.TALKING, Stage.CLOSED_NO_GO, True),
        (Outcome.TALKING, Stage.IDENTIFIED, False),
        (Outcome.NEGOTIATING, Stage.NEGOTIATION, False),
    ],
)
def test_what_contradicts_a_stage(outcome: Outcome, stage: Stage, expected: bool) -> None:
    assert contradicts(outcome, stage) is expected


def test_an_answer_that_contradicts_the_stage_rings_the_owners_bell(session: Session, client: Any) -> None:
    world = _world(session)
    lead = session.get(Lead, world["lead"].id)
    move_lead_to_stage(session, lead, Stage.NEGOTIATION, actor=world["owner"])
    session.commit()
    _send_all(session)
    client.post(_link(world, "claire"), data={"outcome": "talking"})  # news, not a contradiction
    client.post(_link(world, "john"), data={"outcome": "not_relevant", "comment": "Budget frozen"})
    relay_and_consume(session)
    bells = session.exec(select(Notification).where(Notification.kind == "lead.checkin_contradicts")).all()
    assert [(n.user_id, n.lead_id, n.params["outcome"]) for n in bells] == [
        (world["owner"].id, world["lead"].id, "not_relevant")
    ]
    relay_and_consume(session)  # redelivery changes nothing
    assert session.exec(select(func.count()).where(Notification.kind == "lead.checkin_contradicts")).one() == 1
    login(client, world["owner"].email)
    page = client.get("/notifications").get_data(as_text=True)
    assert "says “Not relevant”, but the lead is at" in page


# --- the mission page --------------------------------------------------------------------


def test_the_mission_page_shows_questions_answers_and_counts(session: Session, client: Any) -> None:
    world = _world(session, stage=Stage.PROPOSAL)
    _send_all(session)
    client.post(_link(world, "john"), data={"outcome": "no_further_contact", "comment": "Went with another vendor"})
    client.post(_link(world, "claire"), data={"outcome": "negotiating"})
    viewer = make_user(session, Role.VIEWER, language="en", timezone="America/Los_Angeles")
    session.commit()
    login(client, viewer.email)
    html = client.get(f"/missions/{world['mission'].id}").get_data(as_text=True)
    section = html[html.index('data-testid="mission-checkins"') :]
    assert 'data-testid="checkins-sent" data-value="3"' in section
    assert 'data-testid="checkins-answered" data-value="2"' in section
    assert 'data-testid="checkins-contradicting" data-value="1"' in section
    assert "John Carter" in section and "Went with another vendor" in section and "Claire Dubois" in section
    assert "Sovereign data centre" not in section
    assert "90 days after: 3 questions to 3 contacts" in section
    # The date in the viewer's zone (Los Angeles: still the same day in the afternoon UTC).
    assert section.count('data-testid="checkin-answer-row"') == 2


def test_the_mission_page_runs_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    world = _world(session)
    admin = make_user(session, Role.ADMIN)
    session.commit()
    _send_all(session)
    login(client, admin.email)
    path = f"/missions/{world['mission'].id}"
    client.get(path)
    session.expire_all()  # the requests share this test's session: nothing cached counts
    with count_queries(app) as few:
        client.get(path)
    # More meetings, contacts, leads and answers.
    for n in range(3):
        meeting = log_meeting(
            session,
            title=f"Meeting {n}",
            starts_local=MEETING_DAY,
            timezone="America/Chicago",
            mission_id=world["mission"].id,
            contact_ids=[world["salma"].id, world["claire"].id, world["john"].id],
        )
        for m in range(2):
            make_lead(
                session,
                title=f"Lead {n}.{m}",
                ma_organisation_id=world["ma"].id,
                us_organisation_id=world["us"].id,
                meeting_id=meeting.id,
                mission_id=world["mission"].id,
            )
    session.commit()
    _send_all(session)
    for checkin in session.exec(select(Checkin)).all():
        for lead_id in checkin.lead_ids:
            path_link = f"/checkins/answer/{answer_token(checkin.contact_id, lead_id, checkin.meeting_id, 90)}"
            client.post(path_link, data={"outcome": "talking"})
    assert session.exec(select(func.count()).select_from(CheckinAnswer)).one() == 3 + 3 * 2 * 3
    session.expire_all()
    with count_queries(app) as many:
        html = client.get(path).get_data(as_text=True)
    assert 'data-testid="checkins-answered" data-value="21"' in html
    assert len(many) == len(few), "\n".join(s[:90] for s in ["FEW", *few, "MANY", *many])


# --- stopping these mails ----------------------------------------------------------------


def test_a_contact_stops_the_checkins_with_a_page_or_one_click_and_gets_no_more(session: Session, client: Any) -> None:
    world = _world(session)
    admin = make_user(session, Role.ADMIN)
    session.commit()
    page = client.get(f"/checkins/stop/{stop_token(world['john'].id)}")
    assert page.status_code == 200 and "checkin-stop-confirm" in page.get_data(as_text=True)
    assert session.get(CheckinOptOut, world["john"].id) is None
    assert client.post(f"/checkins/stop/{stop_token(world['john'].id)}").status_code == 200
    # RFC 8058: the mail client's one-click POST, no cookie, no CSRF token.
    one_click = client.post(
        f"/checkins/stop/{stop_token(world['salma'].id)}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200 and 'dir="rtl"' in one_click.get_data(as_text=True)
    assert client.post(f"/checkins/stop/{stop_token(world['salma'].id)}").status_code == 200  # again: nothing new
    session.expire_all()
    stopped = session.exec(select(Event).where(Event.type == "contact.checkins_stopped").order_by(col(Event.id))).all()
    assert [(e.entity_id, e.payload["via"]) for e in stopped] == [
        (world["john"].id, "email"),
        (world["salma"].id, "one-click"),
    ]
    assert client.get("/checkins/stop/forged").status_code == 404
    assert set(_send_all(session)) == {"claire@add.gov.ma"}

    login(client, admin.email)
    contact_page = client.get(f"/contacts/{world['john'].id}").get_data(as_text=True)
    assert 'data-testid="contact-checkins-stopped"' in contact_page
    assert 'data-testid="contact-checkins-stopped"' not in client.get(f"/contacts/{world['claire'].id}").get_data(
        as_text=True
    )


# --- personal data -----------------------------------------------------------------------


def test_erasing_a_contact_removes_what_they_wrote_in_their_answers(session: Session, client: Any) -> None:
    world = _world(session)
    admin = make_user(session, Role.ADMIN)
    session.commit()
    _send_all(session)
    client.post(_link(world, "john"), data={"outcome": "talking", "comment": "Call me on my cell, John Carter"})
    erase_contact(session, session.get(Contact, world["john"].id), actor=admin)
    session.commit()
    session.expire_all()
    answer = session.exec(select(CheckinAnswer)).one()
    assert (answer.outcome, answer.comment) == (Outcome.TALKING, "")
    (event,) = session.exec(select(Event).where(Event.type == "lead.checkin_answered")).all()
    assert event.payload["comment"] == "" and event.payload["outcome"] == "talking"
    # The erased contact's old link no longer opens anything that names them.
    assert client.get(_link(world, "john")).status_code == 404


def test_a_worker_sends_the_checkins_to_a_real_smtp_server_and_the_link_answers(
    app: Any, session: Session, client: Any
) -> None:
    """The mail as it leaves: through the ledger to an SMTP sink; its link then answers."""
    from crm.config import parse_mail_url
    from crm.core.ledger import send_one
    from tests.spine_helpers import Sink

    _world(session)
    with Sink() as sink:
        app.config["MAIL"] = parse_mail_url(sink.url)
        for mail in _send_all(session).values():
            lease = timedelta(seconds=30)
            send_one(session, int(mail.id or 0), sender="Jisr <jisr@localhost>", lease=lease, base=0.1, max_attempts=3)
    assert len(sink.messages) == 3
    (john,) = [m for m in sink.messages if "john@nimbus.example" in str(m["To"])]
    text = john.get_body(("plain",)).get_content()
    url = re.search(r"https?://\S+/checkins/answer/\S+outcome=agreement_signed", text)
    assert url is not None
    path = url.group(0).split("/checkins/", 1)[1]
    assert client.post(f"/checkins/{path}", data={"outcome": "agreement_signed"}).status_code == 200
    assert client.post(f"/checkins/{path}", data={"outcome": "agreement_signed"}).status_code == 409
    answer = session.exec(select(CheckinAnswer)).one()
    assert answer.contradicts and answer.outcome == Outcome.AGREEMENT_SIGNED
    assert str(john["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
