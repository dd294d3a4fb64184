"""Administrators' user pages: invitations by signed set-password link, roles, deactivation,
password resets; and nobody else gets in."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlmodel import Session, func, select

from crm.accounts.models import Role, User
from crm.core.events import Event
from tests.factories import PASSWORD, make_user
from tests.web_helpers import login


def _admin(session: Session, client: Any, language: str = "en") -> User:
    admin = make_user(session, email="admin@jisr.example", role=Role.ADMIN, language=language)
    session.commit()
    login(client, "admin@jisr.example")
    return admin


def _link(response: Any) -> str:
    page = response.get_data(as_text=True)
    url = re.search(
        r'data-testid="set-password-link" value="([^"]+)"|value="([^"]+)"[^>]*data-testid="set-password-link"', page
    )
    assert url is not None, page
    return html.unescape(url.group(1) or url.group(2)).replace("http://jisr.test", "")


def _user(session: Session, email: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.email == email)).one()


def test_only_admins_see_the_user_pages(session: Session, client: Any) -> None:
    make_user(session, email="officer@jisr.example")
    target = make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    session.commit()
    login(client, "officer@jisr.example")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    assert client.post("/admin/users/new", data={"email": "x@jisr.example"}).status_code == 403
    for action in ("deactivate", "reactivate", "reset-password", "role"):
        assert client.post(f"/admin/users/{target.id}/{action}", data={"role": "admin"}).status_code == 403
    assert _user(session, "viewer@jisr.example").role == Role.VIEWER
    client.post("/logout")
    assert client.get("/admin/users").status_code == 302


def test_invited_user_sets_a_password_with_a_one_time_link(session: Session, client: Any) -> None:
    _admin(session, client)
    response = client.post(
        "/admin/users/new",
        data={
            "email": "Nadia@Jisr.example",
            "name": "Nadia",
            "role": "officer",
            "language": "ar",
            "timezone": "Africa/Casablanca",
        },
    )
    assert response.status_code == 200
    link = _link(response)
    assert link.startswith("/set-password/")
    nadia = _user(session, "nadia@jisr.example")
    assert nadia.role == Role.OFFICER and nadia.language.value == "ar"
    client.post("/logout")
    page = client.get(link)
    assert page.status_code == 200 and "nadia@jisr.example" in page.get_data(as_text=True)
    response = client.post(link, data={"password": "Sahara-Sunrise-2024", "confirm": "Other-Sunrise-2024"})
    assert response.status_code == 400
    response = client.post(link, data={"password": "short", "confirm": "short"})
    assert response.status_code == 400
    response = client.post(link, data={"password": "Sahara-Sunrise-2024", "confirm": "Sahara-Sunrise-2024"})
    assert response.status_code == 302
    assert login(client, "nadia@jisr.example", "Sahara-Sunrise-2024").status_code == 302
    client.post("/logout")
    # The link worked once.
    assert client.get(link).status_code == 404
    assert client.get("/set-password/forged-token").status_code == 404


def test_bad_invitation_is_a_translated_400_and_writes_nothing(session: Session, client: Any) -> None:
    _admin(session, client, language="fr")
    make_user(session, email="taken@jisr.example")
    session.commit()
    before = session.exec(select(func.count()).select_from(Event)).one()
    cases = [
        ({"email": "not-an-email"}, "Cette adresse e-mail n'est pas valide."),
        ({"email": "taken@jisr.example"}, None),
        ({"timezone": "Mars/Base"}, "Fuseau horaire inconnu : Mars/Base"),
        ({"role": "emperor"}, None),
    ]
    for override, message in cases:
        data = {
            "email": "new@jisr.example",
            "name": "New",
            "role": "officer",
            "language": "fr",
            "timezone": "Africa/Casablanca",
            **override,
        }
        response = client.post("/admin/users/new", data=data)
        assert response.status_code == 400, override
        if message:
            assert message in html.unescape(response.get_data(as_text=True))
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Event)).one() == before
    assert session.exec(select(User).where(User.email == "new@jisr.example")).first() is None


def test_admin_changes_roles_but_not_their_own(session: Session, client: Any) -> None:
    admin = _admin(session, client)
    officer = make_user(session, email="officer@jisr.example")
    session.commit()
    assert client.post(f"/admin/users/{officer.id}/role", data={"role": "viewer"}).status_code == 302
    assert _user(session, "officer@jisr.example").role == Role.VIEWER
    response = client.post(f"/admin/users/{admin.id}/role", data={"role": "viewer"})
    assert response.status_code == 400
    assert "You cannot change your own role." in html.unescape(response.get_data(as_text=True))
    assert client.post(f"/admin/users/{officer.id}/role", data={"role": "king"}).status_code == 400
    assert _user(session, "admin@jisr.example").role == Role.ADMIN
    assert client.post("/admin/users/999999/role", data={"role": "viewer"}).status_code == 404


def test_deactivate_reactivate_and_reset_password(session: Session, client: Any) -> None:
    admin = _admin(session, client)
    officer = make_user(session, email="officer@jisr.example")
    session.commit()
    assert client.post(f"/admin/users/{officer.id}/deactivate").status_code == 302
    assert not _user(session, "officer@jisr.example").is_active
    assert client.post(f"/admin/users/{admin.id}/deactivate").status_code == 400
    assert _user(session, "admin@jisr.example").is_active
    client.post("/logout")
    assert login(client, "officer@jisr.example").status_code == 400
    login(client, "admin@jisr.example")
    assert client.post(f"/admin/users/{officer.id}/reactivate").status_code == 302
    client.post("/logout")
    assert login(client, "officer@jisr.example").status_code == 302
    client.post("/logout")
    login(client, "admin@jisr.example")
    response = client.post(f"/admin/users/{officer.id}/reset-password")
    assert response.status_code == 200
    link = _link(response)
    client.post("/logout")
    # The old password stops working at once.
    assert login(client, "officer@jisr.example", PASSWORD).status_code == 400
    assert (
        client.post(link, data={"password": "Atlas-Mountains-77", "confirm": "Atlas-Mountains-77"}).status_code == 302
    )
    assert login(client, "officer@jisr.example", "Atlas-Mountains-77").status_code == 302
    types = set(
        session.exec(select(Event.type).where(Event.entity_id == officer.id, Event.entity_type == "user_account")).all()
    )
    assert {"user.deactivated", "user.reactivated", "user.password_changed"} <= types


def test_users_page_lists_everyone(session: Session, client: Any) -> None:
    _admin(session, client)
    make_user(session, email="viewer@jisr.example", role=Role.VIEWER)
    session.commit()
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'data-email="viewer@jisr.example"' in page and 'data-email="admin@jisr.example"' in page


def test_admin_sets_a_supervisor_who_then_gets_escalations(session: Session, client: Any) -> None:
    from crm.accounts.operations import set_user_supervisor
    from crm.core.errors import ValidationError

    admin = make_user(session, role=Role.ADMIN, email="root@jisr.example")
    boss = make_user(session, email="boss@jisr.example")
    officer = make_user(session, email="worker@jisr.example")
    session.commit()
    login(client, "root@jisr.example")
    assert client.post(f"/admin/users/{officer.id}/supervisor", data={"supervisor_id": str(boss.id)}).status_code == 302
    session.expire_all()
    assert session.get(User, officer.id).supervisor_id == boss.id
    # A loop (the boss supervised by the officer) is refused with a message, and nothing changes.
    response = client.post(f"/admin/users/{boss.id}/supervisor", data={"supervisor_id": str(officer.id)})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(User, boss.id).supervisor_id is None
    with pytest.raises(ValidationError):
        set_user_supervisor(session, officer, officer.id, actor=admin)
    session.rollback()
    assert client.post(f"/admin/users/{officer.id}/supervisor", data={"supervisor_id": ""}).status_code == 302
    session.expire_all()
    assert session.get(User, officer.id).supervisor_id is None


def test_a_leaving_officer_hands_leads_follow_ups_and_people_over_then_stops(session: Session, client: Any) -> None:
    from datetime import UTC, datetime

    from crm.accounts.operations import set_user_supervisor
    from crm.digests.dispatch import due_subscription_ids
    from crm.digests.operations import create_subscription
    from crm.followups.models import FollowUp
    from crm.followups.operations import complete_followup
    from crm.leads.models import Lead
    from tests.factories import make_followup, make_lead

    admin = _admin(session, client)
    leaving = make_user(session, email="leaving@jisr.example")
    successor = make_user(session, email="successor@jisr.example", name="Successor")
    make_user(session, Role.VIEWER, email="viewer@jisr.example")
    junior = make_user(session, email="junior@jisr.example")
    set_user_supervisor(session, junior, leaving.id, actor=admin)
    leads = [make_lead(session, owner=leaving), make_lead(session, owner=leaving, confidential=True)]
    open_ones = [make_followup(session, lead, datetime(2030, 3, 1, 10, 0), actor=leaving) for lead in leads]
    done = make_followup(session, leads[0], datetime(2030, 4, 1, 10, 0), actor=leaving)
    complete_followup(session, done, actor=leaving)
    subscription = create_subscription(session, name="Leaving", user_id=leaving.id, actor=leaving)
    session.commit()
    monday = datetime(2030, 3, 4, 9, tzinfo=UTC)
    assert subscription.id in due_subscription_ids(session, monday)

    page = client.get(f"/admin/users/{leaving.id}/deactivate").get_data(as_text=True)
    work = re.search(r'data-testid="user-work">(.*?)</ul>', page, re.S).group(1)
    assert "2 leads they own" in work and "2 open follow-ups" in work and "1 person" in work
    viewer = session.exec(select(User).where(User.email == "viewer@jisr.example")).one()
    refused = client.post(f"/admin/users/{leaving.id}/deactivate", data={"successor_id": viewer.id})
    assert refused.status_code == 400
    assert "Choose another active officer or administrator." in refused.get_data(as_text=True)
    assert _user(session, "leaving@jisr.example").is_active

    response = client.post(f"/admin/users/{leaving.id}/deactivate", data={"successor_id": successor.id})
    assert response.status_code == 302
    session.expire_all()
    assert not _user(session, "leaving@jisr.example").is_active
    assert [session.get(Lead, lead.id).owner_id for lead in leads] == [successor.id, successor.id]
    assert [session.get(FollowUp, f.id).owner_id for f in open_ones] == [successor.id, successor.id]
    assert session.get(FollowUp, done.id).owner_id == leaving.id  # history stays as it was
    assert _user(session, "junior@jisr.example").supervisor_id == successor.id
    assert subscription.id not in due_subscription_ids(session, monday)


def test_deactivating_without_a_successor_leaves_the_work_where_it_is(session: Session, client: Any) -> None:
    from tests.factories import make_lead

    _admin(session, client)
    leaving = make_user(session, email="leaving@jisr.example")
    lead = make_lead(session, owner=leaving)
    session.commit()
    assert client.post(f"/admin/users/{leaving.id}/deactivate", data={"successor_id": ""}).status_code == 302
    session.expire_all()
    assert not _user(session, "leaving@jisr.example").is_active
    assert lead.owner_id == leaving.id
