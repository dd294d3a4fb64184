"""The lead pages: the filtered and sorted list, saved filters, create / edit, the lead page."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from sqlmodel import Session, func, select

from crm.accounts.models import Role
from crm.core.events import Event
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Activity, Lead, LeadWatcher, SavedFilter, Stage
from crm.leads.operations import add_watcher, move_lead_to_stage, save_filter, update_lead
from crm.missions.operations import create_mission
from crm.reference.operations import create_sector
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

HX = {"HX-Request": "true"}


def events(session: Session, type: str | None = None) -> int:
    query = select(func.count()).select_from(Event)
    if type:
        query = query.where(Event.type == type)
    return int(session.exec(query).one())


def titles_in(page: str, *titles: str) -> list[str]:
    """The given titles in the order they appear on the page."""
    return sorted(titles, key=lambda t: page.index(f">{t}<"))


# --- list: filters and sorting --------------------------------------------------------


def test_list_filters_by_stage_sector_type_organisations_owner_and_mission(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    other = make_user(session)
    add = make_organisation(session, "MA", name_fr="Agence de Développement du Digital", acronym="ADD")
    oracle = make_organisation(session, "US", name_en="Oracle")
    cloud = create_sector(session, code="cloud", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")
    mission = create_mission(session, name="Houston 2024", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21))
    session.flush()
    make_lead(
        session,
        owner=me,
        title="Cloud migration",
        ma_organisation_id=add.id,
        us_organisation_id=oracle.id,
        sector_id=cloud.id,
        mission_id=mission.id,
        partnership_type="pilot",
    )
    proposal = make_lead(session, owner=other, title="Skills academy", partnership_type="training_and_skills")
    move_lead_to_stage(session, proposal, Stage.PROPOSAL)
    session.commit()
    login(client, "officer@jisr.example")

    def shown(query: str) -> set[str]:
        page = client.get(f"/leads?{query}").get_data(as_text=True)
        return {t for t in ("Cloud migration", "Skills academy") if t in page}

    assert shown("") == {"Cloud migration", "Skills academy"}
    assert shown("stage=proposal") == {"Skills academy"}
    assert shown(f"sector={cloud.id}") == {"Cloud migration"}
    assert shown("type=training_and_skills") == {"Skills academy"}
    assert shown(f"ma={add.id}") == {"Cloud migration"}
    assert shown(f"us={oracle.id}") == {"Cloud migration"}
    assert shown(f"owner={other.id}") == {"Skills academy"}
    assert shown("owner=me") == {"Cloud migration"}
    assert shown(f"mission={mission.id}") == {"Cloud migration"}
    assert shown("stage=identified&type=training_and_skills") == set()
    # Malformed values are ignored rather than failing.
    assert client.get("/leads?sector=abc&stage=nope&owner=-1&sort=password").status_code == 200


def test_overdue_and_due_this_week_follow_the_viewers_time_zone(session: Session, client: Any) -> None:
    """Sunday 22:00 UTC: a follow-up due Monday 03:00 UTC is next week in Casablanca (UTC+0)
    but still this week in Los Angeles (Sunday 19:00)."""
    owner = make_user(session, email="casa@jisr.example", timezone="Africa/Casablanca")
    make_user(session, email="la@jisr.example", timezone="America/Los_Angeles")
    boundary = make_lead(session, owner=owner, title="Boundary lead")
    late = make_lead(session, owner=owner, title="Late lead")
    quiet = make_lead(session, owner=owner, title="Quiet lead")
    make_followup(session, boundary, datetime(2026, 11, 30, 3, 0), "UTC")
    make_followup(session, late, datetime(2026, 11, 27, 9, 0), "UTC")
    make_followup(session, quiet, datetime(2026, 12, 20, 9, 0), "UTC")
    session.commit()
    with time_machine.travel(datetime(2026, 11, 29, 22, 0, tzinfo=UTC), tick=False):
        login(client, "casa@jisr.example")
        page = client.get("/leads?due=week").get_data(as_text=True)
        assert "Late lead" in page and "Boundary lead" not in page and "Quiet lead" not in page
        overdue = client.get("/leads?overdue=1").get_data(as_text=True)
        assert "Late lead" in overdue and "Boundary lead" not in overdue
        client.post("/logout")
        login(client, "la@jisr.example")
        page = client.get("/leads?due=week").get_data(as_text=True)
        assert "Boundary lead" in page and "Late lead" in page and "Quiet lead" not in page


def test_list_sorts_by_allow_listed_columns(session: Session, client: Any) -> None:
    zoe = make_user(session, email="officer@jisr.example", name="Zoe")
    adam = make_user(session, name="Adam")
    a = make_lead(session, owner=zoe, title="Beta", estimated_value="500", currency="MAD")
    b = make_lead(session, owner=adam, title="alpha", estimated_value="90000", currency="USD")
    c = make_lead(session, owner=zoe, title="Gamma")
    move_lead_to_stage(session, a, Stage.NEGOTIATION)
    move_lead_to_stage(session, b, Stage.CONTACTED)
    make_followup(session, c, datetime(2030, 1, 1, 9))
    make_followup(session, a, datetime(2030, 6, 1, 9))
    session.commit()
    login(client, "officer@jisr.example")

    def order(query: str) -> list[str]:
        return titles_in(client.get(f"/leads?{query}").get_data(as_text=True), "Beta", "alpha", "Gamma")

    assert order("sort=title&order=asc") == ["alpha", "Beta", "Gamma"]
    assert order("sort=title&order=desc") == ["Gamma", "Beta", "alpha"]
    assert order("sort=value&order=desc") == ["alpha", "Beta", "Gamma"]  # no value last
    assert order("sort=stage&order=asc") == ["Gamma", "alpha", "Beta"]
    assert order("sort=next_due&order=asc") == ["Gamma", "Beta", "alpha"]
    assert order("sort=owner&order=asc")[0] == "alpha"
    page = client.get("/leads?sort=title&order=asc").get_data(as_text=True)
    assert 'aria-sort="ascending"' in page
    assert "sort=title&amp;order=desc" in page  # the header link toggles the order


def test_list_needs_a_constant_number_of_queries_with_filters_and_sorting(
    app: Any, session: Session, client: Any
) -> None:
    officer = make_user(session, email="officer@jisr.example")
    lead = make_lead(session, owner=officer)
    make_followup(session, lead, datetime(2030, 1, 1, 9))
    session.commit()
    login(client, "officer@jisr.example")
    url = "/leads?sort=next_due&order=asc&due=week&overdue=1&stage=identified"
    with count_queries(app) as few:
        assert client.get(url).status_code == 200
        assert client.get("/leads?sort=owner").status_code == 200
    for n in range(40):
        other = make_lead(session, owner=make_user(session), confidential=n % 3 == 0)
        make_followup(session, other, datetime(2030, 1, 1, 9))
    session.commit()
    with count_queries(app) as many:
        assert client.get(url).status_code == 200
        assert client.get("/leads?sort=owner").status_code == 200
    assert len(many) == len(few)


def test_list_is_paginated_and_keeps_the_filters(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    for n in range(55):
        make_lead(session, owner=officer, title=f"Numbered {n:02d}")
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/leads?sort=title&order=asc").get_data(as_text=True)
    assert "Numbered 00" in page and "Numbered 50" not in page
    assert "55 leads" in page or "55 pistes" in page
    following = html.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    assert "sort=title" in following and "order=asc" in following and "cursor=" in following
    assert 'data-testid="previous-page"' not in page
    second = client.get(following).get_data(as_text=True)
    assert "Numbered 54" in second and "Numbered 00" not in second and 'rel="next"' not in second
    back = html.unescape(re.search(r'rel="prev" href="([^"]+)"', second).group(1))
    again = client.get(back).get_data(as_text=True)
    assert "Numbered 00" in again and "Numbered 49" in again and "Numbered 50" not in again


def test_a_changed_page_link_shows_the_first_page_and_says_so(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="en")
    for n in range(55):
        make_lead(session, owner=officer, title=f"Numbered {n:02d}")
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/leads?sort=title&order=asc").get_data(as_text=True)
    following = html.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    foreign = following.replace("order=asc", "order=desc")  # made for the other direction
    for broken in (following[:-3] + "abc", foreign, "/leads?sort=title&order=asc&cursor=%D9%85"):
        answer = client.get(broken)
        assert answer.status_code == 200
        text = answer.get_data(as_text=True)
        assert "That page of the list could not be found" in text
        assert ("Numbered 00" in text) == ("order=desc" not in broken)


def test_list_answers_htmx_with_the_results_fragment(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example")
    make_lead(session, title="Fragment lead")
    session.commit()
    login(client, "officer@jisr.example")
    fragment = client.get("/leads?stage=identified", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="lead-results"')
    assert "Fragment lead" in fragment and "<html" not in fragment


def test_confidential_leads_stay_out_of_filtered_lists(session: Session, client: Any) -> None:
    owner = make_user(session)
    make_user(session, email="other@jisr.example")
    make_lead(session, owner=owner, title="Secret deal", confidential=True)
    session.commit()
    login(client, "other@jisr.example")
    for query in ("", f"owner={owner.id}", "stage=identified", "sort=value"):
        assert "Secret deal" not in client.get(f"/leads?{query}").get_data(as_text=True)


# --- saved filters ---------------------------------------------------------------------


def test_saved_filter_is_created_applied_and_deleted_with_events(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    make_lead(session, owner=me, title="Mine")
    make_lead(session, title="Not mine")
    session.commit()
    login(client, "officer@jisr.example")
    response = client.post("/leads/filters", data={"name": "My leads", "query": f"owner={me.id}&bogus=1&page=3"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/leads?owner={me.id}")
    saved = session.exec(select(SavedFilter)).one()
    assert (saved.user_id, saved.name, saved.query) == (me.id, "My leads", f"owner={me.id}")
    assert events(session, "saved_filter.created") == 1
    page = client.get("/leads").get_data(as_text=True)
    assert f'data-saved-filter-id="{saved.id}"' in page and f"?owner={me.id}" in page
    assert client.post(f"/leads/filters/{saved.id}/delete").status_code == 302
    session.expire_all()
    assert session.exec(select(SavedFilter)).first() is None
    assert events(session, "saved_filter.deleted") == 1


def test_saved_filters_are_private(session: Session, client: Any) -> None:
    owner = make_user(session)
    make_user(session, email="other@jisr.example")
    saved = save_filter(session, owner, name="Owner's", query="stage=proposal")
    session.commit()
    login(client, "other@jisr.example")
    assert "Owner&#39;s" not in client.get("/leads").get_data(as_text=True)
    assert client.post(f"/leads/filters/{saved.id}/delete").status_code == 404
    assert session.get(SavedFilter, saved.id) is not None


def test_saved_filter_with_a_taken_name_is_refused_in_french(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="fr")
    save_filter(session, me, name="Cloud", query="sector=1")
    session.commit()
    login(client, "officer@jisr.example")
    response = client.post("/leads/filters", data={"name": "Cloud", "query": "stage=proposal"})
    assert response.status_code == 400
    assert "Vous avez déjà un filtre portant ce nom." in response.get_data(as_text=True)
    assert events(session, "saved_filter.created") == 1
    # The query of a filter the list does not know (a stale link) leaves the list unfiltered.
    response = client.post("/leads/filters", data={"name": "Cloud", "query": "stage=nowhere"})
    assert response.status_code == 400
    assert "Vous avez déjà un filtre portant ce nom." in response.get_data(as_text=True)
    assert events(session, "saved_filter.created") == 1


# --- create and edit -------------------------------------------------------------------


def _lead_form(ma: int, us: int, owner: int, **overrides: Any) -> dict[str, Any]:
    data = {
        "title": "Cybersecurity workshop",
        "ma_organisation_id": str(ma),
        "us_organisation_id": str(us),
        "partnership_type": "capacity_building",
        "sector_id": "",
        "stage": "contacted",
        "owner_id": str(owner),
        "priority": "high",
        "estimated_value": "120 000,50",
        "currency": "USD",
        "mission_id": "",
        "meeting_id": "",
        "description": "DGSSI x Palo Alto Networks",
    }
    data.update(overrides)
    return data


def test_officer_creates_a_lead_with_watchers(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    watcher = make_user(session, name="Watcher")
    dgssi = make_organisation(session, "MA", acronym="DGSSI", name_fr="DGSSI")
    pan = make_organisation(session, "US", name_en="Palo Alto Networks")
    session.commit()
    login(client, "officer@jisr.example")
    form = client.get("/leads/new").get_data(as_text=True)
    assert "DGSSI" in form and "Palo Alto Networks" in form
    # The Moroccan select offers only Moroccan organisations.
    ma_select = re.search(r'<select[^>]*id="ma_organisation_id".*?</select>', form, re.S).group(0)
    assert "Palo Alto Networks" not in ma_select
    data = _lead_form(dgssi.id, pan.id, me.id, watcher_ids=[str(watcher.id)], confidential="y")
    response = client.post("/leads/new", data=data)
    assert response.status_code == 302
    lead = session.exec(select(Lead).where(Lead.title == "Cybersecurity workshop")).one()
    assert response.headers["Location"].endswith(f"/leads/{lead.id}")
    assert lead.stage == Stage.CONTACTED and lead.confidential
    assert str(lead.estimated_value) == "120000.50"
    assert session.get(LeadWatcher, (lead.id, watcher.id)) is not None
    assert events(session, "lead.created") == 1 and events(session, "lead.watcher_added") == 1


def test_bad_lead_input_is_refused_in_french_keeping_what_was_typed(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="fr")
    ma = make_organisation(session, "MA")
    us = make_organisation(session, "US")
    session.commit()
    before = events(session)
    login(client, "officer@jisr.example")
    response = client.post("/leads/new", data=_lead_form(ma.id, us.id, me.id, title="", estimated_value="beaucoup"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ce champ est obligatoire." in page
    assert 'value="beaucoup"' in page  # what was typed stays
    # The operation's own check (the amount) comes back next to its field.
    response = client.post("/leads/new", data=_lead_form(ma.id, us.id, me.id, estimated_value="beaucoup"))
    assert response.status_code == 400
    assert "Saisissez un montant, par exemple 250000." in response.get_data(as_text=True)
    assert events(session) == before + 1  # only the login
    assert session.exec(select(func.count()).select_from(Lead)).one() == 0


def test_bad_lead_input_is_refused_in_arabic(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="ar")
    ma = make_organisation(session, "MA")
    us = make_organisation(session, "US")
    session.commit()
    login(client, "officer@jisr.example")
    # A US organisation on the Moroccan side: the form's choices refuse it.
    response = client.post("/leads/new", data=_lead_form(us.id, us.id, me.id))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'dir="rtl"' in page and "is-invalid" in page
    # An unparseable id never becomes a 500.
    response = client.post("/leads/new", data=_lead_form(ma.id, us.id, me.id, owner_id="x", title=""))
    assert response.status_code == 400
    assert "هذا الحقل إلزامي." in response.get_data(as_text=True)
    assert session.exec(select(func.count()).select_from(Lead)).one() == 0


def test_officer_edits_a_lead_and_its_watchers(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    old_watcher = make_user(session)
    new_watcher = make_user(session)
    lead = make_lead(session, owner=me, title="Before")
    add_watcher(session, lead, old_watcher.id)
    session.commit()
    login(client, "officer@jisr.example")
    form = client.get(f"/leads/{lead.id}/edit").get_data(as_text=True)
    assert 'value="Before"' in form and 'name="stage"' not in form
    data = _lead_form(
        lead.ma_organisation_id, lead.us_organisation_id, me.id, title="After", watcher_ids=[str(new_watcher.id)]
    )
    del data["stage"]
    assert client.post(f"/leads/{lead.id}/edit", data=data).status_code == 302
    session.expire_all()
    lead = session.get(Lead, lead.id)
    assert lead.title == "After" and lead.stage == Stage.IDENTIFIED
    watchers = set(session.exec(select(LeadWatcher.user_id).where(LeadWatcher.lead_id == lead.id)).all())
    assert watchers == {new_watcher.id}
    assert events(session, "lead.updated") == 1
    assert events(session, "lead.watcher_removed") == 1


def test_edit_with_a_value_but_no_currency_is_a_400_and_changes_nothing(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="fr")
    lead = make_lead(session, owner=me, title="Unchanged")
    session.commit()
    login(client, "officer@jisr.example")
    data = _lead_form(lead.ma_organisation_id, lead.us_organisation_id, me.id, title="Changed", currency="")
    response = client.post(f"/leads/{lead.id}/edit", data=data)
    assert response.status_code == 400
    assert "Choisissez la devise du montant." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Lead, lead.id).title == "Unchanged"
    assert events(session, "lead.updated") == 0


def test_viewers_cannot_write(session: Session, client: Any) -> None:
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    lead = make_lead(session)
    followup = make_followup(session, lead, datetime(2030, 1, 1, 9))
    session.commit()
    login(client, "viewer@jisr.example")
    assert client.get(f"/leads/{lead.id}").status_code == 200
    assert client.get("/leads/new").status_code == 403
    assert client.get(f"/leads/{lead.id}/edit").status_code == 403
    for path in (
        "/leads/new",
        f"/leads/{lead.id}/edit",
        f"/leads/{lead.id}/activities",
        f"/leads/{lead.id}/followups",
        f"/leads/{lead.id}/stage",
        f"/leads/{lead.id}/watchers",
        f"/leads/{lead.id}/followups/{followup.id}/done",
    ):
        assert client.post(path, data={"stage-stage": "proposal"}).status_code == 403, path
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'id="lead-actions"' not in page


def test_confidential_lead_is_a_404_for_those_who_may_not_see_it(session: Session, client: Any) -> None:
    owner = make_user(session)
    watcher = make_user(session, email="watcher@jisr.example")
    make_user(session, email="other@jisr.example")
    lead = make_lead(session, owner=owner, title="Secret", confidential=True)
    add_watcher(session, lead, watcher.id)
    session.commit()
    login(client, "other@jisr.example")
    for path in (f"/leads/{lead.id}", f"/leads/{lead.id}/edit"):
        assert client.get(path).status_code == 404
    assert client.post(f"/leads/{lead.id}/stage", data={"stage-stage": "proposal"}).status_code == 404
    assert client.get("/leads/999999").status_code == 404
    client.post("/logout")
    login(client, "watcher@jisr.example")
    assert client.get(f"/leads/{lead.id}").status_code == 200


# --- the lead page ----------------------------------------------------------------------


def test_lead_page_shows_organisations_value_watchers_and_follow_ups(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="fr")
    add = make_organisation(session, "MA", acronym="ADD", name_fr="Agence de Développement du Digital")
    oracle = make_organisation(session, "US", name_en="Oracle")
    lead = make_lead(
        session,
        owner=me,
        ma_organisation_id=add.id,
        us_organisation_id=oracle.id,
        estimated_value="250000",
        currency="MAD",
    )
    add_watcher(session, lead, make_user(session, name="Salma").id)
    make_followup(session, lead, datetime(2030, 3, 15, 9), title="Send the cloud proposal")
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")
    assert "Agence de Développement du Digital" in page and "Oracle" in page
    assert "250 000 MAD" in page  # a whole amount, without cents
    assert "Salma" in page and "Send the cloud proposal" in page


@pytest.mark.parametrize(
    ("zone", "language", "sentence", "times"),
    [
        ("America/Chicago", "en", "Nadia moved the lead from Identified to Proposal.", ("2:30 AM", "8:05 AM")),
        ("America/Los_Angeles", "fr", "Nadia a déplacé la piste de Identifiée à Proposition.", ("00:30", "06:05")),
        ("Africa/Casablanca", "ar", "نقل Nadia الفرصة من محدَّدة إلى مقترح.", ("08:30", "14:05")),  # UTC+0 in Ramadan
    ],
)
def test_timeline_tells_who_did_what_in_the_viewers_time_zone(
    session: Session, client: Any, zone: str, language: str, sentence: str, times: tuple[str, str]
) -> None:
    owner = make_user(session, name="Nadia")
    make_user(session, email="viewer@jisr.example", timezone=zone, language=language)
    with time_machine.travel(datetime(2026, 2, 15, 8, 30, tzinfo=UTC), tick=False):
        lead = make_lead(session, owner=owner)
        session.commit()
    with time_machine.travel(datetime(2026, 2, 16, 14, 5, tzinfo=UTC), tick=False):
        move_lead_to_stage(session, lead, Stage.PROPOSAL, actor=owner)
        update_lead(session, lead, title="Renamed lead", actor=owner)
        session.commit()
    login(client, "viewer@jisr.example")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True).replace("\u202f", " ").replace("\u200f", "")
    # Names and titles typed by users are isolated (FSI … PDI) inside translated sentences.
    assert "\u2068Nadia\u2069" in page
    page = page.replace("\u2068", "").replace("\u2069", "")
    assert sentence in page
    assert "Renamed lead" in page
    for time in times:
        assert time in page


def test_a_change_of_several_fields_lists_them_with_the_arabic_comma(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="ar")
    lead = make_lead(session, owner=me)
    update_lead(session, lead, title="Renamed lead", priority="high", actor=me)
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    entry = page[page.index('data-event-type="lead.updated"') :]
    sentence = re.search(r"<div>([^<]+)</div>", entry).group(1)
    assert "، " in sentence and ", " not in sentence, sentence


def test_a_long_timeline_pages_back_without_repeating_or_skipping_events(session: Session, client: Any) -> None:
    from crm.leads.operations import log_activity

    me = make_user(session, email="officer@jisr.example")
    make_user(session, email="other@jisr.example")
    lead = make_lead(session, owner=me, confidential=True)
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):  # 230 events of one instant
        for n in range(229):
            log_activity(session, lead, kind="note", body=f"Note {n}", actor=me)
    session.commit()
    every = session.exec(select(Event.id).where(Event.lead_id == lead.id)).all()
    assert len(every) == 230
    login(client, "officer@jisr.example")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    first = [int(i) for i in re.findall(r'data-event-id="(\d+)"', page)]
    assert len(first) == 200
    older = re.search(r'data-testid="timeline-older">\s*<a [^>]*href="([^"]+)"', page)
    assert older
    href = older.group(1).replace("&amp;", "&")
    fragment = client.get(href, headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and 'data-testid="timeline-older"' not in fragment
    rest = [int(i) for i in re.findall(r'data-event-id="(\d+)"', fragment)]
    assert sorted(first + rest) == sorted(every) and len(set(first + rest)) == 230
    assert "Note 0" in fragment  # the oldest
    # Without JavaScript the link opens a page of its own, in the layout.
    full = client.get(href).get_data(as_text=True)
    assert "<html" in full and len(re.findall(r'data-event-id="', full)) == 30
    assert client.get(f"/leads/{lead.id}/timeline?before=abc").status_code == 400
    client.post("/logout")
    login(client, "other@jisr.example")
    assert client.get(href).status_code == 404  # a confidential lead's events stay hidden


def test_quick_actions_answer_htmx_with_a_fragment_and_forms_with_a_redirect(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    lead = make_lead(session, owner=me)
    session.commit()
    login(client, "officer@jisr.example")
    data = {"activity-kind": "call", "activity-body": "Called the CISO"}
    response = client.post(f"/leads/{lead.id}/activities", data=data, headers=HX)
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="lead-live"') and "<html" not in fragment
    assert "Called the CISO" in fragment and 'data-event-type="activity.logged"' in fragment
    response = client.post(f"/leads/{lead.id}/activities", data={"activity-kind": "note", "activity-body": "Note"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead.id}")
    assert session.exec(select(func.count()).select_from(Activity)).one() == 2


def test_invalid_quick_action_is_a_400_fragment_with_the_error(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="fr")
    lead = make_lead(session, owner=me)
    session.commit()
    login(client, "officer@jisr.example")
    data = {"followup-title": "Call back", "followup-due_local": "2030-01-01T09:00", "followup-timezone": "Mars/Base"}
    response = client.post(f"/leads/{lead.id}/followups", data=data, headers=HX)
    fragment = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Fuseau horaire inconnu : Mars/Base" in fragment and 'value="Call back"' in fragment
    response = client.post(f"/leads/{lead.id}/activities", data={"activity-kind": "call", "activity-body": ""})
    assert response.status_code == 400 and "Ce champ est obligatoire." in response.get_data(as_text=True)
    assert session.exec(select(func.count()).select_from(FollowUp)).one() == 0


def test_follow_up_is_scheduled_at_a_wall_time_in_its_zone(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", timezone="America/Los_Angeles")
    lead = make_lead(session, owner=me)
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert re.search(r'name="followup-timezone"[^>]*value="America/Los_Angeles"', page)  # the user's zone
    data = {"followup-title": "Demo", "followup-due_local": "2026-12-01T09:00", "followup-timezone": "America/Chicago"}
    assert client.post(f"/leads/{lead.id}/followups", data=data, headers=HX).status_code == 200
    followup = session.exec(select(FollowUp)).one()
    assert followup.due_at == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert followup.timezone == "America/Chicago" and followup.owner_id == me.id


def test_follow_up_is_rescheduled_and_marked_done_from_the_lead_page(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    lead = make_lead(session, owner=me)
    followup = make_followup(session, lead, datetime(2030, 1, 1, 9))
    session.commit()
    login(client, "officer@jisr.example")
    key = f"r{followup.id}"
    data = {f"{key}-due_local": "2030-02-01T10:30", f"{key}-timezone": "Africa/Casablanca"}
    response = client.post(f"/leads/{lead.id}/followups/{followup.id}/reschedule", data=data, headers=HX)
    assert response.status_code == 200
    session.expire_all()
    assert session.get(FollowUp, followup.id).due_version == 2
    response = client.post(f"/leads/{lead.id}/followups/{followup.id}/done")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(FollowUp, followup.id).status == FollowUpStatus.DONE
    assert {"followup.rescheduled", "followup.done"} <= set(session.exec(select(Event.type)).all())
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True).replace("\u2068", "").replace("\u2069", "")
    assert "marked “Send the proposal” as done" in page or "a marqué « Send the proposal » comme fait" in page


def test_rescheduling_a_follow_up_closed_meanwhile_says_so(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example", language="fr")
    lead = make_lead(session, owner=me)
    followup = make_followup(session, lead, datetime(2030, 1, 1, 9))
    session.commit()
    login(client, "officer@jisr.example")
    client.post(f"/leads/{lead.id}/followups/{followup.id}/done")  # in another tab
    key = f"r{followup.id}"
    data = {f"{key}-due_local": "2030-02-01T10:30", f"{key}-timezone": "Africa/Casablanca"}
    for headers in (HX, {}):
        response = client.post(f"/leads/{lead.id}/followups/{followup.id}/reschedule", data=data, headers=headers)
        assert response.status_code == 400
        notice = re.search(r'data-testid="followup-closed"><div>([^<]+)</div>', response.get_data(as_text=True))
        assert notice and notice[1] == "Cette relance est déjà clôturée."
    session.expire_all()
    assert (session.get(FollowUp, followup.id).status, session.get(FollowUp, followup.id).due_version) == (
        FollowUpStatus.DONE,
        1,
    )


def test_follow_up_is_reassigned_and_cancelled_from_the_lead_page(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    colleague = make_user(session, name="Karim")
    lead = make_lead(session, owner=me)
    followup = make_followup(session, lead, datetime(2030, 1, 1, 9))
    session.commit()
    login(client, "officer@jisr.example")
    key = f"r{followup.id}"
    data = {
        f"{key}-due_local": "2030-01-01T09:00",
        f"{key}-timezone": "Africa/Casablanca",
        f"{key}-owner_id": str(colleague.id),
    }
    response = client.post(f"/leads/{lead.id}/followups/{followup.id}/reschedule", data=data, headers=HX)
    assert response.status_code == 200
    session.expire_all()
    moved = session.get(FollowUp, followup.id)
    assert (moved.owner_id, moved.due_version) == (colleague.id, 1)  # same date: only the owner changed
    response = client.post(f"/leads/{lead.id}/followups/{followup.id}/cancel", headers=HX)
    assert response.status_code == 200 and f'data-followup-id="{followup.id}"' not in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(FollowUp, followup.id).status == FollowUpStatus.CANCELLED
    assert {"followup.reassigned", "followup.cancelled"} <= set(session.exec(select(Event.type)).all())


def test_stage_and_watchers_change_from_the_lead_page(session: Session, client: Any) -> None:
    me = make_user(session, email="officer@jisr.example")
    colleague = make_user(session, name="Karim")
    lead = make_lead(session, owner=me)
    session.commit()
    login(client, "officer@jisr.example")
    response = client.post(f"/leads/{lead.id}/stage", data={"stage-stage": "negotiation"}, headers=HX)
    assert response.status_code == 200 and 'data-stage="negotiation"' in response.get_data(as_text=True)
    response = client.post(f"/leads/{lead.id}/watchers", data={"watcher-user_id": str(colleague.id)}, headers=HX)
    assert f'data-watcher-id="{colleague.id}"' in response.get_data(as_text=True)
    response = client.post(f"/leads/{lead.id}/watchers/{colleague.id}/remove", headers=HX)
    assert f'data-watcher-id="{colleague.id}"' not in response.get_data(as_text=True)
    types = session.exec(select(Event.type).where(Event.lead_id == lead.id)).all()
    assert {"lead.stage_changed", "lead.watcher_added", "lead.watcher_removed"} <= set(types)
    assert client.post(f"/leads/{lead.id}/stage", data={"stage-stage": "bogus"}).status_code == 400
