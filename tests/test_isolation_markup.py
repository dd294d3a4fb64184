"""User values and mixed-direction values in the pages swept for isolation: each is in
its own ``<bdi>`` (escaped), dates through the format filters, so a Latin title keeps its
full stop inside an Arabic sentence and an IP address its digits in order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from crm.core.time import utcnow
from crm.notifications.models import Notification
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.web_helpers import login

TITLE = "Cloud <offer> v2."  # Latin, with a full stop and markup to escape
ISOLATED_TITLE = "<bdi>Cloud &lt;offer&gt; v2.</bdi>"


def _arabic_reader(session: Session) -> Any:
    return make_user(session, email="reader@jisr.example", name="Leïla B. (MA)", language="ar")


def test_notifications_isolate_every_title_and_name_and_format_the_day(session: Session, client: Any) -> None:
    reader = _arabic_reader(session)
    actor = make_user(session, name="John Smith Jr.")
    lead = make_lead(session, owner=reader, title=TITLE)
    when = datetime(2026, 2, 21, 10, 0, tzinfo=UTC)
    session.add(
        Notification(
            user_id=reader.id,
            source="event:test-1",
            kind="lead.stage_changed",
            lead_id=lead.id,
            params={"lead_title": TITLE, "actor_id": actor.id, "from": "identified", "to": "proposal"},
            occurred_at=when,
        )
    )
    session.add(
        Notification(
            user_id=reader.id,
            source="event:test-2",
            kind="webhook.endpoint_disabled",
            params={"url": "https://hooks.example/a?b=1&c=2", "endpoint_id": 987},
            occurred_at=when - timedelta(days=1),
        )
    )
    session.commit()
    login(client, "reader@jisr.example")
    page = client.get("/notifications").get_data(as_text=True)
    feed = page[page.index('data-testid="notifications"') :]
    # The lead's title heads its group and sits isolated inside the Arabic sentence.
    assert f'/leads/{lead.id}">{ISOLATED_TITLE}</a>' in feed
    assert feed.count(ISOLATED_TITLE) == 2
    assert "<bdi>John Smith Jr.</bdi>" in feed
    assert "<bdi>https://hooks.example/a?b=1&amp;c=2</bdi>" in feed
    assert "&lt;bdi&gt;" not in feed and "<offer>" not in feed  # escaped once, never twice
    # Each day's heading and each time through the format filters: in <bdi class="fmt">.
    headings = re.findall(r'<h2 class="h6 text-secondary" id="day-[^"]+">(.*?)</h2>', feed)
    assert len(headings) == 2 and all(h.startswith('<bdi class="fmt" dir="rtl">') for h in headings)
    assert "2026" in headings[0] or "٢٠٢٦" in headings[0]
    times = re.findall(r"<time datetime=\"[^\"]+\">(.*?)</time>", feed)
    assert len(times) == 2 and all(t.startswith('<bdi class="fmt"') for t in times)


def test_login_sessions_isolate_the_device_and_the_address(session: Session, client: Any) -> None:
    _arabic_reader(session)
    session.commit()
    client.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
    )
    login(client, "reader@jisr.example")
    page = client.get("/settings").get_data(as_text=True)
    rows = page[page.index('data-testid="login-session-list"') :]
    row = rows[: rows.index("</li>")]
    assert re.search(r"<div><bdi>[^<]+</bdi> <span class=\"badge", row), row
    assert '<bdi dir="ltr">127.0.0.1</bdi>' in row
    assert len(re.findall(r'<dd class="d-inline mb-0"><bdi class="fmt"', row)) == 2  # logged in, last seen
    # The navigation's name of the reader: isolated too (Latin with a full stop in Arabic).
    assert "<bdi>Leïla B. (MA)</bdi>" in page


def test_the_follow_ups_agenda_and_the_dashboard_isolate_names(session: Session, client: Any) -> None:
    reader = _arabic_reader(session)
    ma = make_organisation(session, "MA", name_ar="وكالة التنمية الرقمية", acronym="A.D.D.")
    us = make_organisation(session, "US", name_en="Oracle Corp.", acronym="")
    lead = make_lead(session, owner=reader, title=TITLE, ma_organisation_id=ma.id, us_organisation_id=us.id)
    local = (utcnow() - timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    make_followup(session, lead, local, title="Call J. Doe (USTDA).", actor=reader)
    session.commit()
    login(client, "reader@jisr.example")
    agenda = client.get("/followups").get_data(as_text=True)
    agenda = agenda[agenda.index('id="agenda"') :]
    assert '<div class="fw-semibold"><bdi>Call J. Doe (USTDA).</bdi></div>' in agenda
    assert f'/leads/{lead.id}">{ISOLATED_TITLE}</a>' in agenda
    assert "· <bdi>A.D.D.</bdi> · <bdi>" in agenda
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'<th scope="row"><bdi>Leïla B\. \(MA\)</bdi></th>', dashboard)  # overdue, by owner
    assert re.search(r'<abbr title="[^"]*"><bdi>A\.D\.D\.</bdi></abbr>', dashboard)
