"""The one-click links of reminder mail: they work once, only for the follow-up as it was
mailed, only for its owner, never on a GET, and are refused when forged or expired; and a
reminder is worded from the day it is sent on."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.core.events import Event
from crm.core.ledger import OutboundMail
from crm.core.time import to_local, to_utc, utcnow, wall_time
from crm.followups.dispatch import dispatch_due_reminders
from crm.followups.links import DONE, DONE_NEXT_WEEK, SALTS, SNOOZE, link_token
from crm.followups.models import FollowUp, FollowUpStatus, ReminderLinkUse
from crm.followups.operations import cancel_followup, complete_followup, reassign_followup, reschedule_followup
from crm.leads.models import Lead
from tests.factories import make_followup, make_lead, make_user
from tests.spine_helpers import waking_zone
from tests.test_spine import relay_and_consume

LABELS = {DONE: "Fait", DONE_NEXT_WEEK: "Fait, la suivante dans une semaine", SNOOZE: "Reporter à demain"}


def _overdue(session: Session, *, language: str = "fr", days: int = 2) -> tuple[User, FollowUp]:
    """An officer's follow-up ``days`` overdue, in a zone where it is daytime now."""
    zone = waking_zone()
    owner = make_user(session, language=language, timezone=zone)
    lead = make_lead(session, owner=owner, title="Cloud skills academy")
    due = wall_time(utcnow() - timedelta(days=days), zone).replace(second=0, microsecond=0)
    followup = make_followup(session, lead, due, zone, title="Send the curriculum", actor=owner)
    session.commit()
    return owner, followup


def _state(session: Session) -> tuple[Any, ...]:
    """What a link could change: follow-ups, events, link uses."""
    session.expire_all()
    followups = session.exec(select(FollowUp).order_by(col(FollowUp.id))).all()
    return (
        [(f.id, f.status, f.due_version, f.due_local, f.owner_id) for f in followups],
        session.exec(select(func.count()).select_from(Event)).one(),
        session.exec(select(func.count()).select_from(ReminderLinkUse)).one(),
    )


def _page_state(response: Any) -> str:
    found = re.search(r'data-testid="reminder-link" data-state="([\w-]+)"', response.get_data(as_text=True))
    return found.group(1) if found else ""


def _path(url: str) -> str:
    return urlsplit(url).path


def test_the_reminder_carries_links_that_each_act_once(session: Session, client: Any) -> None:
    """From the mail itself: each link's GET changes nothing; its POST acts as the owner, with
    the follow-up's events; a second use (GET or POST) changes nothing and says so."""
    owner, followup = _overdue(session)
    relay_and_consume(session)
    assert dispatch_due_reminders(session) == 1
    mail = session.exec(select(OutboundMail)).one()
    links = {
        action: re.search(rf"^{re.escape(label)}\u00a0: (\S+)$", mail.text_body, re.M).group(1)  # type: ignore[union-attr]
        for action, label in LABELS.items()
    }
    assert len(set(links.values())) == 3 and all("/followups/link/" in url for url in links.values())
    assert mail.html_body.count("/followups/link/") == 3
    for action in (SNOOZE, DONE_NEXT_WEEK, DONE):  # snooze first: the others then find it changed
        path = _path(links[action])
        before = _state(session)
        page = client.get(path)
        assert page.status_code == (200 if action == SNOOZE else 409) and _state(session) == before, action
        if action == SNOOZE:
            assert _page_state(page) == "confirm" and "Reporter cette relance au" in page.get_data(as_text=True)
            acted = client.post(path)
            assert acted.status_code == 200 and _page_state(acted) == "acted"
            session.expire_all()
            moved = session.get(FollowUp, followup.id)
            tomorrow = to_local(utcnow(), moved.timezone).date() + timedelta(days=1)
            assert moved.due_version == 2 and moved.due_local.date() == tomorrow
            assert moved.due_local.time() == followup.due_local.time()
            event = session.exec(select(Event).where(Event.type == "followup.rescheduled")).one()
            assert event.actor_id == owner.id
            again = _state(session)
            for method in ("POST", "GET"):
                second = client.open(path, method=method)
                assert second.status_code == 200 and _page_state(second) == "used", method
                assert "Ce lien a déjà servi, le" in second.get_data(as_text=True)
                assert _state(session) == again
        else:  # the follow-up was rescheduled by the snooze: these links are of the old date
            refused = client.post(path)
            assert refused.status_code == 409 and _page_state(refused) == "changed"
            assert "replanifiée après l'envoi du rappel" in refused.get_data(as_text=True)
            assert f"/leads/{followup.lead_id}" in refused.get_data(as_text=True)
            assert _state(session) == before


