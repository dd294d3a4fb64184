"""The web skeleton: log in, the lead list, languages, security defaults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from crm.accounts.models import Role
from crm.core.db import db
from crm.leads.operations import add_watcher
from tests.conftest import make_test_app
from tests.factories import PASSWORD, make_lead, make_organisation, make_user
from tests.web_helpers import login


@contextmanager
def count_queries(app: Any) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.extensions["jisr.db"][0]

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_login_page_is_served(client: Any) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="password"' in response.data


def test_pages_need_login(client: Any) -> None:
    response = client.get("/leads")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_officer_logs_in_and_sees_the_leads(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    dgssi = make_organisation(
        session, "MA", name_fr="Direction Générale de la Sécurité des Systèmes d'Information", acronym="DGSSI"
    )
    pan = make_organisation(session, "US", name_en="Palo Alto Networks")
    make_lead(
        session,
        owner=officer,
        title="Cybersecurity workshop",
        ma_organisation_id=dgssi.id,
        us_organisation_id=pan.id,
        estimated_value="120000",
        currency="USD",
    )
    session.commit()
    response = login(client, "officer@jisr.example")
    assert response.status_code == 302
    page = client.get("/leads").get_data(as_text=True)
    assert "Cybersecurity workshop" in page
    assert "DGSSI" in page and "Palo Alto Networks" in page


def test_wrong_password_is_refused_with_a_clear_message(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example")
    session.commit()
    response = client.post(
        "/login",
        data={"email": "officer@jisr.example", "password": "wrong-password"},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 400
    assert "Adresse e-mail ou mot de passe incorrect" in response.get_data(as_text=True)
    assert client.get("/leads").status_code == 302


def test_deactivated_user_cannot_log_in(session: Session, client: Any) -> None:
    from crm.accounts.operations import deactivate_user

    user = make_user(session, email="gone@jisr.example")
    deactivate_user(session, user, actor=None)
    session.commit()
    assert login(client, "gone@jisr.example").status_code == 400


def test_confidential_lead_is_hidden_from_other_officers(session: Session, client: Any) -> None:
    owner = make_user(session)
    watcher = make_user(session, email="watcher@jisr.example")
    make_user(session, email="other@jisr.example")
    lead = make_lead(session, owner=owner, title="Secret data-centre investment", confidential=True)
    add_watcher(session, lead, watcher.id)
    session.commit()
    login(client, "other@jisr.example")
    assert "Secret data-centre investment" not in client.get("/leads").get_data(as_text=True)
    client.post("/logout")
    login(client, "watcher@jisr.example")
    assert "Secret data-centre investment" in client.get("/leads").get_data(as_text=True)


def test_arabic_user_gets_a_right_to_left_page(session: Session, client: Any) -> None:
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER, language="ar")
    session.commit()
    login(client, "viewer@jisr.example")
    page = client.get("/leads").get_data(as_text=True)
    assert re.search(r'<html lang="ar" dir="rtl">', page)
    assert "bootstrap.rtl.min.css" in page
    assert "الفرص" in page


def test_browser_language_decides_before_login(client: Any) -> None:
    page = client.get("/login", headers={"Accept-Language": "ar,fr;q=0.8"}).get_data(as_text=True)
    assert 'dir="rtl"' in page and "تسجيل الدخول" in page
    page = client.get("/login", headers={"Accept-Language": "fr-MA,fr;q=0.9"}).get_data(as_text=True)
    assert 'lang="fr" dir="ltr"' in page and "Connexion" in page


def test_language_switch_sets_cookie_and_user_preference(app: Any, session: Session, client: Any) -> None:
    user = make_user(session, email="officer@jisr.example", language="fr")
    session.commit()
    login(client, "officer@jisr.example")
    response = client.post("/language", data={"language": "ar", "next": "/leads"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/leads")
    assert "lang=ar" in response.headers["Set-Cookie"]
    session.expire_all()
    assert session.get(type(user), user.id).language.value == "ar"
    assert 'dir="rtl"' in client.get("/leads").get_data(as_text=True)


def test_language_switch_refuses_open_redirects(client: Any) -> None:
    response = client.post("/language", data={"language": "en", "next": "https://evil.example/"})
    assert response.headers["Location"].endswith("/leads")


def test_lead_list_uses_a_constant_number_of_queries(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    make_lead(session, owner=officer)
    session.commit()
    login(client, "officer@jisr.example")
    with count_queries(app) as few:
        client.get("/leads")
    for _ in range(30):
        make_lead(session, owner=make_user(session))
    session.commit()
    with count_queries(app) as many:
        assert client.get("/leads").status_code == 200
    assert len(many) == len(few)


def test_security_headers(client: Any) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unknown_page_is_a_404_in_the_layout(client: Any) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": "fr"})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page introuvable" in page and "navbar" in page


def test_an_id_no_row_can_have_is_a_404_page(session: Session, client: Any) -> None:
    make_user(session, Role.ADMIN, email="admin@jisr.example", language="fr")
    session.commit()
    login(client, "admin@jisr.example")
    for url in (
        "/leads/2147483648",
        "/leads/99999999999999999999/edit",
        "/organisations/0",
        "/admin/webhooks/9223372036854775808/edit",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Page introuvable" in response.get_data(as_text=True), url
    assert client.post("/leads/2147483648/stage", data={"stage-stage": "contacted"}).status_code == 404
    refused = client.patch("/api/v1/contacts/2147483648", json={"name": "Nobody"})
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"


def test_ids_and_page_numbers_no_row_can_have_never_reach_the_database(session: Session, client: Any) -> None:
    from crm.core.db import parse_id
    from crm.core.paging import page_arg
    from crm.organisations.models import Contact

    assert [parse_id(v) for v in ("12", " 7 ", "\u0663", "0", "-1", "\u00b2", "2147483648", "1e3", None)] == [
        12,
        7,
        3,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert [page_arg(v) for v in ("3", "\u00b2", "0", "99999999999999999999", None)] == [3, 1, 1, 1, 1]
    make_user(session, Role.ADMIN, email="admin@jisr.example", language="fr")
    org = make_organisation(session, "MA", name_fr="Agence de Développement du Digital")
    session.commit()
    login(client, "admin@jisr.example")
    for url in (
        "/contacts?organisation=99999999999999999999",
        "/leads?page=\u00b2&sector=\u00b2",
        "/organisations?page=\u00b2",
    ):
        assert client.get(url).status_code == 200, url
    contact = {"name": "Salma Idrissi", "language": "fr", "timezone": "Africa/Casablanca"}
    for org_id in ("99999999999999999999", "\u00b2", "abc"):
        response = client.post("/contacts/new", data={**contact, "organisation_id": org_id})
        assert response.status_code == 400, org_id
        assert "invalid-feedback" in response.get_data(as_text=True)
    assert client.post("/contacts/new", data={**contact, "organisation_id": str(org.id)}).status_code == 302
    assert [c.name for c in session.exec(select(Contact)).all()] == ["Salma Idrissi"]


def test_a_database_error_still_shows_the_error_page_in_the_layout(app: Any, session: Session, client: Any) -> None:
    def broken() -> Any:
        db.session.execute(sa.text("SELECT no_such_column FROM no_such_table"))

    app.add_url_rule("/broken", "broken", broken)
    make_user(session, email="officer@jisr.example", language="fr")
    session.commit()
    login(client, "officer@jisr.example")
    response = client.get("/broken")
    assert response.status_code == 500  # a bad statement is a bug (SQLite calls it "operational"), not an outage
    page = response.get_data(as_text=True)
    assert "Une erreur est survenue" in page and "navbar" in page


def test_outbox_is_for_admins_only(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example")
    make_user(session, email="admin@jisr.example", role=Role.ADMIN)
    session.commit()
    login(client, "officer@jisr.example")
    assert client.get("/admin/outbox").status_code == 403
    client.post("/logout")
    login(client, "admin@jisr.example")
    assert client.get("/admin/outbox").status_code == 200


def _nav_links(page: str) -> dict[str, str]:
    """The navigation's links by test id, each with its address."""
    nav = page[page.index('<nav class="navbar') : page.index("</nav>")]
    return {m[2]: m[1] for m in re.finditer(r'href="([^"]+)"[^>]*data-testid="(nav-[a-z-]+)"', nav)}


