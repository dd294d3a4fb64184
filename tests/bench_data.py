"""Bulk-filled scratch databases for the benchmarks (not collected by pytest).

:func:`populate` inserts users, sectors, organisations, leads, their events and open
follow-ups with plain multi-row ``INSERT`` statements (no operations, no ORM objects), so
100,000 leads take seconds; on PostgreSQL they go through ``COPY`` (:func:`copied`), so a
million take minutes.  The same seed gives the same rows on SQLite and PostgreSQL.

:class:`Scale` says how much to insert.  ``Scale()`` is the digest benchmark's data: 20
officers, 100 organisations, no contacts, bare payloads.  ``named=True`` (the page
benchmark) adds what the pages read: names, titles and search texts in three languages,
contacts, admins and viewers, the payloads the timeline tells, watchers, activities,
lead updates and one lead with a long history.  Everything that ``named`` adds draws
from its own random generator, so the rows both scales share are the same.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)  # Monday, after 08:00 in Casablanca
WEEK_START = datetime(2026, 11, 23, tzinfo=UTC)
STAGES = ["identified", "contacted", "meeting_held", "proposal", "negotiation", "agreement_signed"]
PASSWORD = "bench-password"  # every named user's password
MISSIONS = 8  # a third of the named leads came from one of them

TOPICS = [
    ("Cloud", "سحابة"),
    ("Cybersecurity", "الأمن السيبراني"),
    ("Training", "تكوين"),
    ("Solar", "الطاقة الشمسية"),
    ("Water", "الماء"),
    ("Aerospace", "الطيران"),
    ("Logistics", "اللوجستيك"),
    ("Health", "الصحة"),
    ("Agritech", "الفلاحة"),
    ("Fintech", "المالية"),
]
KINDS = ["pilot", "workshop", "partnership", "programme", "study"]
MA_NAMES = [
    ("Agence de Développement Digital", "وكالة التنمية الرقمية", "ADD"),
    ("Direction Générale de la Sécurité des Systèmes d'Information", "المديرية العامة لأمن نظم المعلومات", "DGSSI"),
    ("Office National de l'Électricité", "المكتب الوطني للكهرباء", "ONEE"),
    ("Agence Marocaine de Développement des Investissements", "الوكالة المغربية لتنمية الاستثمارات", "AMDIE"),
]
FIRST_NAMES = ["Amina", "Youssef", "Salma", "Karim", "Sarah", "John", "Leila", "Omar", "Emily", "Hamza"]
ARABIC_NAMES = ["أمينة", "يوسف", "سلمى", "كريم", "ليلى", "عمر", "حمزة", "نادية"]


@dataclass(frozen=True)
class Scale:
    leads: int = 100_000
    officers: int = 20  # users 1…officers own the leads
    admins: int = 0
    viewers: int = 0
    organisations: int = 100  # the first half Moroccan, the second American
    contacts: int = 0
    # Every ``big_share``-th lead goes to organisation 1 (0: leads spread evenly).
    big_share: int = 0
    # Events of the lead with a long history (lead 1), besides its own.
    history: int = 0
    named: bool = False

    @property
    def users(self) -> int:
        return self.officers + self.admins + self.viewers

    def role(self, user_id: int) -> str:
        if user_id <= self.officers:
            return "officer"
        return "admin" if user_id <= self.officers + self.admins else "viewer"


PAGES = Scale(
    officers=45, admins=2, viewers=3, organisations=200, contacts=2_000, big_share=20, history=2_000, named=True
)


def batched(conn: Any, table: Any, rows: list[dict[str, Any]], size: int = 5_000) -> None:
    if conn.dialect.name == "postgresql" and rows:
        copied(conn, table, rows)
        return
    for start in range(0, len(rows), size):
        conn.execute(sa.insert(table), rows[start : start + size])


def copied(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's ``COPY … FROM STDIN`` through psycopg: a million leads in minutes.

    The ids come from the tables' sequences in the rows' order, as with ``INSERT``.
    JSON values travel as their text; PostgreSQL reads every value as the column's type.
    """
    columns = list(rows[0])
    quoted = ", ".join(f'"{name}"' for name in columns)
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_copy_value(row[name]) for name in columns])


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def email_of(user_id: int, scale: Scale) -> str:
    return f"{scale.role(user_id)}{user_id}@bench.example" if scale.named else f"officer{user_id - 1}@bench.example"


