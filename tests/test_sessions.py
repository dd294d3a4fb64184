"""Login sessions end on the server: a copy of the session cookie taken before logout, a
new password, deactivation or "log out of every other session" opens nothing after it,
nor does a session idle or old beyond its limits.  Every test runs on both databases and
on both session stores (the database table, and Redis as in production)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from crm.accounts.auth import SESSION_EXPIRED
from crm.accounts.models import Role, User
from crm.accounts.session_store import LoginSessionRecord, handle_of, store_for
from crm.core.db import db
from crm.core.events import Event
from tests.conftest import TEST_REDIS_URL, make_test_app
from tests.factories import PASSWORD, make_user
from tests.test_web import count_queries
from tests.web_helpers import login

STORES = ["database", *(["redis"] if TEST_REDIS_URL else [])]
IDLE_MINUTES, MAX_HOURS = 30, 2
NEW_PASSWORD = "Atlas-Cedar-2026"
# Pages a logged-in officer opens, and that must not open for a dead session.
PAGES = ["/leads", "/settings", "/pipeline", "/followups", "/dashboard", "/organisations", "/notifications"]
HANDLE_IN_PAGE = re.compile(r"/settings/sessions/([0-9a-f]{64})/logout")
START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
relaxed = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def web(database_url: str, store: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An app whose sessions live in ``store``, without an app context held open around
    its requests (each request gets its own database session, as in production)."""
    monkeypatch.setenv("JISR_INSTANCE_PATH", str(tmp_path / "instance"))
    overrides: dict[str, Any] = {"SESSION_IDLE_MINUTES": IDLE_MINUTES, "SESSION_MAX_HOURS": MAX_HOURS}
    prefix = f"jisr-test:{uuid.uuid4().hex}:"
    if store == "redis":
        overrides.update(REDIS_URL=TEST_REDIS_URL, LOGIN_SESSION_REDIS_PREFIX=prefix)
    application = make_test_app(database_url, **overrides)
    yield application
    if store == "redis":
        import redis

        client = redis.Redis.from_url(str(TEST_REDIS_URL))
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
    application.extensions["jisr.db"][0].dispose()


def _user(app: Any, **kwargs: Any) -> str:
    with app.app_context():
        user = make_user(db.session, **kwargs)
        db.session.commit()
        return user.email


def _user_id(app: Any, email: str) -> int:
    with app.app_context():
        return int(db.session.exec(select(User.id).where(User.email == email)).one() or 0)


def _logged_in(app: Any, email: str, user_agent: str = "") -> Any:
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert login(client, email).status_code == 302
    return client


def _copy_of(app: Any, client: Any) -> Any:
    """Another browser holding a copy of ``client``'s cookies (a stolen cookie)."""
    thief = app.test_client()
    thief.environ_base.update(client.environ_base)
    cookie = client.get_cookie("session", domain="jisr.test")
    assert cookie is not None
    thief.set_cookie("session", cookie.value, domain="jisr.test")
    return thief


def _opens(client: Any, path: str = "/leads") -> bool:
    """Whether ``path`` opens; if not, the answer must be the way to the login page."""
    response = client.get(path)
    if response.status_code == 200:
        return True
    assert response.status_code == 302, (path, response.status_code)
    assert response.headers["Location"].split("?")[0].endswith("/login"), response.headers["Location"]
    return False


def _handles_on_settings(client: Any) -> list[str]:
    page = client.get("/settings")
    assert page.status_code == 200
    return HANDLE_IN_PAGE.findall(page.get_data(as_text=True))


def _events(app: Any, type_: str) -> list[Event]:
    with app.app_context():
        return list(db.session.exec(select(Event).where(Event.type == type_).order_by(col(Event.id))).all())


def test_a_cookie_copied_before_logout_gets_the_login_page_after_it(web: Any) -> None:
    email = _user(web)
    browser = _logged_in(web, email)
    thief = _copy_of(web, browser)
    assert all(_opens(thief, page) for page in PAGES)  # the copy works while the session lives

    assert browser.post("/logout").status_code == 302
    for page in PAGES:
        assert not _opens(thief, page), page
        assert not _opens(browser, page), page
    login_page = thief.get("/leads", follow_redirects=True)
    assert login_page.request.path == "/login" and 'name="password"' in login_page.get_data(as_text=True)
    # Logging in again opens a new session; the old cookie stays dead.
    assert _opens(_logged_in(web, email))
    assert not _opens(thief)


