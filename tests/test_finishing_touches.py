"""Small things that make Jisr feel finished: the language chosen on the login page goes
on after the login (and is saved when the user says so), notifications grouped per lead
and day and dated by what they tell, and ``make run``'s demo logins as the README lists them."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import time_machine
from sqlmodel import Session, select

from crm.accounts.models import User
from crm.config import PROJECT_ROOT
from crm.core.events import Event
from crm.demo import DEMO_PASSWORD, DEMO_USERS
from crm.devserver import announce_when_up, login_lines
from crm.leads.operations import log_activity
from crm.notifications.consumers import on_lead_event
from crm.notifications.models import Notification
from tests.factories import make_lead, make_user
from tests.web_helpers import login


def test_the_login_pages_language_is_kept_and_saved_when_confirmed(session: Session, client: Any) -> None:
    user = make_user(session, email="officer@jisr.example", language="fr")
    session.commit()
    client.set_cookie("lang", "ar", domain="jisr.test")
    login(client, "officer@jisr.example")
    page = client.get("/today").get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in page and 'data-testid="keep-language"' in page
    assert "العربية" in page.split('data-testid="keep-language"')[1].split("</form>")[0]
    response = client.post("/language/keep", data={"keep": "yes", "next": "/today"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/today")
    session.expire_all()
    assert session.get(User, user.id).language.value == "ar"
    event = session.exec(select(Event).where(Event.type == "user.preferences_changed")).one()
    assert event.payload["changes"]["language"] == ["fr", "ar"]
    page = client.get("/today").get_data(as_text=True)
    assert 'lang="ar"' in page and 'data-testid="keep-language"' not in page


def test_declining_keeps_the_language_for_the_session_only(session: Session, client: Any) -> None:
    user = make_user(session, email="officer@jisr.example", language="fr")
    session.commit()
    client.set_cookie("lang", "en", domain="jisr.test")
    login(client, "officer@jisr.example")
    client.post("/language/keep", data={"keep": "no", "next": "/today"})
    page = client.get("/today").get_data(as_text=True)
    assert 'lang="en"' in page and 'data-testid="keep-language"' not in page
    session.expire_all()
    assert session.get(User, user.id).language.value == "fr"
    client.post("/logout")
    client.set_cookie("lang", "fr", domain="jisr.test")
    login(client, "officer@jisr.example")
    page = client.get("/today").get_data(as_text=True)
    assert 'lang="fr"' in page and 'data-testid="keep-language"' not in page


def test_notifications_are_grouped_per_lead_and_day_and_dated_by_the_event(session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example", language="en", timezone="Asia/Tokyo")
    other = make_user(session)
    first = make_lead(session, owner=officer, title="First lead")
    second = make_lead(session, owner=officer, title="Second lead")
    session.commit()
    moments = [
        (first, datetime(2026, 11, 30, 1, 0, tzinfo=UTC)),  # Monday 10:00 in Tokyo
        (first, datetime(2026, 11, 30, 2, 0, tzinfo=UTC)),
        (second, datetime(2026, 11, 30, 3, 0, tzinfo=UTC)),
        (first, datetime(2026, 11, 30, 16, 0, tzinfo=UTC)),  # Tuesday 01:00 in Tokyo
    ]
    for lead, moment in moments:
        with time_machine.travel(moment, tick=False):
            log_activity(session, lead, kind="call", body="Called", actor=other)
            session.commit()
    # The consumer runs later (a worker was down): the list still says when it happened.
    with time_machine.travel(datetime(2026, 12, 3, 9, 0, tzinfo=UTC), tick=False):
        for event in session.exec(select(Event).where(Event.type == "activity.logged").order_by(Event.id)).all():
            on_lead_event(session, event)
        session.commit()
    stored = session.exec(select(Notification).where(Notification.user_id == officer.id)).all()
    assert sorted(n.occurred_at for n in stored) == [m for _, m in moments]
    login(client, "officer@jisr.example")
    page = client.get("/notifications").get_data(as_text=True)
    days = re.findall(r'data-day="([0-9-]+)"', page)
    assert days == ["2026-12-01", "2026-11-30"]  # newest day first, on the reader's clock
    monday = page.split('data-day="2026-11-30"')[1]
    assert re.findall(r'data-lead-id="(\d+)"', monday) == [str(second.id), str(first.id)]
    first_group = monday.split(f'data-lead-id="{first.id}"')[1].split("data-lead-id=")[0]
    assert first_group.count("data-notification=") == 2
    assert 'datetime="2026-11-30T02:00:00+00:00"' in first_group and "2026-12-03" not in page


def test_the_readme_lists_the_demo_logins(tmp_path: Any) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- demo-logins")[1].split("\n\n")[0]
    rows = re.findall(r"^\| (\w+) \| `([^`]+)` \| `([^`]+)` \|$", table, re.M)
    assert [(email, role) for role, email, _ in rows] == list(DEMO_USERS)
    assert {password for *_, password in rows} == {DEMO_PASSWORD}
    printed = "\n".join(login_lines("http://127.0.0.1:5000"))
    for email, role in DEMO_USERS:
        assert re.search(rf"{role}\s+{re.escape(email)}\s+password {DEMO_PASSWORD}", printed)


def test_make_run_prints_the_logins_once_the_server_answers() -> None:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    said: list[str] = []
    server = HTTPServer(("127.0.0.1", 0), Health)
    url = f"http://127.0.0.1:{server.server_port}"
    # Not answering yet: nothing is printed until it does.
    early = threading.Thread(target=announce_when_up, args=(url,), kwargs={"say": said.append, "every": 0.05})
    server_thread = threading.Thread(target=server.serve_forever, daemon=True)
    early.start()
    early.join(timeout=0.4)
    assert said == [] and early.is_alive()
    server_thread.start()
    early.join(timeout=10)
    server.shutdown()
    server.server_close()
    assert len(said) == 1 and url in said[0] and all(email in said[0] for email, _ in DEMO_USERS)
    said.clear()
    assert announce_when_up(url, timeout=0.3, say=said.append, every=0.05) is False
    assert "did not answer" in said[0] and "Demo logins" not in said[0]