def test_the_navigation_leads_to_every_page_the_user_may_open(session: Session, client: Any) -> None:
    make_user(session, Role.VIEWER, email="viewer@jisr.example")
    make_user(session, email="officer@jisr.example")
    make_user(session, Role.ADMIN, email="admin@jisr.example")
    session.commit()
    everyone = {"nav-today", "nav-leads", "nav-pipeline", "nav-followups", "nav-organisations", "nav-contacts"}
    everyone |= {"nav-missions"}
    everyone |= {"nav-dashboard"}
    editors = everyone | {"nav-digests", "nav-imports"}
    admin_menu = {
        "nav-admin",
        "nav-users",
        "nav-webhooks",
        "nav-api-tokens",
        "nav-activity",
        "nav-outbox",
        "nav-status",
        "nav-pipeline-settings",
    }
    for email, expected in [
        ("viewer@jisr.example", everyone),
        ("officer@jisr.example", editors),
        ("admin@jisr.example", editors | admin_menu),
    ]:
        login(client, email)
        links = _nav_links(client.get("/leads").get_data(as_text=True))
        assert set(links) == expected, email
        for testid, href in links.items():
            assert client.get(href).status_code == 200, (email, testid, href)
        client.post("/logout")


def test_the_administration_menu_marks_the_page_and_works_without_javascript(session: Session, client: Any) -> None:
    make_user(session, Role.ADMIN, email="admin@jisr.example", language="fr")
    session.commit()
    login(client, "admin@jisr.example")
    page = client.get("/admin/webhooks").get_data(as_text=True)
    toggle = re.search(
        r'<a class="nav-link dropdown-toggle([^"]*)" href="([^"]+)"[^>]*data-testid="nav-admin">([^<]+)<', page
    )
    assert toggle and "active" in toggle[1] and toggle[3] == "Administration"
    assert client.get(toggle[2]).status_code == 200  # the toggle is a real link
    assert re.search(r'class="dropdown-item active" aria-current="page" href="/admin/webhooks/?"', page)
    assert 'aria-current="page"' not in page.split('data-testid="nav-admin"')[0]