def test_logging_out_ends_only_that_session(web: Any) -> None:
    email = _user(web)
    laptop, phone = _logged_in(web, email), _logged_in(web, email)
    stolen = _copy_of(web, laptop)
    laptop.post("/logout")
    assert not _opens(laptop) and not _opens(stolen)
    assert _opens(phone)


def test_log_out_of_every_other_session_ends_the_others_but_not_this_one(web: Any) -> None:
    email, colleague = _user(web, language="en"), _user(web)
    laptop = _logged_in(web, email, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/133.0")
    phone = _logged_in(web, email, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Version/18.1 Safari/604.1")
    tablet = _logged_in(web, email)
    stolen = _copy_of(web, phone)
    theirs = _logged_in(web, colleague)

    page = laptop.get("/settings").get_data(as_text=True)
    assert page.count('data-testid="login-session-row"') == 3
    assert page.count('data-current="1"') == 1 and "This session" in page
    assert "Firefox, Windows" in page and "Safari, iPhone" in page
    assert len(_handles_on_settings(laptop)) == 2  # a button for each other session

    response = laptop.post("/settings/sessions/others/logout", follow_redirects=True)
    assert response.status_code == 200
    assert "You are logged out of 2 other sessions." in response.get_data(as_text=True)
    assert _opens(laptop) and _opens(theirs)
    assert not any(_opens(client) for client in (phone, tablet, stolen))
    page = laptop.get("/settings").get_data(as_text=True)
    assert page.count('data-testid="login-session-row"') == 1 and "log-out-other-sessions" not in page
    [event] = _events(web, "user.other_sessions_ended")
    assert event.payload == {"sessions": 2} and event.actor_id == _user_id(web, email)

    again = laptop.post("/settings/sessions/others/logout", follow_redirects=True)
    assert "You had no other session." in again.get_data(as_text=True)


def test_one_session_is_logged_out_from_the_list(web: Any) -> None:
    email, colleague = _user(web), _user(web)
    laptop, phone = _logged_in(web, email), _logged_in(web, email)
    theirs = _logged_in(web, colleague)
    [phone_handle] = _handles_on_settings(laptop)
    [laptop_handle] = _handles_on_settings(phone)
    their_handle = _handles_on_settings(_logged_in(web, colleague))[0]

    # Somebody else's session, whatever its handle, is not found, and goes on.
    assert laptop.post(f"/settings/sessions/{their_handle}/logout").status_code == 404
    assert _opens(theirs)

    response = laptop.post(f"/settings/sessions/{phone_handle}/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings#login-sessions")
    assert _opens(laptop) and not _opens(phone)
    assert laptop.post(f"/settings/sessions/{phone_handle}/logout").status_code == 404  # already ended
    [event] = _events(web, "user.session_ended")
    assert event.payload["started_at"] and event.actor_id == _user_id(web, email)

    # Ending this very session from the list is logging out.
    assert laptop.post(f"/settings/sessions/{laptop_handle}/logout").headers["Location"].endswith("/login")
    assert not _opens(laptop)


@pytest.mark.parametrize(
    "handle",
    [
        "0" * 64,
        "F" * 64,
        "0" * 64 + "%0A",
        "abc",
        "x" * 64,
        "%00",
        "..",
        "0" * 65,
        "١" * 64,
        "'; DROP TABLE login_session; --",
    ],
)
def test_a_malformed_or_unknown_session_handle_is_not_found(web: Any, handle: str) -> None:
    email = _user(web)
    client, phone = _logged_in(web, email), _logged_in(web, email)
    response = client.post(f"/settings/sessions/{handle}/logout")
    assert response.status_code == 404
    assert _opens(client) and _opens(phone)
    assert len(_handles_on_settings(client)) == 1  # the phone's session is still listed


@relaxed
@given(gaps=st.lists(st.integers(min_value=1, max_value=45), min_size=1, max_size=7))
def test_a_session_lives_while_used_within_its_idle_limit_and_never_beyond_its_lifetime(
    web: Any, gaps: list[int]
) -> None:
    """Requests ``gaps`` minutes apart: the session opens pages while no gap reaches the
    idle limit and the lifetime has not passed since the login, and never again after."""
    email = _user(web)
    with time_machine.travel(START, tick=False) as clock:
        client = _logged_in(web, email)
        elapsed, alive = 0, True
        for gap in gaps:
            clock.shift(timedelta(minutes=gap))
            elapsed += gap
            alive = alive and gap < IDLE_MINUTES and elapsed < MAX_HOURS * 60
            assert _opens(client) is alive, (gaps, elapsed)


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
@pytest.mark.parametrize("limit", ["idle", "lifetime"])
def test_an_expired_session_leads_to_the_login_page_saying_so_in_the_users_language(
    web: Any, language: str, limit: str
) -> None:
    email = _user(web, language=language)
    with web.test_request_context(), force_locale(language):
        expected = str(SESSION_EXPIRED)
    with time_machine.travel(START, tick=False) as clock:
        client = _logged_in(web, email)
        if limit == "idle":
            clock.shift(timedelta(minutes=IDLE_MINUTES, seconds=1))
        else:
            for _ in range(MAX_HOURS * 60 // (IDLE_MINUTES - 5) + 1):
                assert _opens(client)
                clock.shift(timedelta(minutes=IDLE_MINUTES - 5))
        page = client.get("/followups", follow_redirects=True)
    assert page.request.path == "/login"
    html = page.get_data(as_text=True)
    assert expected in html and f'lang="{language}"' in html
    # A session that was logged out (not expired) gets the usual invitation instead.
    other = _logged_in(web, _user(web))
    other.post("/logout")
    assert expected not in other.get("/followups", follow_redirects=True).get_data(as_text=True)


@pytest.mark.parametrize("how", ["own change", "administrator's reset", "set-password link"])
def test_a_new_password_ends_the_other_sessions(web: Any, how: str) -> None:
    email = _user(web)
    admin = _logged_in(web, _user(web, role=Role.ADMIN))
    laptop, phone = _logged_in(web, email), _logged_in(web, email)
    stolen = _copy_of(web, laptop)
    user_id = _user_id(web, email)
    if how == "own change":
        data = {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert laptop.post("/settings/password", data=data).status_code == 302
        assert _opens(laptop)  # the browser it was changed from goes on, under a new session…
        assert not _opens(stolen)  # …so a copy of its cookie taken before stops working
        assert _handles_on_settings(laptop) == []  # and it is the only session left
    else:
        assert admin.post(f"/admin/users/{user_id}/reset-password").status_code == 200
        if how == "set-password link":
            with web.test_request_context():
                from crm.accounts.tokens import set_password_url

                link = set_password_url(db.session.get(User, user_id)).split("jisr.test", 1)[1]
            assert web.test_client().post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        assert not _opens(laptop) and not _opens(stolen)
    assert not _opens(phone)
    assert _opens(admin)
    if how != "administrator's reset":
        assert _opens(_logged_in_with(web, email, NEW_PASSWORD))


def _logged_in_with(app: Any, email: str, password: str) -> Any:
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client


def test_deactivation_ends_every_session_for_good(web: Any) -> None:
    email = _user(web)
    admin = _logged_in(web, _user(web, role=Role.ADMIN))
    laptop, phone = _logged_in(web, email), _logged_in(web, email)
    user_id = _user_id(web, email)
    assert admin.post(f"/admin/users/{user_id}/deactivate").status_code == 302
    assert not _opens(laptop) and not _opens(phone)
    # Reactivated, the person logs in afresh: the sessions of before do not come back.
    assert admin.post(f"/admin/users/{user_id}/reactivate").status_code == 302
    assert not _opens(laptop) and not _opens(phone)
    assert _opens(_logged_in(web, email))
    assert _opens(admin)


GARBAGE_IDS = [
    "",
    "1",
    "1:0123456789abcdef0123",  # a session id of the former kind (user id and password stamp)
    "0" * 43,
    "A" * 42,
    "A" * 44,
    "é" * 43,
    "\x00" * 43,
    "../" * 15,
    "x" * 10_000,
]


@relaxed
@given(garbage=st.one_of(st.sampled_from(GARBAGE_IDS), st.text(max_size=80)))
def test_a_garbage_session_id_gets_the_login_page_never_an_error(web: Any, garbage: str) -> None:
    client = _logged_in(web, _user(web))
    with client.session_transaction() as cookie:
        genuine = cookie["_user_id"]
        cookie["_user_id"] = garbage
    assert not _opens(client)
    assert garbage != genuine


def test_neither_the_stored_handle_nor_a_logged_out_id_opens_anything(web: Any) -> None:
    """What the store keeps (a hash of the id) is useless as a cookie, and so is the id of
    a session that was logged out, however it is put back."""
    client = _logged_in(web, _user(web))
    with client.session_transaction() as cookie:
        genuine = cookie["_user_id"]
        identifier = cookie["_id"]
        cookie["_user_id"] = handle_of(genuine)
    assert not _opens(client)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = genuine
    assert _opens(client)
    client.post("/logout")
    with client.session_transaction() as cookie:
        cookie.update({"_user_id": genuine, "_id": identifier, "_fresh": True})
    assert not _opens(client)


def test_a_request_looks_its_session_up_once_and_notes_its_use_at_most_once_a_minute(web: Any, store: str) -> None:
    client = _logged_in(web, _user(web))
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=5), tick=False) as clock:
        assert _opens(client)  # the process's copy of the account is made (crm.core.reference_cache)
        with count_queries(web) as quiet:
            assert _opens(client)
        clock.shift(timedelta(seconds=90))
        with count_queries(web) as noted:
            assert _opens(client)
        with count_queries(web) as again:
            assert _opens(client)
    about_sessions = [[s for s in run if "login_session" in s] for run in (quiet, noted, again)]
    if store == "database":
        assert [len(run) for run in about_sessions] == [1, 2, 1]
        assert "UPDATE" in about_sessions[1][1]
        # …which reads the user too: no second query for them.
        assert not any(re.search(r"FROM user_account\s+WHERE user_account.id =", s) for s in quiet)
    else:
        assert about_sessions == [[], [], []]
    assert len(quiet) == len(again)


def test_both_stores_keep_the_same_records(web: Any) -> None:
    """The store's contract, on whichever store the app uses."""
    with web.app_context():
        first, second = make_user(db.session), make_user(db.session)
        db.session.commit()
        first_id, second_id = int(first.id or 0), int(second.id or 0)
    now = datetime.now(UTC).replace(microsecond=0)
    records = [
        LoginSessionRecord(handle_of(f"id-{n}"), user, now - timedelta(minutes=n), now, f"device {n}", "192.0.2.1")
        for n, user in enumerate([first_id, first_id, first_id, second_id])
    ]
    with web.test_request_context():
        store = store_for(db.session)
        for record in records:
            store.open(record)
        db.session.commit()
        assert store.find(records[0].handle) == records[0]
        assert store.find(handle_of("unknown")) is None
        assert {r.handle for r in store.of_user(first_id)} == {r.handle for r in records[:3]}
        store.touch(records[1].handle, now + timedelta(minutes=2))
        touched = store.find(records[1].handle)
        assert touched is not None and touched.last_seen_at == now + timedelta(minutes=2)
        assert not store.revoke(second_id, records[0].handle)  # not theirs
        assert store.revoke(first_id, records[0].handle)
        assert not store.revoke(first_id, records[0].handle)
        db.session.commit()
        assert store.find(records[0].handle) is None
        assert store.revoke_all(first_id, keep=records[1].handle) == 1
        db.session.commit()
        assert [r.handle for r in store.of_user(first_id)] == [records[1].handle]
        assert [r.handle for r in store.of_user(second_id)] == [records[3].handle]
        assert store.revoke_all(first_id) == 1
        db.session.commit()
        assert store.of_user(first_id) == []


def test_the_database_keeps_only_a_hash_of_the_session_id(database_url: str, tmp_path: Any) -> None:
    app = make_test_app(database_url)
    try:
        client = _logged_in(app, _user(app))
        with client.session_transaction() as cookie:
            session_id = cookie["_user_id"]
        with app.app_context():
            stored = db.session.execute(sa.text("SELECT * FROM login_session")).mappings().all()
        assert len(stored) == 1 and session_id not in str(dict(stored[0]))
        assert stored[0]["handle"] == handle_of(session_id)
    finally:
        app.extensions["jisr.db"][0].dispose()
