"""What each type-ahead picker offers: organisations, contacts, users, meetings, missions,
sectors and time zones.

One function per source answers three questions with one query: the first options
(``ids`` and ``words`` empty: the fallback a form shows without JavaScript), the options
matching typed words (the picker's search), and the options named by ``ids`` (the chosen
ones a form shows, and the check that a submitted id is one the picker could offer).

Organisations and contacts are searched on their ``search_text`` through the same
cross-script index as the search page (:mod:`crm.search.queries`): an Arabic, French or
English name, an acronym, an alias, with or without accents and Arabic letter variants.
The small sets (users, sectors, missions, meetings, zones) are read whole in one query
and matched on the same normalised text in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.core.db import parse_id, pk
from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l
from crm.core.text import normalise
from crm.core.time import available_zones, zone
from crm.missions.models import ACTIVE_STATUSES, Meeting, Mission
from crm.organisations.models import Contact, Country, Organisation
from crm.reference.models import Sector
from crm.search.labels import organisation_label as search_label
from crm.search.matching import exact_first, query_words, words_match

LIMIT = 20  # options a search answers
INLINE = 100  # options a form carries without JavaScript (plus the chosen ones)
SIDES = {"MA": Country.MA, "US": Country.US}
ROLES = ("officers", "active")


@dataclass(frozen=True)
class Option:
    value: int | str
    text: str
    hint: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"value": str(self.value), "text": self.text, "hint": self.hint}


@dataclass(frozen=True)
class Ask:
    """One question to a source: the words typed (or none), the ids wanted (or none),
    the source's own parameters (already checked) and how many options at most."""

    words: list[str]
    ids: list[int | str] | None
    params: dict[str, Any]
    limit: int


def organisation_label(org: Organisation) -> str:
    """The name in the reader's language with its acronym: "ADD — Agence de …" (as search
    results show it)."""
    return str(search_label(org))


def _organisations(session: Session, user: User, ask: Ask) -> list[Option]:
    query = select(Organisation)
    side = ask.params.get("side")
    if side is not None:
        query = query.where(Organisation.country == side)
    if ask.ids is not None:
        query = query.where(col(Organisation.id).in_(ask.ids))
    if ask.words:
        query = query.where(words_match(session, Organisation, ask.words)).order_by(
            exact_first(Organisation, " ".join(ask.words))
        )
    query = query.order_by(
        func.coalesce(Organisation.acronym, Organisation.name_en, Organisation.name_fr, Organisation.name_ar),
        col(Organisation.id),
    )
    return [Option(pk(o), organisation_label(o)) for o in session.exec(query.limit(ask.limit))]


def _contacts(session: Session, user: User, ask: Ask) -> list[Option]:
    query = (
        select(Contact, Organisation)
        .join(Organisation, col(Organisation.id) == col(Contact.organisation_id))
        .where(col(Contact.erased_at).is_(None))
    )
    if ask.params.get("organisation") is not None:
        query = query.where(Contact.organisation_id == ask.params["organisation"])
    if ask.ids is not None:
        query = query.where(col(Contact.id).in_(ask.ids))
    if ask.words:
        query = query.where(words_match(session, Contact, ask.words))
    rows = session.exec(query.order_by(col(Contact.name), col(Contact.id)).limit(ask.limit))
    return [Option(pk(c), f"{c.display_name} · {o.short_name()}", c.title) for c, o in rows]


def _matches(words: list[str], *texts: str | None) -> bool:
    blob = " | ".join(normalise(t) for t in texts if t)
    return all(w in blob for w in words)


def _filtered(rows: Iterable[Any], ask: Ask, key: Callable[[Any], Any], texts: Callable[[Any], list[Any]]) -> list[Any]:
    wanted = None if ask.ids is None else {str(i) for i in ask.ids}
    found = [r for r in rows if (wanted is None or str(key(r)) in wanted) and _matches(ask.words, *texts(r))]
    return found[: ask.limit]


def _users(session: Session, user: User, ask: Ask) -> list[Option]:
    query = select(User).where(col(User.is_active).is_(True))
    if ask.params.get("role") == "officers":
        query = query.where(col(User.role).in_([Role.ADMIN, Role.OFFICER]))
    rows = session.exec(query.order_by(col(User.name), col(User.email))).all()
    found = _filtered(rows, ask, pk, lambda u: [u.name, u.email])
    return [Option(pk(u), u.display_name) for u in found]


