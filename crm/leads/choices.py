"""The filter bar's choices (sectors, organisations, officers, missions), kept per process.

The lead list and the board offer them on every page: four queries each time, for lists
that change a few times a month.  They are kept as plain values (never ORM objects, which
belong to one request's session) until any of them changes anywhere
(:mod:`crm.core.reference_cache`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape
from sqlmodel import Session

from crm.accounts.models import User
from crm.core.i18n import current_language, pick_name
from crm.core.reference_cache import ProcessCache, watch
from crm.leads.queries import choices
from crm.missions.models import Mission
from crm.organisations.models import Organisation
from crm.reference.models import Sector

_KEPT = ProcessCache(size=4)
watch(Organisation, Sector, User, Mission)


@dataclass(frozen=True)
class Named:
    """A sector or an organisation: its names in the three languages."""

    id: int
    name_ar: str
    name_fr: str
    name_en: str
    acronym: str | None = None
    code: str | None = None  # a sector's

    def name(self) -> str:
        return pick_name(self)

    def short_name(self) -> str:
        return self.acronym or self.name()


@dataclass(frozen=True)
class Person:
    id: int
    display_name: str


@dataclass(frozen=True)
class MissionChoice:
    id: int
    name: str


@dataclass(frozen=True)
class FilterChoices:
    sectors: list[Named]
    ma_organisations: list[Named]
    us_organisations: list[Named]
    officers: list[Person]
    missions: list[MissionChoice]
    # Each select's (id, escaped label) by (select, language): see option_tags.
    _labels: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict, compare=False, repr=False)

    def _labelled(self, kind: str, language: str) -> list[tuple[int, str]]:
        found = self._labels.get((kind, language))
        if found is None:
            items: list[Any] = getattr(self, kind)
            if kind in ("sectors", "missions"):
                found = [
                    (item.id, str(escape(item.name if kind == "missions" else pick_name(item, language))))
                    for item in items
                ]
            else:
                found = [(item.id, str(escape(item.acronym or pick_name(item, language)))) for item in items]
            self._labels[kind, language] = found
        return found

    def option_tags(self, kind: str, selected: int | None) -> Markup:
        """The ``<option>`` tags of a filter's select ("sectors", "ma_organisations",
        "us_organisations", "missions"), the ``selected`` id's marked: written here, their
        labels escaped once per language, rather than by the template option by option (a
        filter bar offers some three hundred)."""
        return Markup(  # noqa: S704 - labels escaped in _labelled
            "".join(
                f'<option value="{ident}"{" selected" if ident == selected else ""}>{label}</option>'
                for ident, label in self._labelled(kind, current_language())
            )
        )


def named(obj: Organisation | Sector) -> Named:
    return Named(
        int(obj.id or 0),
        obj.name_ar or "",
        obj.name_fr or "",
        obj.name_en or "",
        getattr(obj, "acronym", None),
        getattr(obj, "code", None),
    )


def _load(session: Session) -> FilterChoices:
    found = choices(session)
    return FilterChoices(
        sectors=[named(s) for s in found.sectors],
        ma_organisations=[named(o) for o in found.ma_organisations],
        us_organisations=[named(o) for o in found.us_organisations],
        officers=[Person(int(u.id or 0), u.display_name) for u in found.officers],
        missions=[MissionChoice(int(m.id or 0), m.name) for m in found.missions],
    )


def filter_choices(session: Session) -> FilterChoices:
    """What the filter bar offers, as of the last change to any of it."""
    bind = session.get_bind()
    url = bind.engine.url if hasattr(bind, "engine") else None
    return _KEPT.get(("filters", url), lambda: _load(session))
