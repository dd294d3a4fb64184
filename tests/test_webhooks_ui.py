"""The administrators' webhook pages, in Arabic, French and English; nobody else gets in,
and a signing secret is shown only right after it is made or when an admin asks."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from crm.accounts.models import Role
from crm.core.events import Event
from crm.webhooks.models import DisabledReason, WebhookDelivery, WebhookEndpoint
from crm.webhooks.operations import create_webhook_endpoint, disable_webhook_endpoint
from tests.factories import make_user
from tests.web_helpers import login
from tests.webhook_helpers import relay_and_consume

PUBLIC_URL = "https://93.184.215.14/jisr/events"


def _admin(session: Session, client: Any, language: str = "en") -> Any:
    admin = make_user(session, Role.ADMIN, email="admin@jisr.example", language=language)
    session.commit()
    login(client, "admin@jisr.example")
    return admin


def _endpoint(session: Session, **kwargs: Any) -> WebhookEndpoint:
    kwargs.setdefault("event_types", ["lead.stage_changed", "followup.done"])
    endpoint = create_webhook_endpoint(session, url=PUBLIC_URL, **kwargs)
    session.commit()
    return endpoint


def _shown_secret(response: Any) -> str:
    page = response.get_data(as_text=True)
    found = re.search(r'value="(whsec_[^"]+)"[^>]*data-testid="webhook-secret"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def _webhook_events(session: Session) -> list[str]:
    session.expire_all()
    return list(session.exec(select(Event.type).where(col(Event.type).startswith("webhook.")).order_by(Event.id)))


def test_officers_and_viewers_get_403_on_every_webhook_page(session: Session, client: Any) -> None:
    endpoint = _endpoint(session)
    secret = endpoint.secret
    make_user(session, Role.OFFICER, email="officer@jisr.example")
    make_user(session, Role.VIEWER, email="viewer@jisr.example")
    session.commit()
    base = f"/admin/webhooks/{endpoint.id}"
    pages = ["/admin/webhooks", "/admin/webhooks/new", base, f"{base}/edit", f"{base}/delete"]
    actions = ["/admin/webhooks/new", f"{base}/edit", f"{base}/delete"] + [
        f"{base}/{a}" for a in ("disable", "enable", "rotate", "secret", "ping", "redeliver")
    ]
    for email in ("officer@jisr.example", "viewer@jisr.example"):
        login(client, email)
        for url in pages:
            response = client.get(url)
            assert response.status_code == 403, url
            assert secret not in response.get_data(as_text=True)
        for url in actions:
            response = client.post(url, data={"url": "https://93.184.215.14/x", "event_types": ["*"]})
            assert response.status_code == 403, url
            assert secret not in response.get_data(as_text=True)
        client.post("/logout")
    assert client.get("/admin/webhooks").status_code == 302  # anonymous: to the login page
    session.expire_all()
    kept = session.get(WebhookEndpoint, endpoint.id)
    assert kept is not None and kept.is_active and kept.secret == secret and kept.url == PUBLIC_URL
    assert _webhook_events(session) == ["webhook.endpoint_created"]


LANGUAGES = {
    # language: (page heading, the refusal's reason, a word of the nav)
    "ar": ("تسجيل نقطة نهاية", "هذا الجهاز نفسه (عنوان استرجاع)", "خطافات الويب"),
    "fr": ("Ajouter un point de terminaison", "cette machine (une adresse de bouclage)", "Webhooks"),
    "en": ("Register an endpoint", "this machine (a loopback address)", "Webhooks"),
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_admin_registers_an_endpoint_in_their_language(session: Session, client: Any, language: str) -> None:
    heading, loopback, nav = LANGUAGES[language]
    _admin(session, client, language)
    form = client.get("/admin/webhooks/new").get_data(as_text=True)
    assert heading in form and nav in form and f'lang="{language}"' in form
    assert ('dir="rtl"' in form) == (language == "ar")

    refused = client.post(
        "/admin/webhooks/new", data={"url": "https://0177.0.0.1/hook", "all_events": "y", "description": "Test"}
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert loopback in page and "0177.0.0.1" in page and "127.0.0.1" in page
    nothing = client.post("/admin/webhooks/new", data={"url": PUBLIC_URL})
    assert nothing.status_code == 400  # no event type chosen
    assert session.exec(select(func.count()).select_from(WebhookEndpoint)).one() == 0

    created = client.post(
        "/admin/webhooks/new",
        data={"url": PUBLIC_URL, "description": "وزارة / Ministère", "event_types": ["lead.stage_changed"]},
    )
    assert created.status_code == 200
    secret = _shown_secret(created)
    endpoint = session.exec(select(WebhookEndpoint)).one()
    assert (endpoint.secret, endpoint.event_types, endpoint.include_confidential) == (
        secret,
        ["lead.stage_changed"],
        False,
    )
    for url in ("/admin/webhooks", f"/admin/webhooks/{endpoint.id}", f"/admin/webhooks/{endpoint.id}/edit"):
        response = client.get(url)
        assert response.status_code == 200 and PUBLIC_URL in response.get_data(as_text=True)
        assert secret not in response.get_data(as_text=True), url
    event = session.exec(select(Event).where(Event.type == "webhook.endpoint_created")).one()
    assert secret not in str(event.payload) and event.payload["url"] == PUBLIC_URL


def test_admin_manages_an_endpoint_from_secret_to_deletion(session: Session, client: Any) -> None:
    """Show the secret again (recorded), rotate it, edit, disable, ping while disabled
    (that endpoint alone), enable, see Jisr's own disabling, delete — in French."""
    admin = _admin(session, client, "fr")
    endpoint = _endpoint(session, actor=admin)
    other = _endpoint(session, actor=admin)
    base = f"/admin/webhooks/{endpoint.id}"
    first = endpoint.secret
    revealed = client.post(f"{base}/secret")
    assert revealed.status_code == 200 and _shown_secret(revealed) == first
    assert "consigné dans le journal des événements" in revealed.get_data(as_text=True)
    rotated = client.post(f"{base}/rotate")
    second = _shown_secret(rotated)
    assert second != first and first not in rotated.get_data(as_text=True)
    assert "24 prochaines heures" in rotated.get_data(as_text=True)
    detail = client.get(base).get_data(as_text=True)
    assert first not in detail and second not in detail
    revealed_by = session.exec(select(Event.actor_id).where(Event.type == "webhook.secret_revealed")).one()
    assert revealed_by == admin.id

    refused = client.post(f"{base}/edit", data={"url": "https://10.0.0.8/hook", "all_events": "y"})
    assert refused.status_code == 400 and "un réseau privé" in refused.get_data(as_text=True)
    saved = client.post(
        f"{base}/edit",
        data={"url": PUBLIC_URL, "description": "CRM du ministère", "all_events": "y", "include_confidential": "y"},
    )
    assert saved.status_code == 302
    session.expire_all()
    endpoint = session.get(WebhookEndpoint, endpoint.id)
    assert (endpoint.description, endpoint.event_types, endpoint.include_confidential) == (
        "CRM du ministère",
        ["*"],
        True,
    )

    assert client.post(f"{base}/disable").status_code == 302
    session.expire_all()
    assert not session.get(WebhookEndpoint, endpoint.id).is_active
    assert "Désactivé par un administrateur" in client.get(base).get_data(as_text=True)
    assert client.post(f"{base}/ping").status_code == 302
    relay_and_consume(session)
    log = client.get(base).get_data(as_text=True)
    assert log.count('data-testid="webhook-delivery"') == 1 and "Événement de test (ping)" in log
    assert 'data-testid="webhook-delivery"' not in client.get(f"/admin/webhooks/{other.id}").get_data(as_text=True)
    assert client.post(f"{base}/enable").status_code == 302
    session.expire_all()
    assert session.get(WebhookEndpoint, endpoint.id).is_active

    # Disabled by Jisr after failures: the admins are told, with a link to the endpoint.
    disable_webhook_endpoint(session, endpoint, reason=DisabledReason.FAILING, details={"consecutive_failures": 5})
    session.commit()
    relay_and_consume(session)
    notices = client.get("/notifications").get_data(as_text=True)
    assert "a désactivé le point de terminaison" in notices and f'href="{base}"' in notices
    assert "Désactivé après des échecs répétés" in client.get("/admin/webhooks").get_data(as_text=True)

    assert client.get(f"{base}/delete").status_code == 200
    assert client.post(f"{base}/delete").status_code == 302
    session.expire_all()
    assert session.get(WebhookEndpoint, endpoint.id) is None
    assert session.exec(select(func.count()).select_from(WebhookDelivery)).one() == 0
    assert client.get(base).status_code == 404
    assert _webhook_events(session) == [
        "webhook.endpoint_created",
        "webhook.endpoint_created",
        "webhook.secret_revealed",
        "webhook.secret_rotated",
        "webhook.endpoint_updated",
        "webhook.endpoint_disabled",
        "webhook.ping",
        "webhook.endpoint_enabled",
        "webhook.endpoint_disabled",
        "webhook.endpoint_deleted",
    ]
