"""Every error page speaks the reader's language: the logged-in user's, else the language
cookie's, else the browser's; Arabic right to left.  Some errors come before the request's
user is known (the CSRF check refusing a form or finding its body too large, the rate
limiter's 429), so each status is produced the way it happens in use.  The JSON API keeps
answering problem documents, in the caller's Accept-Language, else the token owner's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import abort
from flask_babel import force_locale

from crm.api.problems import TITLES as API_TITLES
from crm.core.db import db
from crm.core.i18n import LANGUAGES
from crm.core.web import ERROR_TEXTS, ERROR_TITLES
from tests.api_helpers import make_token
from tests.conftest import make_test_app
from tests.factories import PASSWORD, make_user

STATUSES = ["400", "403", "404", "405", "413", "429", "500", "csrf"]
CSRF_TEXT = "The form has expired. Reload the page and try again."


def _broken() -> Any:
    raise RuntimeError("a bug")


@pytest.fixture
def error_app(database_url: str) -> Iterator[Any]:
    app = make_test_app(
        database_url,
        WTF_CSRF_ENABLED=True,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        MAX_CONTENT_LENGTH=4096,
        API_RATE_LIMIT_PER_MINUTE=2,
    )
    app.add_url_rule("/refused/<int:code>", "refused", lambda code: abort(code))
    app.add_url_rule("/broken", "broken", _broken)
    from crm.core.security import limiter

    with app.app_context():
        limiter.reset()
    yield app
    app.extensions["jisr.db"][0].dispose()


def _csrf_token(client: Any) -> str:
    page = client.get("/no-such-page").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)  # type: ignore[union-attr]


def _produce(client: Any, status: str, headers: dict[str, str]) -> Any:
    """The error, caused as it is in use."""
    if status in ("400", "403"):
        return client.get(f"/refused/{status}", headers=headers)
    if status == "404":
        return client.get("/no-such-page", headers=headers)
    if status == "405":
        return client.get("/logout", headers=headers)  # logging out is a POST
    if status == "413":  # the CSRF check reads the form before the view (and the user) is reached
        return client.post("/language", data={"language": "ar", "next": "x" * 8000}, headers=headers)
    if status == "429":  # the rate limiter's own check, before anything else of the request
        token = _csrf_token(client)
        for _ in range(6):
            answer = client.post(
                "/password/forgotten", data={"email": "a@jisr.example", "csrf_token": token}, headers=headers
            )
        return answer
    if status == "500":
        return client.get("/broken", headers=headers)
    return client.post("/language", data={"language": "ar"}, headers=headers)  # no CSRF token


def _expected(app: Any, status: str, language: str) -> tuple[str, str]:
    code = 400 if status == "csrf" else int(status)
    with app.test_request_context(), force_locale(language):
        text = CSRF_TEXT if status == "csrf" else ERROR_TEXTS[code]
        from crm.core.i18n import gettext

        return str(ERROR_TITLES[code]), gettext(text) if isinstance(text, str) else str(text)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("source", ["user", "cookie", "browser"])
def test_every_error_page_is_in_the_readers_language(error_app: Any, status: str, language: str, source: str) -> None:
    others = [other for other in LANGUAGES if other != language]
    client = error_app.test_client()
    headers: dict[str, str] = {}
    if source == "user":  # the user's choice beats a cookie and the browser saying otherwise
        with error_app.app_context():
            make_user(db.session, email="reader@jisr.example", language=language)
            db.session.commit()
        login = client.post(
            "/login", data={"email": "reader@jisr.example", "password": PASSWORD, "csrf_token": _csrf_token(client)}
        )
        assert login.status_code == 302
        client.set_cookie("lang", others[0], domain="jisr.test")
        headers["Accept-Language"] = others[1]
    elif source == "cookie":
        client.set_cookie("lang", language, domain="jisr.test")
        headers["Accept-Language"] = f"{others[0]},{others[1]};q=0.5"
    else:
        headers["Accept-Language"] = f"{language},{others[0]};q=0.5"

    response = _produce(client, status, headers)

    assert response.status_code == (400 if status == "csrf" else int(status))
    page = response.get_data(as_text=True)
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in page
    title, text = _expected(error_app, status, language)
    assert f">{title}</h1>" in page and text in page
    for other in others:  # not a word of the page's message in another language
        other_title, other_text = _expected(error_app, status, other)
        assert other_title not in page and other_text not in page


API_STATUSES = {
    "404": lambda client, headers: client.get("/api/v1/no-such-thing", headers=headers),
    "405": lambda client, headers: client.delete("/api/v1/me", headers=headers),
    "413": lambda client, headers: client.post("/api/v1/leads", data="x" * 8000, headers=headers),
    "429": lambda client, headers: [client.get("/api/v1/me", headers=headers) for _ in range(3)][-1],
}


@pytest.mark.parametrize("status", sorted(API_STATUSES))
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("source", ["accept_language", "token_owner"])
def test_api_errors_speak_the_callers_language_never_the_web_sessions(
    error_app: Any, status: str, language: str, source: str
) -> None:
    others = [other for other in LANGUAGES if other != language]
    client = error_app.test_client()
    with error_app.app_context():
        owner_language = language if source == "token_owner" else others[0]
        owner = make_user(db.session, email="owner@jisr.example", language=owner_language)
        token = make_token(db.session, owner)
        make_user(db.session, email="browser@jisr.example", language=others[1])
        db.session.commit()
    login = client.post(
        "/login", data={"email": "browser@jisr.example", "password": PASSWORD, "csrf_token": _csrf_token(client)}
    )
    assert login.status_code == 302  # a web session in another language, which the API ignores
    client.set_cookie("lang", others[1], domain="jisr.test")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if source == "accept_language":
        headers["Accept-Language"] = language

    response = API_STATUSES[status](client, headers)

    assert response.status_code == int(status)
    assert response.content_type == "application/problem+json"
    with error_app.test_request_context():
        titles = {}
        for each in LANGUAGES:
            with force_locale(each):
                titles[each] = str(API_TITLES[int(status)])
    assert response.get_json()["title"] == titles[language]
