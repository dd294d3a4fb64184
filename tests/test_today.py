"""Today: the officer's follow-ups due on their own clock with the recent changes on their
leads, the row actions (done, done + the next, snooze) and who may use them, the count in
the navigation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.operations import close_followup, snooze_followup
from crm.leads.operations import add_watcher, log_activity, update_lead
from crm.today.queries import TODAY_PER_GROUP, due_count, recent_changes
from tests.factories import make_followup, make_lead, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

HX = {"HX-Request": "true"}
# Sunday 29 November 2026, 22:00 UTC: Monday already in Tokyo, Sunday afternoon in Los Angeles.
NOW = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


def _groups(page: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for part in re.split(r'(?=<section class="mb-4" data-group=")', page)[1:]:
        key = re.match(r'<section class="mb-4" data-group="(\w+)"', part).group(1)  # type: ignore[union-attr]
        found[key] = set(re.findall(r'<div class="fw-semibold text-break" dir="auto">([^<]*)</div>', part))
    return found


def _four(session: Session, owner: User) -> None:
    lead = make_lead(session, owner=owner)
    make_followup(session, lead, datetime(2026, 11, 29, 8, 0), "UTC", title="Yesterday call")  # overdue
    make_followup(session, lead, datetime(2026, 11, 29, 23, 30), "UTC", title="Late call")
    make_followup(session, lead, datetime(2026, 12, 1, 9, 0), "UTC", title="Tuesday demo")
    make_followup(session, lead, datetime(2026, 12, 20, 9, 0), "UTC", title="December review")


def _officer(session: Session, **kwargs: Any) -> User:
    kwargs.setdefault("language", "en")
    return make_user(session, email="officer@jisr.example", **kwargs)


def test_home_and_login_land_on_today(session: Session, client: Any) -> None:
    _officer(session)
    session.commit()
    response = login(client, "officer@jisr.example")
    assert response.status_code == 302 and response.headers["Location"].endswith("/today")
    assert client.get("/").headers["Location"].endswith("/today")
    page = client.get("/today").get_data(as_text=True)
    assert 'data-testid="nav-today"' in page and 'aria-current="page" href="/today"' in page


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Tokyo", {"overdue": {"Yesterday call"}, "today": {"Late call"}, "week": {"Tuesday demo"}}),
        ("America/Los_Angeles", {"overdue": {"Yesterday call"}, "today": {"Late call"}}),
    ],
)
def test_followups_are_grouped_on_the_viewers_clock(
    session: Session, client: Any, zone: str, expected: dict[str, set[str]]
) -> None:
    owner = _officer(session, timezone=zone)
    _four(session, owner)
    make_followup(session, make_lead(session), datetime(2026, 11, 29, 9, 0), "UTC", title="Not mine")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        page = client.get("/today").get_data(as_text=True)
    assert _groups(page) == expected
    followups = page.split('data-testid="today-recent"')[0]
    assert "Not mine" not in followups and "December review" not in followups
    assert "1 follow-up is due later." in page if zone == "Asia/Tokyo" else "2 follow-ups are due later." in page


def test_the_navigation_counts_overdue_and_today_in_one_query(app: Any, session: Session, client: Any) -> None:
    owner = _officer(session, timezone="Asia/Tokyo")
    _four(session, owner)
    session.commit()
    with app.test_request_context(), count_queries(app) as statements:
        assert due_count(session, owner, now=NOW) == 2
    assert len(statements) == 1
    assert due_count(session, owner, now=NOW, limit=1) == 2  # one more than the limit: "more than"
    assert due_count(session, owner, now=NOW, limit=5) == 2
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        page = client.get("/leads").get_data(as_text=True)
    nav = page.split('data-testid="nav-today"')[1].split("</a>")[0]
    assert '<span class="badge rounded-pill ms-1 text-bg-danger" aria-hidden="true">2</span>' in nav
    assert "(2 follow-ups overdue or due today)" in nav


def test_nothing_due_says_what_to_do_next(session: Session, client: Any) -> None:
    _officer(session)
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/today").get_data(as_text=True)
    assert 'data-testid="today-empty"' in page and 'href="/leads/new"' in page and 'href="/leads"' in page
    assert 'data-testid="today-recent-empty"' in page
    nav = page.split('data-testid="nav-today"')[1].split("</a>")[0]
    assert "badge" not in nav


def test_recent_changes_are_others_on_leads_owned_or_watched_and_visible(session: Session, client: Any) -> None:
    officer = _officer(session)
    other = make_user(session)
    admin = make_user(session, Role.ADMIN)
    mine = make_lead(session, owner=officer, title="Mine")
    watched = make_lead(session, owner=other, title="Watched secret", confidential=True)
    add_watcher(session, watched, officer.id, actor=other)
    unwatched = make_lead(session, owner=other, title="Open but not followed")
    secret = make_lead(session, owner=other, title="Hidden secret", confidential=True)
    session.commit()
    log_activity(session, mine, kind="call", body="Called", actor=other)
    log_activity(session, mine, kind="note", body="My own note", actor=officer)
    log_activity(session, watched, kind="note", body="On the watched one", actor=other)
    log_activity(session, unwatched, kind="note", body="Elsewhere", actor=other)
    log_activity(session, secret, kind="note", body="Secret", actor=other)
    session.commit()
    titles = [c.lead.title for c in recent_changes(session, officer)]
    assert set(titles) == {"Mine", "Watched secret"}
    assert all(c.entry.event.actor_id != officer.id for c in recent_changes(session, officer))
    # Watching no longer: the confidential lead's changes go with its visibility.
    from crm.leads.operations import remove_watcher

    remove_watcher(session, watched, officer.id, actor=admin)
    session.commit()
    assert {c.lead.title for c in recent_changes(session, officer)} == {"Mine"}
    login(client, "officer@jisr.example")
    page = client.get("/today").get_data(as_text=True)
    assert "Mine" in page and "Watched secret" not in page and "Hidden secret" not in page


def test_a_followup_on_a_lead_the_owner_may_not_see_is_neither_listed_nor_counted(session: Session) -> None:
    officer = _officer(session)
    boss = make_user(session)
    secret = make_lead(session, owner=boss, confidential=True)
    make_followup(session, secret, datetime(2026, 11, 29, 8, 0), "UTC", owner_id=officer.id)
    session.commit()
    assert due_count(session, officer, now=NOW) == 0


def _post(client: Any, path: str, data: dict[str, str] | None = None, htmx: bool = False) -> Any:
    return client.post(path, data=data or {}, headers=HX if htmx else {})


def test_done_closes_the_followup_and_htmx_gets_the_list_and_the_count(session: Session, client: Any) -> None:
    owner = _officer(session)
    followup = make_followup(session, make_lead(session, owner=owner), datetime(2026, 11, 29, 8, 0), "UTC")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        response = _post(client, f"/today/followups/{followup.id}/done", htmx=True)
        again = _post(client, f"/today/followups/{followup.id}/done")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="today-followups"')
    assert 'id="nav-today-count" hx-swap-oob="true"' in html and "is done." in html
    session.expire_all()
    assert session.get(FollowUp, followup.id).status == FollowUpStatus.DONE
    # A second press (another tab) changes nothing and says why.
    assert again.status_code == 400 and "This follow-up is already closed." in again.get_data(as_text=True)


def test_done_and_next_is_one_transaction(session: Session, client: Any) -> None:
    owner = _officer(session, timezone="Asia/Tokyo")
    followup = make_followup(
        session, make_lead(session, owner=owner), datetime(2026, 11, 30, 10, 0), "Europe/Paris", title="Call"
    )
    session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        page = client.get("/today").get_data(as_text=True)
        # Prefilled a week from today (in the follow-up's zone) at its own hour.
        assert f'id="n{followup.id}-due_local" name="n{followup.id}-due_local"' in page
        assert 'value="2026-12-06T10:00"' in page
        bad = _post(
            client,
            f"/today/followups/{followup.id}/next",
            {f"n{followup.id}-title": "Next", f"n{followup.id}-due_local": "2020-01-01T10:00"},
        )
        assert bad.status_code == 400 and "Choose a moment in the future." in bad.get_data(as_text=True)
        session.expire_all()
        assert session.get(FollowUp, followup.id).status == FollowUpStatus.OPEN  # nothing written
        ok = _post(
            client,
            f"/today/followups/{followup.id}/next",
            {f"n{followup.id}-title": "Second call", f"n{followup.id}-due_local": "2026-12-06T10:00"},
        )
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/today")
    session.expire_all()
    assert session.get(FollowUp, followup.id).status == FollowUpStatus.DONE
    nxt = session.exec(select(FollowUp).where(FollowUp.title == "Second call")).one()
    assert (nxt.due_local, nxt.timezone, nxt.owner_id) == (datetime(2026, 12, 6, 10, 0), "Europe/Paris", owner.id)
    assert nxt.due_at == datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    events = session.exec(select(Event.type).where(col(Event.actor_id) == owner.id).order_by(col(Event.id))).all()
    assert events[-2:] == ["followup.done", "followup.scheduled"]


def test_close_with_a_bad_next_changes_nothing(session: Session) -> None:
    owner = _officer(session)
    followup = make_followup(session, make_lead(session, owner=owner), datetime(2030, 1, 1, 9, 0))
    session.commit()
    with pytest.raises(ValidationError):
        close_followup(session, followup, next_due_local=datetime(2030, 1, 8, 9), next_title="x" * 301, actor=owner)
    assert followup.status == FollowUpStatus.OPEN and not session.dirty


def test_only_the_owner_or_the_leads_managers_act(session: Session, client: Any) -> None:
    lead_owner = make_user(session, email="lead-owner@jisr.example", language="en")
    followup_owner = _officer(session)
    stranger = make_user(session, email="stranger@jisr.example", language="en")
    viewer = make_user(session, Role.VIEWER, email="viewer@jisr.example")
    lead = make_lead(session, owner=lead_owner)
    followup = make_followup(session, lead, datetime(2026, 11, 29, 8, 0), "UTC", owner_id=followup_owner.id)
    session.commit()
    for who in (stranger, viewer):
        with pytest.raises(PermissionDenied):
            snooze_followup(session, followup, by="day", actor=who)
        with pytest.raises(PermissionDenied):
            close_followup(session, followup, actor=who)
    login(client, "stranger@jisr.example")
    refused = _post(client, f"/today/followups/{followup.id}/done", htmx=True)
    assert refused.status_code == 403 and refused.headers["X-Form-Refused"] == "true"
    assert _post(client, f"/today/followups/{followup.id}/snooze", {"by": "week"}).status_code == 403
    login(client, "viewer@jisr.example")
    assert _post(client, f"/today/followups/{followup.id}/done").status_code == 403
    session.expire_all()
    assert session.get(FollowUp, followup.id).status == FollowUpStatus.OPEN
    close_followup(session, followup, actor=lead_owner)  # the lead's owner manages it
    assert followup.status == FollowUpStatus.DONE


def _utc(wall: datetime, zone: str) -> datetime:
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "due", "now", "by", "on", "expected"),
    [
        # Paris leaves summer time on 25 October 2026: a week later is still 09:00 there.
        (
            "Europe/Paris",
            datetime(2026, 10, 22, 9),
            datetime(2026, 10, 22, 10, tzinfo=UTC),
            "week",
            None,
            datetime(2026, 10, 29, 9),
        ),
        (
            "Europe/Paris",
            datetime(2026, 10, 24, 9),
            datetime(2026, 10, 24, 12, tzinfo=UTC),
            "day",
            None,
            datetime(2026, 10, 25, 9),
        ),
        # Casablanca moves to UTC+0 for Ramadan (15 February 2026) and back (22 March).
        (
            "Africa/Casablanca",
            datetime(2026, 2, 13, 10),
            datetime(2026, 2, 13, 12, tzinfo=UTC),
            "week",
            None,
            datetime(2026, 2, 20, 10),
        ),
        (
            "Africa/Casablanca",
            datetime(2026, 3, 20, 10),
            datetime(2026, 3, 20, 12, tzinfo=UTC),
            "date",
            date(2026, 3, 23),
            datetime(2026, 3, 23, 10),
        ),
        # Late evening in Casablanca is already tomorrow in Tokyo: "tomorrow" is the follow-up's.
        (
            "Asia/Tokyo",
            datetime(2026, 11, 30, 8),
            datetime(2026, 11, 29, 22, tzinfo=UTC),
            "day",
            None,
            datetime(2026, 12, 1, 8),
        ),
    ],
)
def test_snooze_keeps_the_local_hour_across_offset_changes(
    session: Session, zone: str, due: datetime, now: datetime, by: str, on: date | None, expected: datetime
) -> None:
    owner = _officer(session)
    followup = make_followup(session, make_lead(session, owner=owner), due, zone)
    session.commit()
    assert snooze_followup(session, followup, by=by, on=on, now=now, actor=owner) == expected
    assert followup.due_local == expected and followup.due_at == _utc(expected, zone)


def test_snooze_refuses_a_past_day_and_a_missing_choice(session: Session, client: Any) -> None:
    owner = _officer(session)
    followup = make_followup(session, make_lead(session, owner=owner), datetime(2026, 11, 29, 8, 0), "UTC")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        past = _post(
            client, f"/today/followups/{followup.id}/snooze", {"by": "date", f"s{followup.id}-on": "2026-11-01"}
        )
        assert past.status_code == 400 and "Choose a day from today on" in past.get_data(as_text=True)
        assert _post(client, f"/today/followups/{followup.id}/snooze", {"by": "date"}).status_code == 400
        assert _post(client, f"/today/followups/{followup.id}/snooze", {"by": "year"}).status_code == 400
        ok = _post(client, f"/today/followups/{followup.id}/snooze", {"by": "day"}, htmx=True)
    assert ok.status_code == 200 and "is put off to" in ok.get_data(as_text=True)
    session.expire_all()
    assert session.get(FollowUp, followup.id).due_local == datetime(2026, 11, 30, 8, 0)


def test_today_runs_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    owner = _officer(session)
    other = make_user(session)

    def more(n: int) -> None:
        for k in range(n):
            lead = make_lead(session, owner=owner, confidential=k % 2 == 0)
            make_followup(session, lead, datetime(2026, 11, 29, 8, k), "UTC", owner_id=owner.id)
            make_followup(session, lead, datetime(2026, 11, 29, 23, k), "UTC", owner_id=owner.id)
            log_activity(session, lead, kind="call", body=f"Call {k}", actor=other)
            update_lead(session, lead, actor=other, priority="high")
        session.commit()

    more(1)
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        with count_queries(app) as few:
            assert client.get("/today").status_code == 200
        more(TODAY_PER_GROUP - 1)  # each group as full as it is shown whole (a fuller one adds its count)
        with count_queries(app) as many:
            assert client.get("/today").status_code == 200
    assert len(many) == len(few)


def test_the_navigation_says_99_plus_without_counting_further(session: Session, client: Any) -> None:
    owner = _officer(session)
    lead = make_lead(session, owner=owner)
    for n in range(101):
        make_followup(session, lead, datetime(2026, 3, 1, 9, n % 60), owner_id=owner.id, title=f"Call {n}")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        page = client.get("/leads").get_data(as_text=True)
    badge = re.search(r'<span id="nav-today-count".*?</span></span>', page, re.S).group(0)
    assert ">99+<" in badge and "(more than 99 follow-ups overdue or due today)" in badge
