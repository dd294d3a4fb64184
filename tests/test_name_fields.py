"""Names are data: wherever one is typed (a person, an organisation, a subscription, a
saved filter, a token), a line break is refused with a field error in the user's language
and nothing is written, and invisible control or bidi characters are removed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from crm.accounts.operations import create_user, update_user_preferences
from crm.api.operations import create_api_token
from crm.core.errors import ValidationError
from crm.core.events import Event
from crm.digests.operations import create_subscription
from crm.leads.operations import save_filter
from crm.organisations.models import Contact, Organisation
from crm.organisations.operations import create_contact, create_organisation
from tests.api_helpers import bearer, make_token
from tests.factories import make_organisation, make_user
from tests.web_helpers import login

BREAKS = ["\r", "\n", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"]
INVISIBLE = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b"]
INVISIBLE += ["\u200e", "\u200f", "\ufeff", "\x07", "\x1b", "\x7f"]
words = st.sampled_from(["Sara", "Amrani", "سارة", "العمراني", "Élodie", "O'Brien", "ADD", "(DGSSI)"])
with_a_break = st.tuples(
    st.lists(words, min_size=1, max_size=3).map(" ".join),
    st.sampled_from(BREAKS),
    st.lists(words, max_size=3).map(" ".join),
).map("".join)
with_invisibles = st.lists(st.one_of(words, st.sampled_from(INVISIBLE), st.just(" ")), min_size=1, max_size=12).map(
    "".join
)


def _user(session: Session, name: str) -> Any:
    return create_user(
        session, email=f"u{abs(hash(name)) % 10**9}@jisr.example", name=name, password="Correct-Horse-42"
    )


OPERATIONS: dict[str, tuple[str, Callable[[Session, Any, str], Any]]] = {
    "user": ("name", lambda s, ctx, v: _user(s, v)),
    "preferences": ("name", lambda s, ctx, v: update_user_preferences(s, ctx["officer"], name=v)),
    "organisation": ("name_en", lambda s, ctx, v: create_organisation(s, country="US", kind="company", name_en=v)),
    "acronym": ("acronym", lambda s, ctx, v: create_organisation(s, country="US", kind="company", acronym=v[:40])),
    "contact": ("name", lambda s, ctx, v: create_contact(s, organisation_id=ctx["org"].id, name=v)),
    "contact title": (
        "title",
        lambda s, ctx, v: create_contact(s, organisation_id=ctx["org"].id, name="Sara Amrani", title=v),
    ),
    "subscription": ("name", lambda s, ctx, v: create_subscription(s, name=v, email="focal@partner.example")),
    "saved filter": ("name", lambda s, ctx, v: save_filter(s, ctx["officer"], name=v[:120], query="stage=won")),
    "api token": ("name", lambda s, ctx, v: create_api_token(s, ctx["officer"], name=v[:100], scope="read")),
}


@pytest.mark.parametrize("what", sorted(OPERATIONS))
def test_a_name_with_a_line_break_is_refused_by_every_operation_and_writes_nothing(session: Session, what: str) -> None:
    field, call = OPERATIONS[what]
    ctx = {"officer": make_user(session), "org": make_organisation(session)}
    session.commit()

    @settings(max_examples=15, deadline=None, database=None, phases=[Phase.explicit, Phase.generate])
    @given(value=with_a_break)
    def check(value: str) -> None:
        events = session.exec(select(func.count()).select_from(Event)).one()
        with pytest.raises(ValidationError) as refused:
            call(session, ctx, value)
        assert field in refused.value.errors
        session.rollback()
        assert session.exec(select(func.count()).select_from(Event)).one() == events

    check()


@pytest.mark.parametrize("what", ["user", "organisation", "contact", "subscription"])
def test_invisible_and_control_characters_are_removed_from_names(session: Session, what: str) -> None:
    field, call = OPERATIONS[what]
    ctx = {"officer": make_user(session), "org": make_organisation(session)}
    session.commit()

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.filter_too_much],
    )
    @given(value=with_invisibles.filter(lambda v: any(w in v for w in ("Sara", "سارة", "ADD", "Élodie", "Amrani"))))
    def check(value: str) -> None:
        row = call(session, ctx, value)
        stored = getattr(row, field)
        assert not any(c in stored for c in INVISIBLE)
        assert stored == " ".join(stored.split())
        session.rollback()

    check()


@pytest.mark.parametrize("language,expected", [("fr", "tient sur une ligne"), ("ar", "سطر واحد")])
@pytest.mark.parametrize("value", ["Sara\r\nBcc: spy@evil.example", "ADD\u2028x"])
def test_the_pages_answer_a_line_break_in_a_name_with_a_translated_field_error(
    session: Session, client: Any, language: str, expected: str, value: str
) -> None:
    make_user(session, email="officer@jisr.example", language=language)
    org = make_organisation(session)
    session.commit()
    login(client, "officer@jisr.example")
    forms = [
        ("/organisations/new", {"country": "US", "kind": "company", "name_en": value}),
        ("/contacts/new", {"organisation_id": str(org.id), "name": value, "language": "ar", "timezone": "UTC"}),
    ]
    before = (
        session.exec(select(func.count()).select_from(Organisation)).one(),
        session.exec(select(func.count()).select_from(Contact)).one(),
    )
    for url, data in forms:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert expected in response.get_data(as_text=True), url
    after = (
        session.exec(select(func.count()).select_from(Organisation)).one(),
        session.exec(select(func.count()).select_from(Contact)).one(),
    )
    assert after == before


def test_the_api_answers_a_line_break_in_a_name_with_a_422_naming_the_field(session: Session, client: Any) -> None:
    officer = make_user(session)
    org = make_organisation(session)
    token = make_token(session, officer)
    for body in (
        {"organisation_id": org.id, "name": "Sara\nAmrani"},
        {"organisation_id": org.id, "name": "Sara Amrani", "title": "SG\r\nBcc: x@y.example"},
    ):
        response = client.post("/api/v1/contacts", json=body, headers=bearer(token, "fr"))
        assert response.status_code == 422, response.get_data(as_text=True)
        assert "ligne" in response.get_data(as_text=True)
    assert session.exec(select(func.count()).select_from(Contact)).one() == 0