@pytest.mark.parametrize("action", [DONE, DONE_NEXT_WEEK])
def test_done_and_done_with_the_next_in_a_week(session: Session, client: Any, action: str) -> None:
    owner, followup = _overdue(session, days=3)
    path = f"/followups/link/{link_token(followup, owner.id, action)}"
    assert client.get(path).status_code == 200
    assert session.exec(select(func.count()).select_from(FollowUp)).one() == 1
    response = client.post(path)
    assert response.status_code == 200 and _page_state(response) == "acted"
    session.expire_all()
    assert session.get(FollowUp, followup.id).status == FollowUpStatus.DONE
    done = session.exec(select(Event).where(Event.type == "followup.done")).one()
    assert done.actor_id == owner.id
    others = session.exec(select(FollowUp).where(FollowUp.id != followup.id)).all()
    if action == DONE:
        assert others == []
    else:
        (nxt,) = others
        in_a_week = to_local(utcnow(), followup.timezone).date() + timedelta(days=7)
        assert (nxt.status, nxt.owner_id, nxt.title, nxt.timezone) == (
            FollowUpStatus.OPEN,
            owner.id,
            followup.title,
            followup.timezone,
        )
        assert nxt.due_local == datetime.combine(in_a_week, followup.due_local.time())
        assert "la suivante est prévue le" in response.get_data(as_text=True)
    before = _state(session)
    second = client.post(path)
    assert second.status_code == 200 and _page_state(second) == "used" and _state(session) == before


def _change(session: Session, followup: FollowUp, owner: User, how: str) -> str:
    if how == "completed":
        complete_followup(session, followup, actor=owner)
        return "marquée comme faite après l'envoi du rappel"
    if how == "cancelled":
        cancel_followup(session, followup, actor=owner)
        return "annulée après l'envoi du rappel"
    if how == "rescheduled":
        reschedule_followup(session, followup, due_local=followup.due_local + timedelta(days=9), actor=owner)
        return "replanifiée après l'envoi du rappel"
    colleague = make_user(session, name="Karim Berrada")
    reassign_followup(session, followup, colleague.id, actor=owner)
    return "confiée à Karim Berrada après l'envoi du rappel"


@pytest.mark.parametrize("how", ["completed", "cancelled", "rescheduled", "reassigned"])
@pytest.mark.parametrize("action", [DONE, SNOOZE])
def test_a_link_of_a_followup_that_changed_meanwhile_says_so_and_changes_nothing(
    session: Session, client: Any, how: str, action: str
) -> None:
    owner, followup = _overdue(session)
    path = f"/followups/link/{link_token(followup, owner.id, action)}"
    said = _change(session, followup, owner, how)
    session.commit()
    before = _state(session)
    for method in ("GET", "POST"):
        response = client.open(path, method=method)
        page = response.get_data(as_text=True)
        assert response.status_code == 409 and _page_state(response) == "changed", (method, response.status_code)
        assert said in page and "Rien n'a été modifié" in page and f"/leads/{followup.lead_id}" in page
        assert 'role="alert"' in page
        assert _state(session) == before


