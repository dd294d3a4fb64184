"""What the digests compiled together share, loaded once for all of them.

A dispatch run compiles a chunk of subscriptions for (mostly) the same period.  The
period's stage changes and value changes (from the period before to the moment of
sending), the follow-ups falling due, the meetings held and the names
of organisations and people are the same for every one of them, so they are read once
per chunk, by period, with one query each; a subscription then needs only the ids and
figures of its own leads (one query) and the names it shows.  Subscriptions with the same
filters and the same reader visibility share one compiled digest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.events import Event
from crm.digests.by_lead import DueFollowUp as DueFollowUp
from crm.digests.by_lead import DueFollowUps, StageChanges
from crm.digests.by_lead import StageChange as StageChange
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.models import Lead, Stage
from crm.missions.models import Meeting, MeetingOrganisation, Mission
from crm.organisations.models import Organisation

SIGNED = Stage.AGREEMENT_SIGNED.value
LANGUAGES = ("ar", "fr", "en")


class AmountChange(NamedTuple):
    """What a ``lead.updated`` event changed of a lead's value: the values before it
    (``None`` in a field it left alone; the old amount itself may be ``None``)."""

    occurred_at: datetime
    value: tuple[Any, ...] | None  # (old estimated value,) when it changed
    currency: tuple[Any, ...] | None  # (old currency,) when it changed


@dataclass(frozen=True)
class MissionFacts:
    mission_id: int
    name: str
    meetings_held: int


@dataclass(frozen=True)
class HeldMeeting:
    meeting_id: int
    title: str
    starts_at: datetime
    place: str
    organisation_ids: frozenset[int]


@dataclass
class DigestFacts:
    """A per-chunk cache; reads happen on first use, each with one statement."""

    session: Session
    _changes: dict[tuple[datetime, datetime], StageChanges] = field(default_factory=dict)
    _signers: dict[tuple[datetime, datetime], frozenset[int]] = field(default_factory=dict)
    _amounts: dict[tuple[datetime, datetime], dict[int, list[AmountChange]]] = field(default_factory=dict)
    _followups: dict[tuple[datetime, datetime], DueFollowUps] = field(default_factory=dict)
    _missions: dict[tuple[frozenset[int], datetime], list[MissionFacts]] = field(default_factory=dict)
    _meetings: dict[tuple[datetime, datetime], list[HeldMeeting]] = field(default_factory=dict)
    _organisations: dict[int, Organisation] = field(default_factory=dict)
    _names: dict[int, dict[str, str]] = field(default_factory=dict)
    _users: dict[int, User | None] = field(default_factory=dict)
    _emails: dict[tuple[datetime, datetime], dict[int, tuple[int, int]]] = field(default_factory=dict)
    compiled: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def stage_changes(self, start: datetime, end: datetime) -> StageChanges:
        """Stage changes recorded in ``[start, end)``, by lead id, oldest first."""
        key = (start, end)
        if key not in self._changes:
            payload = Event.payload
            rows = self.session.execute(
                sa.select(
                    col(Event.id),
                    col(Event.lead_id),
                    col(Event.occurred_at),
                    payload["from"].as_string(),
                    payload["to"].as_string(),
                    payload["advanced"].as_boolean(),
                    col(Event.actor_id),
                )
                .where(
                    col(Event.type) == "lead.stage_changed",
                    col(Event.occurred_at) >= start,
                    col(Event.occurred_at) < end,
                    col(Event.lead_id).is_not(None),
                )
                .order_by(col(Event.lead_id), col(Event.occurred_at), col(Event.id))
                .execution_options(yield_per=2_000)
            )
            self._changes[key] = StageChanges(rows)
        return self._changes[key]

    def signers(self, start: datetime, end: datetime) -> frozenset[int]:
        """Leads with an agreement signed in ``[start, end)``."""
        key = (start, end)
        if key not in self._signers:
            self._signers[key] = self.stage_changes(start, end).signed_leads()
        return self._signers[key]

    def amount_changes(self, start: datetime, end: datetime) -> dict[int, list[AmountChange]]:
        """Changes of leads' estimated value or currency recorded in ``[start, end)``, by
        lead id, oldest first: with them a lead's value at an instant is read back from
        its value now."""
        key = (start, end)
        if key not in self._amounts:
            rows = self.session.execute(
                sa.select(col(Event.lead_id), col(Event.occurred_at), Event.payload["changes"])
                .where(
                    col(Event.type) == "lead.updated",
                    col(Event.occurred_at) >= start,
                    col(Event.occurred_at) < end,
                    col(Event.lead_id).is_not(None),
                )
                .order_by(col(Event.occurred_at), col(Event.id))
            ).all()
            by_lead: dict[int, list[AmountChange]] = {}
            for lead_id, occurred_at, changes in rows:
                if not isinstance(changes, dict):
                    continue
                value, currency = changes.get("estimated_value"), changes.get("currency")
                if value is None and currency is None:
                    continue
                by_lead.setdefault(lead_id, []).append(
                    AmountChange(
                        occurred_at,
                        (value[0],) if isinstance(value, list) else None,
                        (currency[0],) if isinstance(currency, list) else None,
                    )
                )
            self._amounts[key] = by_lead
        return self._amounts[key]

    def followups(self, before: datetime, closed_since: datetime) -> DueFollowUps:
        """Follow-ups due before ``before`` that are open, or were closed (done or
        cancelled) at or after ``closed_since`` (so were open then), by lead id, soonest
        due first.  A cancelled follow-up has no completion time: its last change is when
        it was cancelled."""
        key = (before, closed_since)
        if key not in self._followups:
            closed_at = sa.func.coalesce(col(FollowUp.completed_at), col(FollowUp.updated_at))
            rows = self.session.execute(
                sa.select(
                    col(FollowUp.id),
                    col(FollowUp.lead_id),
                    col(FollowUp.title),
                    col(FollowUp.due_at),
                    col(FollowUp.owner_id),
                    col(FollowUp.created_at),
                    col(FollowUp.status),
                    closed_at,
                )
                .where(
                    col(FollowUp.due_at) < before,
                    sa.or_(col(FollowUp.status) == FollowUpStatus.OPEN, closed_at >= closed_since),
                )
                .order_by(col(FollowUp.lead_id), col(FollowUp.due_at), col(FollowUp.id))
                .execution_options(yield_per=2_000)
            )
            self._followups[key] = DueFollowUps(
                (f_id, lead_id, title, due_at, owner_id, created_at, None if status == FollowUpStatus.OPEN else closed)
                for f_id, lead_id, title, due_at, owner_id, created_at, status, closed in rows
            )
        return self._followups[key]

    def missions(self, ids: Iterable[int], end: datetime) -> list[MissionFacts]:
        """Missions by id, with the number of their meetings held before ``end``."""
        key = (frozenset(ids), end)
        if key not in self._missions:
            held = (
                sa.select(sa.func.count())
                .select_from(Meeting)
                .where(col(Meeting.mission_id) == col(Mission.id), col(Meeting.starts_at) < end)
                .correlate(Mission)
                .scalar_subquery()
            )
            rows = (
                self.session.execute(
                    sa.select(col(Mission.id), col(Mission.name), held)
                    .where(col(Mission.id).in_(key[0]))
                    .order_by(col(Mission.starts_on), col(Mission.id))
                ).all()
                if key[0]
                else []
            )
            self._missions[key] = [MissionFacts(int(m_id), name, int(n)) for m_id, name, n in rows]
        return self._missions[key]

    def meetings(self, start: datetime, end: datetime) -> list[HeldMeeting]:
        """Meetings that started in ``[start, end)``, with the organisations that took part."""
        key = (start, end)
        if key not in self._meetings:
            rows = self.session.execute(
                sa.select(col(Meeting.id), col(Meeting.title), col(Meeting.starts_at), col(Meeting.place))
                .where(col(Meeting.starts_at) >= start, col(Meeting.starts_at) < end)
                .order_by(col(Meeting.starts_at), col(Meeting.id))
            ).all()
            taking_part: dict[int, set[int]] = {}
            if rows:
                for meeting_id, organisation_id in self.session.execute(
                    sa.select(col(MeetingOrganisation.meeting_id), col(MeetingOrganisation.organisation_id)).where(
                        col(MeetingOrganisation.meeting_id).in_([row[0] for row in rows])
                    )
                ).all():
                    taking_part.setdefault(int(meeting_id), set()).add(int(organisation_id))
            self._meetings[key] = [
                HeldMeeting(int(m_id), title, starts_at, place, frozenset(taking_part.get(int(m_id), ())))
                for m_id, title, starts_at, place in rows
            ]
        return self._meetings[key]

    def emails(self, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
        """``{lead_id: (us_organisation_id, emails)}`` for the emails of ``[start, end)``."""
        from crm.inbound.models import EmailMessage

        key = (start, end)
        if key not in self._emails:
            rows = self.session.execute(
                sa.select(col(EmailMessage.lead_id), col(Lead.us_organisation_id), sa.func.count())
                .join(Lead, col(Lead.id) == col(EmailMessage.lead_id))
                .where(col(EmailMessage.sent_at) >= start, col(EmailMessage.sent_at) < end)
                .group_by(col(EmailMessage.lead_id), col(Lead.us_organisation_id))
            ).all()
            self._emails[key] = {int(lead): (int(org), int(n)) for lead, org, n in rows}
        return self._emails[key]

    def organisations(self, ids: Iterable[int]) -> dict[int, Organisation]:
        missing = set(ids) - set(self._organisations)
        if missing:
            for org in self.session.exec(select(Organisation).where(col(Organisation.id).in_(missing))).all():
                self._organisations[int(org.id or 0)] = org
        return self._organisations

    def names(self, organisation_id: int) -> dict[str, str]:
        """An organisation's short name in each language (loaded with ``organisations``)."""
        found = self._names.get(organisation_id)
        if found is None:
            org = self._organisations[organisation_id]
            found = self._names[organisation_id] = {lang: org.short_name(lang) for lang in LANGUAGES}
        return found

    def users(self, ids: Iterable[int | None]) -> dict[int, User | None]:
        missing = {i for i in ids if i is not None} - set(self._users)
        if missing:
            found = {int(u.id or 0): u for u in self.session.exec(select(User).where(col(User.id).in_(missing))).all()}
            for user_id in missing:
                self._users[user_id] = found.get(user_id)
        return self._users

    def user(self, user_id: int | None) -> User | None:
        return self.users([user_id]).get(user_id) if user_id is not None else None