def _users(scale: Scale, t0: datetime) -> list[dict[str, Any]]:
    password_hash = "x"
    if scale.named:
        from crm.core.security import hash_password

        password_hash = hash_password(PASSWORD)
    return [
        {
            "email": email_of(i, scale),
            "name": f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {i}" if scale.named else f"Officer {i - 1}",
            "password_hash": password_hash,
            "role": scale.role(i),
            "language": ("fr", "ar", "en")[i % 3] if scale.named else "fr",
            "timezone": "Africa/Casablanca",
            "is_active": True,
            "reminder_send_hour": 9,
            "reminder_days_before": [3, 1],
            "created_at": t0,
        }
        for i in range(1, scale.users + 1)
    ]


def _organisation(i: int, scale: Scale, t0: datetime) -> dict[str, Any]:
    from crm.core.text import searchable

    moroccan = i < scale.organisations // 2
    row = {
        "country": "MA" if moroccan else "US",
        "kind": "agency" if moroccan else "company",
        "name_ar": f"مؤسسة {i}",
        "name_fr": f"Organisation {i}",
        "name_en": f"Organisation {i}",
        "acronym": f"O{i}",
        "aliases": [],
        "search_text": "",
        "created_at": t0,
        "updated_at": t0,
    }
    if scale.named:
        topic, topic_ar = TOPICS[i % len(TOPICS)]
        if moroccan and i < len(MA_NAMES):
            name_fr, name_ar, acronym = MA_NAMES[i]
            name_en = name_fr
        elif moroccan:
            name_fr, name_ar, acronym = f"Agence {i} {topic}", f"وكالة {i} {topic_ar}", f"AG{i}"
            name_en = f"Agency {i} {topic}"
        else:
            name_fr, name_ar, acronym = f"{topic} Systems {i}", f"أنظمة {topic_ar} {i}", f"US{i}"
            name_en = name_fr
        row |= {"name_fr": name_fr, "name_ar": name_ar, "name_en": name_en, "acronym": acronym}
        row["search_text"] = searchable(acronym, name_ar, name_fr, name_en)
    return row


def _contacts(scale: Scale, t0: datetime) -> list[dict[str, Any]]:
    from crm.core.text import searchable

    rows = []
    for i in range(scale.contacts):
        arabic = i % 3 == 0
        name = f"{ARABIC_NAMES[i % len(ARABIC_NAMES)]} {i}" if arabic else f"{FIRST_NAMES[i % 10]} Contact{i}"
        email = f"contact{i}@org{1 + i % scale.organisations}.example"
        rows.append(
            {
                "organisation_id": 1 + i % scale.organisations,
                "name": name,
                "title": "Director" if i % 2 else "",
                "email": email,
                "language": "ar" if arabic else "fr",
                "timezone": "Africa/Casablanca",
                "search_text": searchable(name, "Director" if i % 2 else "", email),
                "created_at": t0,
                "updated_at": t0,
            }
        )
    return rows


def _missions() -> list[dict[str, Any]]:
    first = NOW.date() - timedelta(days=400)
    return [
        {
            "name": f"Trade mission {k + 1}",
            "starts_on": first + timedelta(days=50 * k),
            "ends_on": first + timedelta(days=50 * k + 9),
            "places": [{"name": "Washington, D.C.", "timezone": "America/New_York"}],
            "description": "",
            "created_at": NOW - timedelta(days=400),
            "updated_at": NOW - timedelta(days=400),
        }
        for k in range(MISSIONS)
    ]


