"""The administrators' activity log: every event, filtered by who, what, which record and
which days, a page at a time, in the reader's language and time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.audit.labels import ENTITY_LABELS, EVENT_LABELS
from crm.core.events import Event
from crm.leads.operations import move_lead_to_stage
from tests.factories import make_followup, make_lead, make_user
from tests.test_web import count_queries
from tests.test_webhooks_signing import recorded_event_types
from tests.web_helpers import login


def _admin(session: Session, client: Any, **kwargs: Any) -> User:
    admin = make_user(session, role=Role.ADMIN, email="admin@jisr.example", **kwargs)
    session.commit()
    login(client, "admin@jisr.example")
    return admin


def _rows(response: Any) -> list[tuple[str, int]]:
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return [(t, int(i)) for t, i in re.findall(r'data-event-type="([a-z_.]+)" data-event-id="(\d+)"', page)]


def _walk(client: Any, url: str) -> tuple[list[int], int]:
    """The event ids of every page, following the "Older events" link; and the page count."""
    seen: list[int] = []
    pages = 0
    while url:
        response = client.get(url)
        seen.extend(i for _, i in _rows(response))
        older = re.search(r'href="([^"]+)" data-testid="activity-older"', response.get_data(as_text=True))
        url = older.group(1).replace("&amp;", "&") if older else ""
        pages += 1
    return seen, pages


def _set_instant(session: Session, event_ids: list[int], instant: datetime) -> None:
    session.execute(sa.update(Event).where(col(Event.id).in_(event_ids)).values(occurred_at=instant))
    session.commit()


def test_every_recorded_event_type_and_record_kind_has_a_name() -> None:
    assert recorded_event_types() - set(EVENT_LABELS) == set()
    assert {"lead", "followup", "user_account", "webhook_endpoint", "data_import"} <= set(ENTITY_LABELS)


def test_only_administrators_read_the_log(session: Session, client: Any) -> None:
    assert client.get("/admin/activity").status_code == 302
    for role in (Role.OFFICER, Role.VIEWER):
        make_user(session, role=role, email=f"{role.value}@jisr.example")
        session.commit()
        login(client, f"{role.value}@jisr.example")
        assert client.get("/admin/activity").status_code == 403
        client.post("/logout")


def test_the_log_tells_who_did_what_to_which_record_in_the_readers_language(session: Session, client: Any) -> None:
    officer = make_user(session, email="leila@jisr.example", name="Leïla")
    lead = make_lead(session, owner=officer, title="<b>Cloud</b> for ADD")
    session.commit()
    _admin(session, client, language="fr")
    page = client.get("/admin/activity")
    rows = _rows(page)
    assert rows[0][0] == "user.logged_in"  # newest first
    assert {"user.created", "lead.created"} <= {t for t, _ in rows}
    text = page.get_data(as_text=True)
    assert "Journal d’activité" in text or "Journal d'activité" in text
    assert "Connexion" in text  # the login's label, in French
    assert "&lt;b&gt;Cloud&lt;/b&gt; for ADD" in text and "<b>Cloud</b>" not in text
    assert f'href="/leads/{lead.id}"' in text
    # A lead's event reads as on its timeline (names typed by users in Unicode isolates).
    assert "Leïla a créé la piste" in text.replace("\u2068", "").replace("\u2069", "")


def test_filters_by_person_kind_record_and_days_on_the_readers_clock(session: Session, client: Any) -> None:
    officer = make_user(session, email="leila@jisr.example")
    other = make_user(session, email="omar@jisr.example")
    lead = make_lead(session, owner=officer)
    followup = make_followup(session, lead, datetime(2030, 3, 1, 10, 0), actor=officer)
    move_lead_to_stage(session, lead, "contacted", actor=officer)
    make_lead(session, owner=other)
    session.commit()
    admin = _admin(session, client, timezone="America/Los_Angeles")

    by_officer = _rows(client.get(f"/admin/activity?actor={officer.id}"))
    assert by_officer and all(session.get(Event, i).actor_id == officer.id for _, i in by_officer)
    assert {t for t, _ in _rows(client.get("/admin/activity?type=lead.stage_changed"))} == {"lead.stage_changed"}
    assert {t for t, _ in _rows(client.get("/admin/activity?type=followup."))} == {"followup.scheduled"}
    # A lead's record holds its follow-ups' events too; another lead's are not there.
    of_lead = _rows(client.get(f"/admin/activity?entity=lead:{lead.id}"))
    assert {t for t, _ in of_lead} == {"lead.created", "followup.scheduled", "lead.stage_changed"}
    assert _rows(client.get(f"/admin/activity?entity=followup:{followup.id}")) == [
        (t, i) for t, i in of_lead if t == "followup.scheduled"
    ]
    assert {t for t, _ in _rows(client.get(f"/admin/activity?entity=user_account:{admin.id}"))} == {
        "user.created",
        "user.logged_in",
    }
    # 03:00 UTC on 2 December is still 1 December in Los Angeles.
    stage_change = [i for t, i in of_lead if t == "lead.stage_changed"]
    _set_instant(session, stage_change, datetime(2026, 12, 2, 3, 0, tzinfo=UTC))
    assert _rows(client.get("/admin/activity?since=2026-12-01&until=2026-12-01")) == [
        ("lead.stage_changed", stage_change[0])
    ]
    assert _rows(client.get("/admin/activity?since=2026-12-02&until=2026-12-02")) == []


def test_malformed_filters_are_ignored_rather_than_refused(session: Session, client: Any) -> None:
    _admin(session, client)
    everything = _rows(client.get("/admin/activity"))
    for query in (
        "actor=abc",
        "actor=-1",
        "type=lead.exploded",
        "type=%00",
        "entity=lead:x",
        "entity=nothing:3",
        "since=2026-02-30",
        "until=" + "9" * 500,
        "before=notanid",
        "before=" + "9" * 40,
    ):
        assert _rows(client.get(f"/admin/activity?{query}")) == everything, query


def test_pages_go_back_in_time_without_repeating_or_skipping_events_of_one_instant(
    session: Session, client: Any
) -> None:
    officer = make_user(session)
    leads = [make_lead(session, owner=officer) for _ in range(70)]
    session.commit()
    created = [int(i) for i in session.exec(select(Event.id).where(Event.type == "lead.created")).all()]
    assert len(created) == len(leads)
    _set_instant(session, created, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))  # one instant for all
    _admin(session, client)
    seen, pages = _walk(client, "/admin/activity?type=lead.created")
    assert pages == 1  # 70 fit on one page of 100
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))

    many = [make_lead(session, owner=officer) for _ in range(90)]
    session.commit()
    assert len(many) == 90
    seen, pages = _walk(client, "/admin/activity?type=lead.created")
    assert pages == 2
    assert len(seen) == 160 and len(set(seen)) == 160


def test_a_page_of_the_log_takes_the_same_queries_for_few_or_many_events(
    app: Any, session: Session, client: Any
) -> None:
    """One query per kind of record named on the page, however many events name them."""
    officer = make_user(session)

    def lead_with_history() -> None:
        lead = make_lead(session, owner=make_user(session))
        make_followup(session, lead, datetime(2030, 3, 1, 10, 0), actor=officer)
        move_lead_to_stage(session, lead, "contacted", actor=officer)

    lead_with_history()
    session.commit()
    _admin(session, client)
    with count_queries(app) as few:
        assert len(_rows(client.get("/admin/activity"))) < 10
    for _ in range(20):
        lead_with_history()
    session.commit()
    with count_queries(app) as many:
        assert len(_rows(client.get("/admin/activity"))) == 100
    assert len(many) == len(few)


def test_administrators_reach_a_records_history_from_its_page(session: Session, client: Any) -> None:
    officer = make_user(session, email="leila@jisr.example")
    lead = make_lead(session, owner=officer)
    session.commit()
    org_id = lead.ma_organisation_id
    login(client, "leila@jisr.example")
    assert 'data-testid="org-history"' not in client.get(f"/organisations/{org_id}").get_data(as_text=True)
    client.post("/logout")
    _admin(session, client)
    page = client.get(f"/organisations/{org_id}").get_data(as_text=True)
    link = re.search(r'href="([^"]+)" data-testid="org-history"', page)
    assert link is not None
    assert _rows(client.get(link.group(1).replace("&amp;", "&"))) == [
        (
            "organisation.created",
            int(
                session.exec(
                    select(Event.id).where(Event.type == "organisation.created", Event.entity_id == org_id)
                ).one()
            ),
        )
    ]
    users = client.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/activity?actor={officer.id}"' in users