def _forgeries(token: str, followup: FollowUp, owner: User, secret: str) -> dict[str, str]:
    payload = {"f": followup.id, "v": followup.due_version, "r": owner.id}
    body, signature = token.rsplit(".", 1)
    other = URLSafeTimedSerializer("another-secret-key-of-at-least-32-chars", salt=SALTS[DONE])
    another_followup = URLSafeTimedSerializer(secret, salt="x").dumps({**payload, "f": (followup.id or 0) + 1})
    return {
        "signature changed": f"{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "payload changed": another_followup.split(".")[0] + token[token.index(".") :],
        "another key": other.dumps(payload),
        "another salt (the set-password links')": URLSafeTimedSerializer(secret, salt="jisr.set-password").dumps(
            payload
        ),
        "unsigned": "eyJmIjoxLCJ2IjoxLCJyIjoxfQ",
        "garbage": "not-a-token",
    }


def test_forged_links_are_refused_and_change_nothing(app: Any, session: Session, client: Any) -> None:
    owner, followup = _overdue(session)
    token = link_token(followup, owner.id, DONE)
    before = _state(session)
    for label, forged in _forgeries(token, followup, owner, app.config["SECRET_KEY"]).items():
        assert forged != token
        for method in ("GET", "POST"):
            response = client.open(f"/followups/link/{forged}", method=method)
            assert response.status_code == 404 and _page_state(response) == "invalid", (label, method)
            assert "n'est pas valide" in response.get_data(as_text=True) or "is not valid" in response.get_data(
                as_text=True
            )
    assert _state(session) == before
    assert client.post(f"/followups/link/{token}").status_code == 200  # the genuine one still works


def test_an_expired_link_is_refused_with_a_clear_message(session: Session, client: Any) -> None:
    owner, followup = _overdue(session)
    token = link_token(followup, owner.id, DONE)
    before = _state(session)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=13, hours=23), tick=False):
        assert _page_state(client.get(f"/followups/link/{token}")) == "confirm"
    with time_machine.travel(datetime.now(UTC) + timedelta(days=14, minutes=1), tick=False):
        for method in ("GET", "POST"):
            response = client.open(f"/followups/link/{token}", method=method)
            page = response.get_data(as_text=True)
            assert response.status_code == 410 and _page_state(response) == "expired", method
            assert "Ce lien a expiré : les liens d'un rappel sont valables 14 jours" in page
            assert f"/leads/{followup.lead_id}" in page
    assert _state(session) == before


@pytest.mark.parametrize("who", ["viewer", "another officer", "an admin who is not the owner"])
def test_a_link_made_out_to_someone_else_cannot_act_on_the_owners_followup(
    session: Session, client: Any, who: str
) -> None:
    """Links are only mailed to the owner; one signed for anybody else is refused anyway."""
    _owner, followup = _overdue(session)
    role = {"viewer": Role.VIEWER, "another officer": Role.OFFICER}.get(who, Role.ADMIN)
    stranger = make_user(session, role)
    session.commit()
    before = _state(session)
    for action in (DONE, DONE_NEXT_WEEK, SNOOZE):
        path = f"/followups/link/{link_token(followup, stranger.id, action)}"
        for method in ("GET", "POST"):
            response = client.open(path, method=method)
            assert response.status_code in (403, 409), (who, action, method, response.status_code)
            assert 'role="alert"' in response.get_data(as_text=True)
    assert _state(session) == before


def test_a_link_of_a_confidential_lead_the_owner_can_no_longer_see_cannot_act(session: Session, client: Any) -> None:
    owner, followup = _overdue(session)
    lead = session.get(Lead, followup.lead_id)
    boss = make_user(session, Role.ADMIN)
    from crm.leads.operations import update_lead

    update_lead(session, lead, confidential=True, owner_id=boss.id, actor=boss)
    session.commit()
    before = _state(session)
    response = client.post(f"/followups/link/{link_token(followup, owner.id, DONE)}")
    assert response.status_code == 403 and "Send the curriculum" not in response.get_data(as_text=True)
    assert _state(session) == before