def _officer_emails(session: Session, user: User, ask: Ask) -> list[Option]:
    """Officers and admins by their address: what an import's rows name an owner by."""
    query = select(User).where(col(User.is_active).is_(True), col(User.role).in_([Role.ADMIN, Role.OFFICER]))
    rows = session.exec(query.order_by(col(User.name), col(User.email))).all()
    found = _filtered(rows, ask, lambda u: u.email, lambda u: [u.name, u.email])
    return [Option(u.email, f"{u.display_name} <{u.email}>") for u in found]


def _sectors(session: Session, user: User, ask: Ask) -> list[Option]:
    query = select(Sector)
    if ask.ids is None:  # a retired sector stays shown where it was chosen, but is not offered
        query = query.where(col(Sector.is_active).is_(True))
    rows = session.exec(query.order_by(col(Sector.position), col(Sector.code))).all()
    found = _filtered(rows, ask, pk, lambda s: [s.name_ar, s.name_fr, s.name_en, s.code])
    return [Option(pk(s), s.name()) for s in found]


def _missions(session: Session, user: User, ask: Ask) -> list[Option]:
    """Planned and under-way missions; a closed or archived one only when already chosen."""
    query = select(Mission).order_by(col(Mission.starts_on).desc(), col(Mission.id).desc())
    if ask.ids is None:
        query = query.where(col(Mission.status).in_(ACTIVE_STATUSES))
    rows = session.exec(query).all()
    found = _filtered(rows, ask, pk, lambda m: [m.name, m.name_ar, m.name_fr, m.name_en])
    return [Option(pk(m), m.local_name()) for m in found]


def _meetings(session: Session, user: User, ask: Ask) -> list[Option]:
    query = select(Meeting, Mission).join(Mission, col(Mission.id) == col(Meeting.mission_id), isouter=True)
    if ask.ids is not None:
        query = query.where(col(Meeting.id).in_(ask.ids))
    rows = session.exec(query.order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())).all()
    found = _filtered(rows, ask, lambda r: pk(r[0]), lambda r: [r[0].title, r[0].place, r[1].name if r[1] else ""])
    return [Option(pk(m), m.title, mission.name if mission else "") for m, mission in found]


@lru_cache(maxsize=2048)
def zone_offset(name: str, hour: datetime) -> str:
    """The zone's offset from UTC at ``hour`` (a whole hour, so that the cache is reused):
    "UTC+01:00"."""
    delta = hour.astimezone(zone(name)).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _zones(session: Session, user: User, ask: Ask) -> list[Option]:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    found = _filtered(available_zones(), ask, str, lambda z: [z, z.replace("_", " "), zone_offset(z, hour)])
    return [Option(z, f"{z} ({zone_offset(z, hour)})") for z in found]


SOURCES: dict[str, Callable[[Session, User, Ask], list[Option]]] = {
    "organisations": _organisations,
    "contacts": _contacts,
    "users": _users,
    "officer_emails": _officer_emails,
    "sectors": _sectors,
    "missions": _missions,
    "meetings": _meetings,
    "timezones": _zones,
}
ROW_SOURCES = frozenset(SOURCES) - {"timezones", "officer_emails"}  # their values are row ids


def check_params(source: str, raw: Any) -> dict[str, Any]:
    """A source's parameters from a query string or a form field; ValidationError on
    anything else than what the source takes."""
    params: dict[str, Any] = {}
    side = raw.get("side") or ""
    if side:
        if source != "organisations" or side not in SIDES:
            raise ValidationError.single("side", _l("Unknown side: choose MA or US."))
        params["side"] = SIDES[side]
    organisation = raw.get("organisation") or ""
    if organisation:
        if source != "contacts" or parse_id(organisation) is None:
            raise ValidationError.single("organisation", _l("Unknown organisation."))
        params["organisation"] = parse_id(organisation)
    role = raw.get("role") or ""
    if role:
        if source != "users" or role not in ROLES:
            raise ValidationError.single("role", _l("Unknown kind of user."))
        params["role"] = role
    return params


def ask(
    session: Session,
    user: User,
    source: str,
    *,
    query: str = "",
    ids: Iterable[Any] | None = None,
    params: dict[str, Any] | None = None,
    limit: int = LIMIT,
) -> list[Option]:
    """The options of ``source`` matching ``query`` (or named by ``ids``), at most ``limit``."""
    wanted: list[int | str] | None = None
    if ids is not None:
        wanted = [i for i in (parse_id(v) for v in ids) if i is not None] if source in ROW_SOURCES else list(ids)
        if not wanted:
            return []
        limit = max(limit, len(wanted))
    question = Ask(words=query_words(query), ids=wanted, params=params or {}, limit=limit)
    return SOURCES[source](session, user, question)
