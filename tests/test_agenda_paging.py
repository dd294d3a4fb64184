"""The agenda at scale: each group shows its first rows and how many it has (bounded),
and the rest are read a page at a time by keyset, on the leads the viewer may see."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlmodel import Session

from crm.followups import agenda as agenda_module
from crm.followups.agenda import agenda, group_page
from crm.today import queries as today_queries
from tests.factories import make_followup, make_lead, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

NOW = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


def _overdue(session: Session, n: int) -> Any:
    me = make_user(session, email="officer@jisr.example", language="en", timezone="UTC")
    other = make_user(session)
    mine = make_lead(session, owner=me)
    hidden = make_lead(session, owner=other, confidential=True)
    for i in range(n):
        due = datetime(2026, 11, 1, 9, 0) + timedelta(hours=i // 2)  # pairs due at the same minute
        make_followup(session, mine, due, timezone="UTC", owner_id=me.id, title=f"Task {i:02d}")
    # Assigned to me on a lead I may not see: never shown, never counted.
    make_followup(session, hidden, datetime(2026, 11, 2, 9, 0), timezone="UTC", owner_id=me.id, title="Secret")
    session.commit()
    return me


def test_a_group_shows_its_first_rows_and_counts_them_all(session: Session) -> None:
    me = _overdue(session, 7)
    grouped = agenda(session, me, now=NOW, per_group=3)
    assert [item.followup.title for item in grouped.overdue] == ["Task 00", "Task 01", "Task 02"]
    assert grouped.count("overdue").value == 7 and grouped.count("overdue").exact
    assert not grouped.shows_all("overdue") and grouped.shows_all("today")
    assert grouped.total == 7


def test_the_agenda_reads_the_same_number_of_statements_for_ten_or_a_hundred(app: Any, session: Session) -> None:
    me = _overdue(session, 10)
    with app.test_request_context(), count_queries(app) as few:
        agenda(session, me, now=NOW, per_group=5)
    for _ in range(90):
        make_followup(
            session, make_lead(session, owner=me), datetime(2026, 11, 3, 9, 0), timezone="UTC", owner_id=me.id
        )
    session.commit()
    with app.test_request_context(), count_queries(app) as many:
        assert agenda(session, me, now=NOW, per_group=5).count("overdue").value == 100
    assert len(many) == len(few)


def test_a_group_is_read_page_by_page(session: Session) -> None:
    me = _overdue(session, 7)
    pages = [group_page(session, me, "overdue", per_page=3, now=NOW)]
    while pages[-1].next_cursor:
        pages.append(group_page(session, me, "overdue", per_page=3, now=NOW, cursor=pages[-1].next_cursor))
    titles = [item.followup.title for page in pages for item in page.rows]
    assert titles == [f"Task {i:02d}" for i in range(7)]
    assert {page.count.value for page in pages} == {7}


def test_the_pages_show_a_count_and_a_way_to_the_rest(
    session: Session, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agenda_module, "PER_GROUP", 3)
    monkeypatch.setattr(today_queries, "TODAY_PER_GROUP", 3)
    _overdue(session, 7)
    with time_machine.travel(NOW, tick=False):
        login(client, "officer@jisr.example")
        today = client.get("/today").get_data(as_text=True)
        badge = re.search(r'data-testid="group-count">(.*?)</span>\s*</h3>', today, re.S).group(1)
        assert re.sub(r"<[^>]+>|[\u2066-\u2069]", "", badge) == "7" and "Secret" not in today
        more = html.unescape(re.search(r'href="([^"]+)" data-testid="group-more"', today).group(1))
        assert more.endswith("group=overdue")
        first = client.get(more).get_data(as_text=True)
        assert re.findall(r"Task \d\d", first) == ["Task 00", "Task 01", "Task 02"]
        following = html.unescape(re.search(r'rel="next" href="([^"]+)"', first).group(1))
        second = client.get(following).get_data(as_text=True)
        assert re.findall(r"Task \d\d", second) == ["Task 03", "Task 04", "Task 05"]
        nav = re.search(r'<span id="nav-today-count".*?</span></span>', today, re.S).group(0)
        assert ">7<" in nav


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Chicago"])
def test_each_groups_count_from_the_due_tally_is_the_live_count(session: Session, zone: str) -> None:
    """Follow-ups due around every edge of the groups (now, the end of the viewer's day and
    week, in a zone half an hour off UTC too), on leads the viewer sees, watches or may not
    see, for the viewer alone and for everyone: each group's count is its live count."""
    from sqlmodel import col, func, select

    from crm.followups.agenda import GROUPS, group_bounds, group_count, group_edges
    from crm.followups.models import FollowUp, FollowUpStatus
    from crm.leads.models import Lead
    from crm.leads.operations import add_watcher
    from crm.leads.queries import visible_to

    me = make_user(session, timezone=zone)
    other = make_user(session)
    now = NOW + timedelta(minutes=17)  # within an hour
    leads = [
        make_lead(session, owner=me),
        make_lead(session, owner=other),
        make_lead(session, owner=other, confidential=True),  # hidden from me
        make_lead(session, owner=other, confidential=True),  # watched by me
    ]
    add_watcher(session, leads[3], me.id, actor=other)
    edges = {edge for group in GROUPS for edge in group_edges(me, group, now) if edge is not None}
    for n, edge in enumerate(sorted(edges)):
        for shift in (-61, -1, 0, 1, 59):
            due = (edge + timedelta(minutes=shift)).astimezone(UTC).replace(tzinfo=None)
            lead = leads[(n + shift) % len(leads)]
            owner = me if shift % 2 else other
            make_followup(session, lead, due, timezone="UTC", owner_id=owner.id, title=f"At {shift}")
    session.commit()
    for owner in (me, None):
        for group in GROUPS:
            live = select(func.count(col(FollowUp.id))).join(Lead, col(Lead.id) == col(FollowUp.lead_id))
            live = live.where(
                col(FollowUp.status) == FollowUpStatus.OPEN, visible_to(me), *group_bounds(me, group, now)
            )
            if owner is not None:
                live = live.where(col(FollowUp.owner_id) == owner.id)
            expected = session.exec(live).one()
            assert group_count(session, me, owner, group, now).value == expected, (group, owner)
    assert group_count(session, me, None, "later", now).value > 0
