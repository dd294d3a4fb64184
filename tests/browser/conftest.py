"""Browser fixtures: the real app served over HTTP from a thread, driven by Debian's
Chromium through Playwright's sync API.

One server and one browser per session (starting Chromium costs about a second); one
fresh browser context per test, so cookies and storage never leak between tests.  The
database is a fresh SQLite file with the demo data: browser tests run only on SQLite.

Chromium comes from Debian (``make test`` installs it); Playwright's own browser download
(``playwright install``) does not work on this closed network and must not be used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_test_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artefacts" / "screenshots"
# Playwright gives every launch a fresh, empty --user-data-dir of its own (it refuses one
# in ``args``); the rest keep Chromium off the network, which is closed here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

OFFICER = "officer@jisr.example"
ADMIN = "admin@jisr.example"


@dataclass
class LiveServer:
    url: str
    app: Any


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, instance_root: Path) -> Iterator[LiveServer]:
    """The app on a free port of 127.0.0.1, with the demo data and CSRF checks on."""
    from werkzeug.serving import make_server

    from crm.core.db import db
    from crm.core.migrate import upgrade
    from crm.demo import load_demo

    path = tmp_path_factory.mktemp("browser-db") / "jisr.sqlite"
    url = f"sqlite:///{path}"
    upgrade(url)
    app = make_test_app(
        url,
        WTF_CSRF_ENABLED=True,  # a real browser submits real forms with their tokens
        RATELIMIT_ENABLED=False,
        RELAY_KICK=False,
        SERVER_NAME=None,  # requests come to 127.0.0.1:<port>
    )
    with app.app_context():
        load_demo(db.session)
        db.session.commit()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="jisr-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["jisr.db"][0].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. "
            "Run `make test` (it installs it) or `apt-get install -y chromium`; never `playwright install`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@dataclass
class Console:
    """What the page wrote to the console as an error, and its uncaught exceptions."""

    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "content security policy" in e.lower()]

    def assert_clean(self) -> None:
        assert self.errors == [], "the browser console reported errors:\n" + "\n".join(self.errors)


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer, console: Console) -> Iterator[Callable[..., Any]]:
    """Opens pages, each in a fresh browser context (no cookies), French preferred by the
    browser; ``options`` go to ``browser.new_context`` (viewport, is_mobile...)."""
    contexts: list[Any] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            console.errors.append(f"{message.text} ({message.location.get('url', '')})")

    def open_page(**options: Any) -> Any:
        options = {"locale": "fr-FR", "viewport": {"width": 1280, "height": 900}, **options}
        context = browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        tab.on("console", on_console)
        tab.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
        return tab

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()
    # A CSP violation fails any browser test, whatever it was checking.
    assert console.csp_violations() == [], "Content Security Policy violations:\n" + "\n".join(console.csp_violations())


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A desktop-sized page (1280 x 900)."""
    return new_page()


def login(page: Any, email: str, password: str | None = None) -> None:
    """Log in through the login form and land on Today."""
    from crm.demo import DEMO_PASSWORD

    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password or DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/today")
    assert page.locator("[data-testid=nav-leads]").count() == 1  # in the navbar (collapsed on a phone)


def switch_language(page: Any, code: str) -> None:
    """Press the navbar's language button and wait for the page to come back in ``code``."""
    with page.expect_navigation(wait_until="load"):
        page.locator(f"nav form button[name=language][value={code}]").click()
    # Between two documents there is a moment without a root element: the predicate may
    # run in it and must not throw.
    page.wait_for_function("code => document.documentElement?.lang === code", arg=code)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