def _event(kind: str, lead_id: int | None, when: datetime, actor: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "payload": fields.pop("payload", {}),
        "actor_id": actor,
        "entity_type": fields.pop("entity_type", "lead"),
        "entity_id": fields.pop("entity_id", lead_id),
        "lead_id": lead_id,
        "occurred_at": when,
        "published_at": when,
    }


class _Extras:
    """The rows ``named`` adds around each lead, from a generator of their own."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.rng = random.Random(49)
        self.events: list[dict[str, Any]] = []
        self.activities: list[dict[str, Any]] = []
        self.watchers: list[dict[str, Any]] = []

    def title(self, n: int) -> tuple[str, str]:
        from crm.core.text import search_blob

        topic, topic_ar = TOPICS[self.rng.randrange(len(TOPICS))]
        kind = KINDS[self.rng.randrange(len(KINDS))]
        title = f"مشروع {topic_ar} {n}" if n % 10 == 0 else f"{topic} {kind} {n}"
        return title, search_blob(title)

    def activity(self, lead_id: int, when: datetime, actor: int) -> None:
        body = f"Call {lead_id}"
        self.activities.append(
            {
                "lead_id": lead_id,
                "kind": "call",
                "body": body,
                "occurred_at": when,
                "author_id": actor,
                "created_at": when,
            }
        )
        payload = {"kind": "call", "occurred_at": when.isoformat(), "body": body}
        self.events.append(
            _event(
                "activity.logged",
                lead_id,
                when,
                actor,
                payload=payload,
                entity_type="activity",
                entity_id=len(self.activities),
            )
        )

    def around(self, n: int, created: datetime, owner: int, confidential: bool) -> None:
        if n % 3 != 0:
            when = created + timedelta(hours=self.rng.randrange(1, 2_000))
            changes = {"description": ["", "Scope agreed with both sides."]}
            self.events.append(_event("lead.updated", n, when, owner, payload={"changes": changes}))
        if n % 2 == 0:
            self.activity(n, created + timedelta(hours=self.rng.randrange(1, 2_000)), owner)
        if confidential and n % 3 == 0:
            watcher = 1 + (n + 1) % self.scale.officers
            self.watchers.append({"lead_id": n, "user_id": watcher})
            payload = {"user_id": watcher}
            self.events.append(_event("lead.watcher_added", n, created, owner, payload=payload))

    def history(self, lead_id: int, created: datetime, owner: int) -> None:
        step = (NOW - created) / (self.scale.history + 1)
        for k in range(self.scale.history):
            when = created + step * (k + 1)
            if k % 3 == 0:
                self.activity(lead_id, when, owner)
            elif k % 3 == 1:
                changes = {"priority": ["normal", "high"] if k % 2 else ["high", "normal"]}
                self.events.append(_event("lead.updated", lead_id, when, owner, payload={"changes": changes}))
            else:
                old, new = STAGES[k % 5], STAGES[k % 5 + 1]
                payload = {"from": old, "to": new, "advanced": True, "note": f"Step {k}"}
                self.events.append(_event("lead.stage_changed", lead_id, when, owner, payload=payload))


def populate(engine: sa.Engine, scale: Scale) -> None:
    """Insert ``scale``'s rows into the empty tables of ``engine``'s database."""
    from crm.accounts.models import User
    from crm.core.events import Event
    from crm.core.text import searchable
    from crm.followups.models import FollowUp
    from crm.leads.models import Activity, Lead, LeadWatcher
    from crm.missions.models import Mission
    from crm.organisations.models import Contact, Organisation
    from crm.reference.models import Sector

    rng = random.Random(48)
    t0 = NOW - timedelta(days=400)
    half = scale.organisations // 2
    extras = _Extras(scale)
    with engine.begin() as conn:
        batched(conn, User.__table__, _users(scale, t0))
        sectors = [
            {
                "code": f"s{i}",
                "name_ar": f"قطاع {i}",
                "name_fr": f"Secteur {i}",
                "name_en": f"Sector {i}",
                "position": i,
                "is_active": True,
                "search_text": searchable(f"قطاع {i}", f"Secteur {i}", f"Sector {i}"),
            }
            for i in range(10)
        ]
        batched(conn, Sector.__table__, sectors)
        batched(conn, Organisation.__table__, [_organisation(i, scale, t0) for i in range(scale.organisations)])
        if scale.contacts:
            batched(conn, Contact.__table__, _contacts(scale, t0))
        if scale.named:
            batched(conn, Mission.__table__, _missions())
        lead_rows, event_rows, followup_rows = [], [], []
        for n in range(1, scale.leads + 1):
            created = t0 + timedelta(minutes=rng.randrange(400 * 24 * 60))
            stage = rng.choice(STAGES)
            value = Decimal(rng.randrange(10_000, 5_000_000)) if n % 3 == 0 else None
            big = scale.big_share and n % scale.big_share == 0
            owner = 1 + n % scale.officers
            lead = {
                "title": f"Lead {n}",
                "description": "",
                "ma_organisation_id": 1 if big else 1 + n % half,
                "us_organisation_id": half + 1 + (n // 7) % half,
                "sector_id": 1 + n % 10,
                "partnership_type": "technology_partnership",
                "stage": stage,
                "owner_id": owner,
                "priority": "normal",
                "estimated_value": value,
                "currency": rng.choice(["MAD", "USD"]) if value else None,
                "confidential": n % 17 == 0,
                "search_text": "",
                "stage_changed_at": created,
                "created_at": created,
                "updated_at": created,
            }
            created_payload: dict[str, Any] = {}
            if scale.named:
                lead["title"], lead["search_text"] = extras.title(n)
                lead["mission_id"] = 1 + n % MISSIONS if n % 3 == 1 else None
                moved = n % 5 == 0
                created_payload = {"title": lead["title"], "stage": "identified" if moved else stage}
            lead_rows.append(lead)
            event_rows.append(_event("lead.created", n, created, owner, payload=created_payload))
            if n % 5 == 0:  # a fifth of the leads moved during the last two weeks
                moved_at = WEEK_START - timedelta(days=7) + timedelta(minutes=rng.randrange(14 * 24 * 60))
                payload = {"from": "identified", "to": stage, "advanced": stage != "identified", "note": ""}
                event_rows.append(_event("lead.stage_changed", n, moved_at, owner, payload=payload))
            if n % 10 == 0:
                due = NOW + timedelta(days=rng.randrange(-20, 20))
                followup_rows.append(
                    {
                        "lead_id": n,
                        "title": f"Next step {n}",
                        "due_local": due.replace(tzinfo=None),
                        "timezone": "Africa/Casablanca",
                        "due_at": due,
                        "owner_id": owner,
                        "status": "open",
                        "due_version": 1,
                        "created_at": t0,
                        "updated_at": t0,
                    }
                )
                if scale.named:
                    payload = {"title": f"Next step {n}", "due_at": due.isoformat(), "owner_id": owner}
                    event_rows.append(
                        _event(
                            "followup.scheduled",
                            n,
                            created,
                            owner,
                            payload=payload,
                            entity_type="followup",
                            entity_id=len(followup_rows),
                        )
                    )
            if scale.named:
                extras.around(n, created, owner, lead["confidential"])
                if n == 1:
                    extras.history(n, created, owner)
        if scale.named:
            for i in range(scale.organisations):
                event_rows.append(
                    _event("organisation.created", None, t0, 1, entity_type="organisation", entity_id=i + 1)
                )
            for i in range(scale.contacts):
                event_rows.append(_event("contact.created", None, t0, 1, entity_type="contact", entity_id=i + 1))
        batched(conn, Lead.__table__, lead_rows)
        batched(conn, Event.__table__, event_rows + extras.events)
        batched(conn, FollowUp.__table__, followup_rows)
        if scale.named:
            batched(conn, Activity.__table__, extras.activities)
            batched(conn, LeadWatcher.__table__, extras.watchers)


def analyse(engine: sa.Engine) -> None:
    """Fresh planner statistics, as after any bulk load."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def lead_count(engine: sa.Engine) -> int:
    with engine.begin() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM lead").scalar_one())
