"""How a search result names an organisation: once, in the reader's language, with its
acronym when the acronym says something else ("ADD — Agence de Développement du Digital",
but "Oracle", not "Oracle Oracle"), and its names in the other languages when they differ."""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.i18n import LANGUAGES, current_language
from crm.core.text import normalise
from crm.organisations.models import Organisation


@dataclass(frozen=True)
class OrganisationLabel:
    acronym: str | None  # None when it is the name, or there is none
    name: str
    others: tuple[tuple[str, str], ...]  # (language, name) of the other names that differ

    def __str__(self) -> str:
        return f"{self.acronym} — {self.name}" if self.acronym else self.name


def organisation_label(org: Organisation, language: str | None = None) -> OrganisationLabel:
    language = language or current_language()
    name = org.name(language)
    acronym = (org.acronym or "").strip() or None
    if not name:
        name, acronym = acronym or "", None
    seen = {normalise(name)}
    if acronym is not None:
        if normalise(acronym) in seen:
            acronym = None
        else:
            seen.add(normalise(acronym))
    others = []
    for lang in LANGUAGES:
        other = getattr(org, f"name_{lang}", "") or ""
        if lang != language and other and normalise(other) not in seen:
            seen.add(normalise(other))
            others.append((lang, other))
    return OrganisationLabel(acronym=acronym, name=name, others=tuple(others))
