"""Reminder mail: one follow-up's reminder (with its one-click links), and the grouped
escalation that tells one person about every overdue follow-up of their team at once.

A reminder is worded from the moment it is sent, on its reader's calendar — never from
the name of its rung — so "today" is always the due day where the reader is, and a
reminder sent the evening before a 03:00 deadline says "Due tomorrow at 03:00".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from crm.accounts.models import User
from crm.core import formats
from crm.core.db import pk
from crm.core.emails import RenderedEmail, render_email
from crm.core.time import to_local
from crm.followups.agenda import AgendaItem
from crm.followups.ladder import days_until
from crm.followups.links import DONE, DONE_NEXT_WEEK, SNOOZE, link_url
from crm.followups.models import FollowUp
from crm.leads.labels import stage_label

UPCOMING, OVERDUE, ESCALATION = "upcoming", "overdue", "escalation"


@dataclass(frozen=True)
class Wording:
    """``kind`` is upcoming, overdue or escalation; ``days`` until (upcoming) or since the
    due date, on the reader's calendar at the moment of sending."""

    kind: str
    days: int

    @property
    def notification_kind(self) -> str:
        if self.kind == UPCOMING:
            return "reminder.due" if self.days == 0 else "reminder.before"
        return f"reminder.{self.kind}"


def wording(rung: str, followup: FollowUp, reader: User, now: datetime) -> Wording:
    days = days_until(followup.due_at, now, reader.timezone)
    if rung == "escalation":
        return Wording(ESCALATION, max(1, -days))
    if now < followup.due_at:
        return Wording(UPCOMING, max(0, days))
    return Wording(OVERDUE, max(0, -days))


def local_time(instant: datetime, zone_name: str, language: str, hour_cycle: str | None = None) -> str:
    """ "03:00" (or "3:00 AM"): the hour of ``instant`` where the reader is, on their clock."""
    return formats.time_text(to_local(instant, zone_name), language, hour_cycle)


def lead_url(lead_id: int) -> str:
    return f"{current_app.config['BASE_URL']}/leads/{lead_id}"


def action_links(followup: FollowUp, reader: User, said: Wording) -> dict[str, str]:
    """The owner's one-click links (none for anyone else): done, done and the next one in a
    week, and — once the follow-up is due today or overdue — snooze to tomorrow."""
    if reader.id != followup.owner_id or said.kind == ESCALATION or not reader.can_edit():
        return {}
    links = {action: link_url(followup, pk(reader), action) for action in (DONE, DONE_NEXT_WEEK)}
    if said.kind == OVERDUE or said.days == 0:
        links[SNOOZE] = link_url(followup, pk(reader), SNOOZE)
    return links


def render_reminder(item: AgendaItem, reader: User, rung: str, now: datetime) -> tuple[RenderedEmail, Wording]:
    followup, language = item.followup, reader.language.value
    said = wording(rung, followup, reader, now)
    email = render_email(
        "reminder",
        language=language,
        timezone=reader.timezone,
        hour_cycle=reader.hour_cycle,
        kind=said.kind,
        days=said.days,
        due_time=local_time(followup.due_at, reader.timezone, language, reader.hour_cycle),
        followup=followup,
        lead=item.lead,
        owner=item.owner,
        ma_organisation=item.ma_organisation,
        us_organisation=item.us_organisation,
        stage_label=stage_label,
        links=action_links(followup, reader, said),
        lead_url=lead_url(item.lead.id or 0),
    )
    return email, said


@dataclass(frozen=True)
class OverdueLine:
    item: AgendaItem
    days: int


def render_team_escalation(reader: User, lines: Sequence[OverdueLine]) -> RenderedEmail:
    """One mail for every overdue follow-up of a run that escalates to ``reader``, most
    overdue first."""
    language = reader.language.value
    ordered = sorted(lines, key=lambda line: (-line.days, line.item.followup.due_at, line.item.followup.id or 0))
    org: Callable[[Any], str] = lambda organisation: str(organisation.name(language))  # noqa: E731
    return render_email(
        "team_escalation",
        language=language,
        timezone=reader.timezone,
        hour_cycle=reader.hour_cycle,
        lines=ordered,
        count=len(ordered),
        org=org,
        lead_url=lead_url,
    )
