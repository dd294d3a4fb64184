"""Escalations to the same person in one dispatch run are one mail listing them all, sent
exactly once: re-running the dispatcher, or running it again after a crash before its
commit, sends nothing more."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.accounts.operations import set_user_supervisor
from crm.core.ledger import OutboundMail
from crm.core.time import utcnow, wall_time
from crm.followups.dispatch import dispatch_due_reminders, team_escalation_key
from crm.followups.models import FollowUp, ReminderRung, RungStatus
from tests.factories import make_followup, make_lead, make_user
from tests.spine_helpers import waking_zone
from tests.test_spine import relay_and_consume


def _team_overdue(session: Session, count: int, language: str = "fr") -> tuple[User, list[User], list[FollowUp]]:
    """``count`` follow-ups, 4 to 8 days overdue, of two officers whose supervisor is the boss."""
    zone = waking_zone()
    admin = make_user(session, Role.ADMIN, timezone=zone)
    boss = make_user(session, name="Nadia Alaoui", language=language, timezone=zone)
    officers = [make_user(session, name=name, timezone=zone) for name in ("Leïla Benjelloun", "Omar Tazi")]
    for officer in officers:
        set_user_supervisor(session, officer, boss.id, actor=admin)
    followups = []
    for n in range(count):
        owner = officers[n % 2]
        due = wall_time(utcnow() - timedelta(days=4 + n % 5), zone).replace(second=0, microsecond=0)
        lead = make_lead(session, owner=owner, title=f"Lead {n + 1} of the team")
        followups.append(make_followup(session, lead, due, zone, title=f"Team follow-up {n + 1}", actor=owner))
    session.commit()
    relay_and_consume(session)
    return boss, officers, followups


def _mails_to(session: Session, user: User) -> list[OutboundMail]:
    return list(session.exec(select(OutboundMail).where(OutboundMail.recipient_email == user.email)).all())


def test_five_overdue_followups_of_a_team_are_one_mail_to_the_supervisor_and_only_once(session: Session) -> None:
    boss, officers, followups = _team_overdue(session, 5)
    assert dispatch_due_reminders(session) == 5 + 1  # each owner's own reminders, and one escalation
    (mail,) = _mails_to(session, boss)
    assert mail.subject == "5 relances de votre équipe sont en retard"
    assert mail.dedupe_key.startswith(f"escalation:{boss.id}:")
    for followup in followups:
        assert followup.title in mail.text_body and followup.title in mail.html_body
        assert f"/leads/{followup.lead_id}" in mail.text_body
    assert all(officer.display_name in mail.text_body for officer in officers)
    assert "8 jours de retard" in mail.text_body and "4 jours de retard" in mail.text_body
    assert "/followups/link/" not in mail.text_body + mail.html_body  # the owners act, not the supervisor
    escalations = session.exec(select(ReminderRung).where(ReminderRung.rung == "escalation")).all()
    assert len(escalations) == 5 and {r.status for r in escalations} == {RungStatus.SENT}
    assert dispatch_due_reminders(session) == 0
    assert dispatch_due_reminders(session, now=utcnow() + timedelta(minutes=5)) == 0
    assert len(_mails_to(session, boss)) == 1
    assert all(len(_mails_to(session, officer)) in (2, 3) for officer in officers)


def test_a_full_batch_still_sends_a_supervisor_one_mail_for_the_whole_team(session: Session) -> None:
    """The batch limit falls in the middle of the escalations: the rest of the group joins
    the run instead of becoming a second mail in the next one."""
    boss, _officers, followups = _team_overdue(session, 6)
    owners_rungs = session.exec(select(ReminderRung).where(ReminderRung.rung != "escalation")).all()
    limit = len(owners_rungs) + 2  # the owners' reminders come first (fired earlier), then two escalations

    dispatch_due_reminders(session, limit=limit)

    (mail,) = _mails_to(session, boss)
    assert mail.subject == "6 relances de votre équipe sont en retard"
    assert all(followup.title in mail.text_body for followup in followups)
    escalations = session.exec(select(ReminderRung).where(ReminderRung.rung == "escalation")).all()
    assert {r.status for r in escalations} == {RungStatus.SENT}
    dispatch_due_reminders(session, now=utcnow() + timedelta(minutes=5))
    assert len(_mails_to(session, boss)) == 1


def test_a_dispatch_that_dies_before_its_commit_is_redone_with_the_same_key(session: Session) -> None:
    boss, _officers, _followups = _team_overdue(session, 3)
    rungs = session.exec(select(ReminderRung).where(ReminderRung.rung == "escalation")).all()
    key = team_escalation_key(boss.id or 0, rungs, utcnow(), boss.timezone)
    assert key == team_escalation_key(boss.id or 0, list(reversed(rungs)), utcnow(), boss.timezone)

    def crash(_session: Any) -> None:
        raise ConnectionError("worker killed before the commit")

    sa.event.listen(session, "before_commit", crash)
    try:
        with pytest.raises(ConnectionError):
            dispatch_due_reminders(session)
    finally:
        sa.event.remove(session, "before_commit", crash)
    session.rollback()
    assert session.exec(select(OutboundMail)).all() == []
    dispatch_due_reminders(session)
    dispatch_due_reminders(session)
    assert [m.dedupe_key for m in _mails_to(session, boss)] == [key]


def test_a_lone_escalation_stays_a_reminder_of_its_own(session: Session) -> None:
    boss, _officers, followups = _team_overdue(session, 1)
    dispatch_due_reminders(session)
    (mail,) = _mails_to(session, boss)
    assert mail.dedupe_key == f"reminder:{followups[0].id}:escalation:1:{boss.id}"
    assert mail.subject.startswith("Escalade : Team follow-up 1")


@pytest.mark.parametrize(
    ("language", "count", "subject"),
    [
        ("ar", 2, "متابعتان لفريقك متأخرتان"),
        ("ar", 3, "3 متابعات لفريقك متأخرة"),
        ("fr", 2, "2 relances de votre équipe sont en retard"),
        ("en", 2, "2 follow-ups of your team are overdue"),
    ],
)
def test_the_grouped_escalation_speaks_the_readers_language_with_its_plural(
    session: Session, language: str, count: int, subject: str
) -> None:
    boss, _officers, _followups = _team_overdue(session, count, language)
    dispatch_due_reminders(session)
    (mail,) = _mails_to(session, boss)
    assert mail.subject == subject and mail.language == language
    assert ('dir="rtl"' in mail.html_body) == (language == "ar")
    assert (
        session.exec(select(col(ReminderRung.status)).where(ReminderRung.rung == "escalation")).all()
        == [RungStatus.SENT] * count
    )
