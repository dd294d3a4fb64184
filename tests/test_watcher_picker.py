"""The lead page's "add a watcher" control: a type-ahead over the active users for the
lead's managers, carrying the first users for use without JavaScript; the others are
offered only themselves.  The server checks every submitted id against the picker's
source before any operation runs: an unknown, inactive or malformed id is a 400 in the
reader's language and nothing is written."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, func, select

from crm.core.events import Event
from crm.leads.models import LeadWatcher
from tests.factories import make_lead, make_user
from tests.web_helpers import login

HX = {"HX-Request": "true"}


def _watcher_select(page: str) -> str:
    found = re.search(r'<select[^>]*name="watcher-user_id".*?</select>', page, re.S)
    assert found is not None
    return found.group(0)


def _counts(session: Session) -> tuple[int, int]:
    events = session.exec(select(func.count()).select_from(Event).where(Event.type == "lead.watcher_added")).one()
    links = session.exec(select(func.count()).select_from(LeadWatcher)).one()
    return events, links


def test_the_lead_owner_gets_a_type_ahead_over_the_active_users(session: Session, client: Any) -> None:
    owner = make_user(session, email="owner@jisr.example")
    colleague = make_user(session, name="Karima Benali")
    gone = make_user(session, name="Gone Away")
    gone.is_active = False
    lead = make_lead(session, owner=owner)
    session.commit()
    login(client, "owner@jisr.example")
    select_ = _watcher_select(client.get(f"/leads/{lead.id}").get_data(as_text=True))
    assert 'data-picker="users"' in select_ and 'data-picker-url="/pickers/users"' in select_
    assert "multiple" not in select_ and 'size="' not in select_
    # Without JavaScript the select still carries the users (the first ones), never an inactive one.
    assert f'value="{colleague.id}"' in select_ and f'value="{gone.id}"' not in select_
    # The picker's search finds the colleague by a part of the name, accents or not.
    found = client.get("/pickers/users", query_string={"q": "karima"}).get_json()["results"]
    assert [r["value"] for r in found] == [str(colleague.id)]
    response = client.post(f"/leads/{lead.id}/watchers", data={"watcher-user_id": str(colleague.id)})
    assert response.status_code == 302
    assert session.get(LeadWatcher, (lead.id, colleague.id)) is not None


def test_ids_the_picker_could_not_offer_are_refused_before_any_write(session: Session, client: Any) -> None:
    owner = make_user(session, email="owner@jisr.example")
    gone = make_user(session, name="Gone Away")
    gone.is_active = False
    lead = make_lead(session, owner=owner)
    session.commit()
    login(client, "owner@jisr.example")
    before = _counts(session)
    for value, headers in (
        ("987654", {}),
        (str(gone.id), HX),
        ("abc", {}),
        ("99999999999999999999", HX),
    ):
        response = client.post(f"/leads/{lead.id}/watchers", data={"watcher-user_id": value}, headers=headers)
        assert response.status_code == 400, value
        page = response.get_data(as_text=True)
        feedback = re.findall(r'<div class="invalid-feedback d-block">([^<]+)</div>', page)
        expected = (
            "Choix non valide"
            if not value.isdecimal() or len(value) > 18
            else "Choisissez un utilisateur dans la liste."
        )
        assert [m for m in feedback if m.startswith(expected)], (value, feedback)
    response = client.post(f"/leads/{lead.id}/watchers", data={"watcher-user_id": ""})
    assert response.status_code == 400 and "Ce champ est obligatoire." in response.get_data(as_text=True)
    assert _counts(session) == before


def test_the_others_are_offered_only_themselves_and_refused_anyone_else(session: Session, client: Any) -> None:
    owner = make_user(session)
    me = make_user(session, email="other@jisr.example", language="ar")
    colleague = make_user(session)
    lead = make_lead(session, owner=owner)
    session.commit()
    login(client, "other@jisr.example")
    select_ = _watcher_select(client.get(f"/leads/{lead.id}").get_data(as_text=True))
    assert "data-picker" not in select_
    assert re.findall(r'value="(\d+)"', select_) == [str(me.id)]
    before = _counts(session)
    response = client.post(f"/leads/{lead.id}/watchers", data={"watcher-user_id": str(colleague.id)}, headers=HX)
    assert response.status_code == 403 and _counts(session) == before
    response = client.post(f"/leads/{lead.id}/watchers", data={"watcher-user_id": str(me.id)}, headers=HX)
    assert response.status_code == 200 and f'data-watcher-id="{me.id}"' in response.get_data(as_text=True)
