"""Login limits that slow a guesser down without locking the right people out: delays per
client and account that double after five failures, a per-account ceiling that a browser
which has logged in before never meets, a generous per-address ceiling, a lockout recorded
once as a security event.  Run on the limiter's real storages (process memory, and Redis
when the suite has one), with the clock moved instead of slept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask_babel import force_locale, format_timedelta
from sqlmodel import select

from crm.accounts.models import Role
from crm.core.db import db
from crm.core.events import Event
from crm.core.i18n import LANGUAGES, gettext
from tests.conftest import TEST_REDIS_URL, make_test_app
from tests.factories import PASSWORD, make_user

STORAGES = ["memory"] + (["redis"] if TEST_REDIS_URL else [])
OFFICER = "officer@jisr.example"
ATTACKER = "198.51.100.66"
HELD_BACK = "Too many failed attempts. Try again %(when)s."


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture(params=STORAGES)
def limits_app(request: pytest.FixtureRequest, database_url: str, clock: Any) -> Iterator[Any]:
    storage = "memory://" if request.param == "memory" else TEST_REDIS_URL
    app = make_test_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=storage)
    throttle = app.extensions["jisr.login_throttle"]
    throttle.storage.reset()
    with app.app_context():
        make_user(db.session, email=OFFICER, language="fr")
        make_user(db.session, role=Role.ADMIN, email="admin@jisr.example", language="en")
        db.session.commit()
    yield app
    throttle.storage.reset()
    app.extensions["jisr.db"][0].dispose()


def attempt(
    client: Any, email: str = OFFICER, password: str = "wrong-password-1", address: str = ATTACKER, **kw: Any
) -> Any:
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}, **kw
    )


def codes(client: Any, count: int, **kw: Any) -> list[int]:
    return [attempt(client, **kw).status_code for _ in range(count)]


def throttled_events(app: Any) -> list[Event]:
    with app.app_context():
        return list(db.session.exec(select(Event).where(Event.type == "user.login_throttled").order_by(Event.id)))


def test_delays_start_after_five_failures_and_double_up_to_fifteen_minutes(limits_app: Any, clock: Any) -> None:
    client = limits_app.test_client()
    assert codes(client, 5) == [400] * 5
    waits = []
    for _ in range(12):
        held = attempt(client)
        assert held.status_code == 429
        waits.append(int(held.headers["Retry-After"]))
        clock.shift(waits[-1] - 1)
        assert attempt(client).status_code == 429  # a second early is still too early
        clock.shift(1)
        assert attempt(client).status_code == 400  # then one more try, which fails
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]


@pytest.mark.parametrize("email", [OFFICER, "nobody@jisr.example"])
def test_a_held_back_answer_does_not_tell_whether_the_account_exists(limits_app: Any, email: str) -> None:
    client = limits_app.test_client()
    assert codes(client, 5, email=email) == [400] * 5
    held = attempt(client, email=email, password=PASSWORD)  # even the right password waits
    assert held.status_code == 429 and held.headers["Retry-After"] == "2"
    page = held.get_data(as_text=True).replace(email, "EMAIL")
    other = "nobody@jisr.example" if email == OFFICER else OFFICER
    assert codes(client, 5, email=other) == [400] * 5
    assert attempt(client, email=other).get_data(as_text=True).replace(other, "EMAIL") == page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("source", ["cookie", "browser"])
def test_a_held_back_attempt_is_told_when_to_retry_in_the_readers_language(
    limits_app: Any, language: str, source: str
) -> None:
    client = limits_app.test_client()
    others = [other for other in LANGUAGES if other != language]
    headers = {"Accept-Language": language if source == "browser" else others[0]}
    if source == "cookie":
        client.set_cookie("lang", language, domain="jisr.test")
    assert codes(client, 5, headers=headers) == [400] * 5
    held = attempt(client, headers=headers)
    assert held.status_code == 429
    page = held.get_data(as_text=True)
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in page
    with limits_app.test_request_context():
        for each in LANGUAGES:
            with force_locale(each):
                when = format_timedelta(timedelta(seconds=2), granularity="second", threshold=1.1, add_direction=True)
                message = gettext(HELD_BACK, when=when)
            assert (message in page) == (each == language), each


def test_one_persons_failures_do_not_hold_back_colleagues_behind_the_same_proxy(limits_app: Any) -> None:
    office = "203.0.113.10"  # everyone's address, as the proxy shows it
    with limits_app.app_context():
        for n in range(5):
            make_user(db.session, email=f"colleague{n}@jisr.example")
        db.session.commit()
    assert codes(limits_app.test_client(), 12, address=office, email="colleague0@jisr.example")[-1] == 429
    for n in range(1, 5):
        client = limits_app.test_client()
        colleague = f"colleague{n}@jisr.example"
        assert codes(client, 4, address=office, email=colleague) == [400] * 4  # their own typos are free
        assert attempt(client, address=office, email=colleague, password=PASSWORD).status_code == 302


def test_a_stranger_guessing_from_one_address_does_not_keep_the_officer_out(limits_app: Any) -> None:
    assert codes(limits_app.test_client(), 20)[-1] == 429
    officer = limits_app.test_client()  # another address, a browser that never logged in
    assert attempt(officer, address="192.0.2.20", password=PASSWORD).status_code == 302


def _known_browser(app: Any) -> Any:
    client = app.test_client()
    answer = attempt(client, address="192.0.2.20", password=PASSWORD)
    assert answer.status_code == 302
    [cookie] = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("jisr_known=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/login" in cookie
    assert client.post("/logout").status_code == 302
    return client


def test_a_stranger_guessing_from_many_addresses_briefly_holds_back_new_browsers_never_a_known_one(
    limits_app: Any, clock: Any
) -> None:
    known = _known_browser(limits_app)
    stranger = limits_app.test_client()
    for n in range(10):  # fifty failures within the hour, five from each address
        assert codes(stranger, 5, address=f"198.51.100.{n + 1}") == [400] * 5
    held = attempt(limits_app.test_client(), address="192.0.2.30", password=PASSWORD)
    assert held.status_code == 429 and 0 < int(held.headers["Retry-After"]) <= 300
    # A browser known to another account, or a cookie made up, is a new browser here.
    with limits_app.app_context():
        make_user(db.session, email="stranger@jisr.example")
        db.session.commit()
    own = limits_app.test_client()
    assert attempt(own, email="stranger@jisr.example", password=PASSWORD, address="192.0.2.50").status_code == 302
    own.post("/logout")
    assert attempt(own, address="192.0.2.50", password=PASSWORD).status_code == 429
    forged = limits_app.test_client()
    cookie = known.get_cookie("jisr_known", domain="jisr.test", path="/login")
    forged.set_cookie("jisr_known", cookie.value + "x", domain="jisr.test", path="/login")
    assert attempt(forged, address="192.0.2.40", password=PASSWORD).status_code == 429
    # The officer's own browser, even from an address it never used, is let in.
    assert attempt(known, address="192.0.2.40", password=PASSWORD).status_code == 302
    clock.shift(300)
    assert attempt(limits_app.test_client(), address="192.0.2.30", password=PASSWORD).status_code == 302


def test_many_accounts_guessed_from_one_address_hold_that_address_back_not_its_known_browsers(
    limits_app: Any, clock: Any
) -> None:
    limits_app.config["LOGIN_ADDRESS_FAILURES"] = 12  # a hundred by default
    with limits_app.app_context():
        make_user(db.session, email="colleague1@jisr.example")
        db.session.commit()
    known = _known_browser(limits_app)
    sprayer = limits_app.test_client()
    guesses = [attempt(sprayer, email=f"guess{n}@jisr.example").status_code for n in range(13)]
    assert guesses == [400] * 12 + [429]  # one guess per account, but too many from one address
    assert attempt(limits_app.test_client(), email="colleague1@jisr.example", password=PASSWORD).status_code == 429
    assert attempt(known, password=PASSWORD).status_code == 302  # same address, a known browser
    clock.shift(60)
    assert attempt(limits_app.test_client(), email="colleague1@jisr.example", password=PASSWORD).status_code == 302


def test_a_right_password_starts_the_client_afresh(limits_app: Any, clock: Any) -> None:
    client = limits_app.test_client()
    assert codes(client, 5) == [400] * 5
    clock.shift(2)
    assert attempt(limits_app.test_client(), password=PASSWORD).status_code == 302
    assert codes(limits_app.test_client(), 6) == [400] * 5 + [429]


def _activity_rows(app: Any) -> list[tuple[str, str]]:
    admin = app.test_client()
    assert attempt(admin, email="admin@jisr.example", password=PASSWORD, address="192.0.2.1").status_code == 302
    page = admin.get("/admin/activity?type=user.login_throttled", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    page = page.get_data(as_text=True)
    return re.findall(r'data-event-type="(user\.login_throttled)" data-event-id="(\d+)"', page)


def test_a_lockout_is_recorded_once_as_a_security_event(limits_app: Any, clock: Any) -> None:
    client = limits_app.test_client()
    assert codes(client, 5) == [400] * 5
    assert codes(client, 10) == [429] * 10  # held back: no more events
    clock.shift(2)
    assert codes(client, 1) == [400]  # the same lockout, longer
    events = throttled_events(limits_app)
    assert len(events) == 1 and len(_activity_rows(limits_app)) == 1
    with limits_app.app_context():
        officer_id = db.session.exec(select(Event.entity_id).where(Event.id == events[0].id)).one()
    assert events[0].entity_type == "user_account" and officer_id is not None
    assert events[0].actor_id is None
    payload = events[0].payload
    assert payload["email"] == OFFICER and payload["address"] == ATTACKER and payload["scope"] == "client_account"
    assert payload["failures"] == 5 and payload["wait_seconds"] == 2
    assert "wrong-password-1" not in str(payload)

    clock.shift(8)  # after a success, a new run of failures is a new lockout
    assert attempt(limits_app.test_client(), password=PASSWORD).status_code == 302
    assert codes(client, 6) == [400] * 5 + [429]
    assert len(throttled_events(limits_app)) == 2


def test_the_activity_log_names_the_lockout_in_the_readers_language(limits_app: Any) -> None:
    assert codes(limits_app.test_client(), 6, email="nobody@jisr.example")[-1] == 429
    [event] = throttled_events(limits_app)
    assert event.entity_id is None and event.payload["email"] == "nobody@jisr.example"
    admin = limits_app.test_client()
    assert attempt(admin, email="admin@jisr.example", password=PASSWORD, address="192.0.2.1").status_code == 302
    same_address = {"environ_base": {"REMOTE_ADDR": "192.0.2.1"}}  # (sessions are bound to it)
    for language, label in [("en", "Login attempts held back"), ("fr", None), ("ar", None)]:
        admin.post("/language", data={"language": language, "next": "/admin/activity"}, **same_address)
        page = admin.get("/admin/activity", **same_address).get_data(as_text=True)
        with limits_app.test_request_context(), force_locale(language):
            expected = gettext("Login attempts held back")
        assert expected in page and (label is None or expected == label)


def test_attempts_sent_all_at_once_get_only_the_free_tries(limits_app: Any) -> None:
    def one(_: int) -> int:
        return int(attempt(limits_app.test_client()).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = sorted(pool.map(one, range(24)))
    assert answers == [400] * 5 + [429] * 19


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("2001:db8:1:2::10", "2001:db8:1:2:ffff::99", True),  # one /64: one machine may hold it all
        ("2001:db8:1:2::10", "2001:db8:1:3::10", False),
        ("198.51.100.7", "198.51.100.8", False),
        ("::ffff:198.51.100.7", "198.51.100.7", True),  # the same IPv4 client, written as IPv6
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_network(
    limits_app: Any, first: str, second: str, shared: bool
) -> None:
    client = limits_app.test_client()
    assert codes(client, 5, address=first) == [400] * 5
    assert attempt(client, address=second).status_code == (429 if shared else 400)
