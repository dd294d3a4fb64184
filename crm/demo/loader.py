"""Loading the demo data through the operations functions (so every change records its
event), looking each row up by its natural key first so that a second run changes
nothing.  The caller commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlmodel import Session, col, func, select, update

from crm.accounts.models import User
from crm.accounts.operations import create_user, find_user_by_email
from crm.core.db import pk
from crm.core.events import Event
from crm.core.time import ensure_utc, utcnow, wall_time
from crm.demo.data import (
    ADMIN_EMAIL,
    CONTACTS,
    DEMO_PASSWORD,
    MEETINGS,
    MISSION,
    ORGANISATIONS,
    SECTORS,
    USERS,
    OrganisationSpec,
)
from crm.demo.lead_data import LEADS, ActivitySpec, FollowUpSpec, LeadSpec
from crm.followups.models import FollowUp
from crm.followups.operations import complete_followup, schedule_followup
from crm.leads.models import Activity, Lead
from crm.leads.operations import add_watcher, create_lead, log_activity, move_lead_to_stage
from crm.missions.models import Meeting, Mission
from crm.missions.operations import create_mission, log_meeting
from crm.missions.plan import leg_rows
from crm.organisations.models import Contact, Organisation
from crm.organisations.operations import create_contact, create_organisation
from crm.reference.models import Sector
from crm.reference.operations import create_sector

# (key, singular, plural) in the order the summary names them.
KINDS: tuple[tuple[str, str, str], ...] = (
    ("sectors", "sector", "sectors"),
    ("organisations", "organisation", "organisations"),
    ("contacts", "contact", "contacts"),
    ("users", "user", "users"),
    ("missions", "mission", "missions"),
    ("meetings", "meeting", "meetings"),
    ("leads", "lead", "leads"),
    ("watchers", "watcher", "watchers"),
    ("activities", "activity", "activities"),
    ("followups", "follow-up", "follow-ups"),
)


def _counted(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


@dataclass
class DemoReport:
    """What a load found: per kind of row, how many it created and how many were there."""

    created: dict[str, int] = field(default_factory=lambda: {key: 0 for key, _, _ in KINDS})
    present: dict[str, int] = field(default_factory=lambda: {key: 0 for key, _, _ in KINDS})

    def add(self, kind: str, *, created: bool) -> None:
        bucket = self.created if created else self.present
        bucket[kind] = bucket.get(kind, 0) + 1

    def count(self, kind: str) -> int:
        """How many rows of ``kind`` the demo has now (created or already present)."""
        return self.created.get(kind, 0) + self.present.get(kind, 0)

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    @property
    def total_present(self) -> int:
        return sum(self.present.values())

    def summary(self) -> str:
        totals = ", ".join(_counted(self.count(key), one, many) for key, one, many in KINDS)
        lines = [f"Demo data: {totals} (created {self.total_created}, already present {self.total_present})."]
        if self.total_created == 0:
            lines.append("Nothing new: the demo data was already loaded.")
        elif self.total_present == 0:
            lines.append("All of it was created now.")
        else:
            new = ", ".join(_counted(self.created[key], one, many) for key, one, many in KINDS if self.created.get(key))
            lines.append(f"Created now: {new}.")
        return "\n".join(lines)


class _Loader:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.report = DemoReport()
        self.users: dict[str, User] = {}
        self.sectors: dict[str, Sector] = {}
        self.organisations: dict[str, Organisation] = {}
        self.contacts: dict[str, Contact] = {}
        self.meetings: dict[str, Meeting] = {}
        self.mission: Mission | None = None

    @property
    def admin(self) -> User:
        return self.users[ADMIN_EMAIL]

    def run(self) -> DemoReport:
        self.load_users()
        self.load_sectors()
        self.load_organisations()
        self.load_contacts()
        self.load_mission()
        self.load_meetings()
        for spec in LEADS:
            self.load_lead(spec)
        from crm.demo.subscriptions import load_subscriptions

        load_subscriptions(self)
        return self.report

    # --- people and reference data ------------------------------------------------------

    def load_users(self) -> None:
        for spec in USERS:
            user = find_user_by_email(self.session, spec.email)
            created = user is None
            if user is None:
                user = create_user(
                    self.session,
                    email=spec.email,
                    password=DEMO_PASSWORD,
                    role=spec.role,
                    name=spec.name,
                    language=spec.language,
                    timezone=spec.timezone,
                    actor=self.users.get(ADMIN_EMAIL),
                )
            self.report.add("users", created=created)
            self.users[spec.email] = user
        self.session.flush()

    def load_sectors(self) -> None:
        for position, spec in enumerate(SECTORS, start=1):
            sector = self.session.exec(select(Sector).where(Sector.code == spec.code)).first()
            created = sector is None
            if sector is None:
                sector = create_sector(
                    self.session,
                    code=spec.code,
                    name_ar=spec.name_ar,
                    name_fr=spec.name_fr,
                    name_en=spec.name_en,
                    position=position * 10,
                    actor=self.admin,
                )
            self.report.add("sectors", created=created)
            self.sectors[spec.code] = sector
        self.session.flush()

    def _find_organisation(self, spec: OrganisationSpec) -> Organisation | None:
        if spec.acronym:
            found = self.session.exec(select(Organisation).where(Organisation.acronym == spec.acronym)).first()
            if found is not None:
                return found
        return self.session.exec(select(Organisation).where(Organisation.name_en == spec.name_en)).first()

    def load_organisations(self) -> None:
        for spec in ORGANISATIONS:
            org = self._find_organisation(spec)
            created = org is None
            if org is None:
                sector_ids = [self.sectors[code].id for code in spec.sectors]
                org = create_organisation(
                    self.session,
                    country=spec.country,
                    kind=spec.kind,
                    name_ar=spec.name_ar,
                    name_fr=spec.name_fr,
                    name_en=spec.name_en,
                    acronym=spec.acronym,
                    aliases=list(spec.aliases),
                    website=spec.website,
                    sector_ids=[i for i in sector_ids if i is not None],
                    actor=self.admin,
                )
            self.report.add("organisations", created=created)
            self.organisations[spec.key] = org

    def load_contacts(self) -> None:
        for spec in CONTACTS:
            email = spec.email.lower()
            contact = self.session.exec(select(Contact).where(func.lower(Contact.email) == email)).first()
            created = contact is None
            if contact is None:
                org_id = self.organisations[spec.organisation].id
                assert org_id is not None
                contact = create_contact(
                    self.session,
                    organisation_id=org_id,
                    name=spec.name,
                    title=spec.title,
                    email=email,
                    phone=spec.phone,
                    language=spec.language,
                    timezone=spec.timezone,
                    actor=self.admin,
                )
            self.report.add("contacts", created=created)
            self.contacts[email] = contact
        self.session.flush()

    # --- the mission and its meetings ----------------------------------------------------

    def _org_ids(self, keys: tuple[str, ...]) -> list[int]:
        return [i for i in (self.organisations[key].id for key in keys) if i is not None]

    def _contact_ids(self, emails: tuple[str, ...]) -> list[int]:
        return [i for i in (self.contacts[email].id for email in emails) if i is not None]

    def load_mission(self) -> None:
        mission = self.session.exec(select(Mission).where(Mission.name == MISSION.name)).first()
        created = mission is None
        if mission is None:
            mission = create_mission(
                self.session,
                name=MISSION.name,
                starts_on=MISSION.starts_on,
                ends_on=MISSION.ends_on,
                legs=[
                    {"name": name, "timezone": zone, "starts_on": first, "ends_on": last}
                    for name, zone, first, last in MISSION.legs
                ],
                name_ar=MISSION.names[0],
                name_fr=MISSION.names[1],
                name_en=MISSION.names[2],
                status=MISSION.status,
                sector_ids=[i for i in (self.sectors[code].id for code in MISSION.sectors) if i is not None],
                delegate_roles={pk(self.contacts[email]): role for email, role in MISSION.roles},
                description=MISSION.description,
                organiser_ids=self._org_ids(MISSION.organisers),
                delegate_ids=self._contact_ids(MISSION.delegates),
                actor=self.admin,
            )
        self.report.add("missions", created=created)
        self.mission = mission

    def load_meetings(self) -> None:
        assert self.mission is not None
        leg_of_zone: dict[str, int] = {}
        for leg in leg_rows(self.session, pk(self.mission)):
            leg_of_zone.setdefault(leg.timezone, pk(leg))
        for spec in MEETINGS:
            meeting = self.session.exec(
                select(Meeting).where(Meeting.title == spec.title, Meeting.mission_id == self.mission.id)
            ).first()
            created = meeting is None
            if meeting is None:
                meeting = log_meeting(
                    self.session,
                    title=spec.title,
                    starts_local=datetime.fromisoformat(spec.starts_local),
                    timezone=spec.timezone,
                    mission_id=self.mission.id,
                    leg_id=leg_of_zone.get(spec.timezone),
                    place=spec.place,
                    notes=spec.notes,
                    organisation_ids=self._org_ids(spec.organisations),
                    contact_ids=self._contact_ids(spec.contacts),
                    actor=self.admin,
                )
            self.report.add("meetings", created=created)
            self.meetings[spec.key] = meeting

    # --- leads -------------------------------------------------------------------------

    def _owner(self, email: str) -> User:
        owner = self.users[email]
        if owner.is_active and owner.can_edit():
            return owner
        return self.admin  # the demo user was changed since: leave it alone

    def load_lead(self, spec: LeadSpec) -> None:
        owner = self._owner(spec.owner)
        lead = self.session.exec(select(Lead).where(Lead.title == spec.title)).first()
        created = lead is None
        if lead is None:
            assert owner.id is not None
            lead = create_lead(
                self.session,
                title=spec.title,
                ma_organisation_id=self._org_ids((spec.ma,))[0],
                us_organisation_id=self._org_ids((spec.us,))[0],
                partnership_type=spec.partnership_type,
                owner_id=owner.id,
                actor=owner,
                description=spec.description,
                meeting_id=self.meetings[spec.meeting].id,
                sector_id=self.sectors[spec.sector].id,
                priority=spec.priority,
                estimated_value=spec.value,
                currency=spec.currency,
                confidential=spec.confidential,
            )
            # Walk the pipeline so the event log shows how the lead got where it is.
            for stage in spec.stages:
                move_lead_to_stage(self.session, lead, stage, actor=owner)
            self._date_history(lead, spec)
        self.report.add("leads", created=created)
        for email in spec.watchers:
            watcher = self.users[email]
            if watcher.is_active and watcher.id is not None:
                self.report.add("watchers", created=add_watcher(self.session, lead, watcher.id, actor=owner))
        for activity in spec.activities:
            self.load_activity(lead, activity, owner)
        for followup in spec.followups:
            self.load_followup(lead, followup, owner)

    def _date_history(self, lead: Lead, spec: LeadSpec) -> None:
        """The demo is loaded in a moment, but its leads were created and moved over the past
        weeks: each lead's creation and stage changes are dated back (its own rhythm, the
        latest change within three weeks, all within about twelve), so the timeline, the
        dashboard's weekly movement and the digests show a history rather than one instant."""
        self.session.flush()
        position = LEADS.index(spec)
        base = min(self.now, utcnow())
        latest, step = 1 + (position * 5) % 19, 6 + (position * 3) % 11
        moves = self.session.exec(
            select(Event)
            .where(Event.lead_id == lead.id, Event.type == "lead.stage_changed")
            .order_by(col(Event.id).desc())
        ).all()
        for k, event in enumerate(moves):
            event.occurred_at = base - timedelta(days=latest + k * step, hours=position % 7)
        oldest = latest + max(len(moves) - 1, 0) * step
        earliest_activity = max((a.days_ago for a in spec.activities), default=0)
        created = base - timedelta(days=max(oldest + 2 + position % 5, earliest_activity + 1))
        creation = (
            col(Event.entity_type) == "lead",
            col(Event.entity_id) == lead.id,
            col(Event.type) == "lead.created",
        )
        self.session.execute(update(Event).where(*creation).values(occurred_at=created))
        lead.created_at = created
        lead.stage_changed_at = lead.updated_at = moves[0].occurred_at if moves else created

    def load_activity(self, lead: Lead, spec: ActivitySpec, author: User) -> None:
        query = select(Activity.id).where(
            Activity.lead_id == lead.id, Activity.kind == spec.kind, Activity.body == spec.body
        )
        existing = self.session.exec(query).first()
        if existing is None:
            # Never in the future, even when the demo is loaded with a ``now`` ahead of the clock.
            when = min(self.now - timedelta(days=spec.days_ago), utcnow())
            log_activity(self.session, lead, kind=spec.kind, body=spec.body, occurred_at=when, actor=author)
        self.report.add("activities", created=existing is None)

    def load_followup(self, lead: Lead, spec: FollowUpSpec, owner: User) -> None:
        existing = self.session.exec(
            select(FollowUp.id).where(FollowUp.lead_id == lead.id, FollowUp.title == spec.title)
        ).first()
        if existing is None:
            today = wall_time(self.now, spec.timezone).date()
            due_local = datetime.combine(today + timedelta(days=spec.in_days), time(spec.hour))
            followup = schedule_followup(
                self.session,
                lead,
                title=spec.title,
                due_local=due_local,
                timezone=spec.timezone,
                owner_id=lead.owner_id,
                actor=owner,
            )
            if spec.done:
                complete_followup(self.session, followup, actor=owner)
        self.report.add("followups", created=existing is None)


def load_demo(session: Session, now: datetime | None = None) -> DemoReport:
    """Load the February 2024 trade mission demo data; running it again changes nothing.

    ``now`` (default: the current time) anchors the relative dates: activities in the
    past, follow-ups overdue, due this week or later.  The caller commits.
    """
    moment = ensure_utc(now) if now is not None else utcnow()
    return _Loader(session, moment).run()