def test_the_page_speaks_the_owners_language_whatever_the_browser_says(session: Session, client: Any) -> None:
    owner, followup = _overdue(session, language="ar")
    page = client.get(f"/followups/link/{link_token(followup, owner.id, SNOOZE)}", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'dir="rtl"' in text and "تأجيل هذه المتابعة إلى" in text


def test_an_escalation_carries_no_action_links(session: Session) -> None:
    zone = waking_zone()
    boss = make_user(session, Role.ADMIN, timezone=zone)
    owner, followup = _overdue(session, days=6)
    owner.supervisor_id = boss.id
    from crm.core.events import record_event

    record_event(session, "user.updated", owner, payload={"changes": {"supervisor_id": [None, boss.id]}})
    session.commit()
    relay_and_consume(session)
    dispatch_due_reminders(session)
    mails = {m.recipient_email: m for m in session.exec(select(OutboundMail)).all()}
    assert "/followups/link/" in mails[owner.email].text_body
    assert "/followups/link/" not in mails[boss.email].text_body + mails[boss.email].html_body
    assert f"/leads/{followup.lead_id}" in mails[boss.email].text_body


@pytest.mark.parametrize(
    ("due", "dispatched_at", "subject"),
    [
        # Due at 03:00: reminded at 20:00 the evening before, as "tomorrow at 03:00".
        (datetime(2026, 6, 10, 3, 0), datetime(2026, 6, 9, 20, 0), "Échéance demain à 03:00 : "),
        # Due at 00:30 (just after midnight): the same.
        (datetime(2026, 6, 10, 0, 30), datetime(2026, 6, 9, 20, 0), "Échéance demain à 00:30 : "),
        # Due at 08:30: at 07:00 that morning, as "today at 08:30".
        (datetime(2026, 6, 10, 8, 30), datetime(2026, 6, 10, 7, 0), "Échéance aujourd'hui à 08:30 : "),
        # Due at 23:30: at the 09:00 send hour that day.
        (datetime(2026, 6, 10, 23, 30), datetime(2026, 6, 10, 9, 0), "Échéance aujourd'hui à 23:30 : "),
        # The evening-before reminder sent late, after midnight (a dispatcher that was down): "today".
        (datetime(2026, 6, 10, 3, 0), datetime(2026, 6, 10, 0, 20), "Échéance aujourd'hui à 03:00 : "),
    ],
)
def test_the_due_reminder_is_worded_from_the_day_it_is_sent_on(
    session: Session, due: datetime, dispatched_at: datetime, subject: str
) -> None:
    zone = "Africa/Casablanca"
    with time_machine.travel(to_utc(datetime(2026, 6, 1, 12, 0), zone), tick=False):
        owner = make_user(session, language="fr", timezone=zone)
        make_followup(session, make_lead(session, owner=owner), due, zone, title="Sign", actor=owner)
        session.commit()
        relay_and_consume(session)
    if dispatched_at.hour:  # not the case of the dispatcher that was down
        with time_machine.travel(to_utc(dispatched_at, zone) - timedelta(minutes=1), tick=False):
            dispatch_due_reminders(session)
            assert not [k for k in session.exec(select(OutboundMail.dedupe_key)).all() if ":due:" in k]
    with time_machine.travel(to_utc(dispatched_at, zone), tick=False):
        dispatch_due_reminders(session)
    keys = {m.dedupe_key: m.subject for m in session.exec(select(OutboundMail)).all()}
    due_mail = next(s for k, s in keys.items() if ":due:" in k)
    assert due_mail.startswith(subject), keys


def test_two_uses_of_a_link_at_the_same_moment_act_once(app: Any, session: Session) -> None:
    owner, followup = _overdue(session)
    path = f"/followups/link/{link_token(followup, owner.id, DONE_NEXT_WEEK)}"
    answers: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def use() -> None:
        try:
            client = app.test_client()
            start.wait(10)
            answers.append(_page_state(client.post(path)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and sorted(answers) == ["acted", "used"], (answers, errors)
    session.expire_all()
    assert session.exec(select(func.count()).select_from(FollowUp)).one() == 2  # one next follow-up, not two
    assert len(session.exec(select(Event).where(Event.type == "followup.done")).all()) == 1
    assert session.exec(select(func.count()).select_from(ReminderLinkUse)).one() == 1