def test_vendor_files_are_served_locally(client: Any) -> None:
    assert client.get("/vendor/bootstrap/css/bootstrap.rtl.min.css").status_code == 200
    assert client.get("/vendor/htmx.org/htmx.min.js").status_code == 200
    assert client.get("/vendor/bootstrap/../package.json").status_code == 404
    assert client.get("/vendor/left-pad/index.js").status_code == 404


@pytest.fixture
def strict_app(database_url: str) -> Iterator[Any]:
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True)
    from crm.core.security import limiter

    with app.app_context():
        limiter.reset()
    yield app
    app.extensions["jisr.db"][0].dispose()


def test_forms_need_a_csrf_token(strict_app: Any) -> None:
    with strict_app.app_context():
        make_user(db.session, email="officer@jisr.example")
        db.session.commit()
    client = strict_app.test_client()
    response = client.post("/login", data={"email": "officer@jisr.example", "password": PASSWORD})
    assert response.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": "officer@jisr.example", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_login_is_rate_limited(strict_app: Any) -> None:
    strict_app.config["WTF_CSRF_ENABLED"] = False
    client = strict_app.test_client()
    codes = [
        client.post("/login", data={"email": "x@jisr.example", "password": "nope-nope-nope"}).status_code
        for _ in range(8)
    ]
    assert codes == [400] * 5 + [429] * 3  # five free failures, then each try waits


def test_pager_keeps_repeated_filters(app: Any, session: Session, client: Any) -> None:
    officer = make_user(session, email="officer@jisr.example")
    for _ in range(55):
        make_lead(session, owner=officer)
    session.commit()
    login(client, "officer@jisr.example")
    page = client.get("/leads?stage=identified&stage=contacted").get_data(as_text=True)
    assert re.search(r'rel="next" href="/leads\?stage=identified&amp;stage=contacted&amp;cursor=[\w.-]+"', page)
