"""Values typed in a spreadsheet, recognised by their code or their label in any of the three
languages: stages, partnership types, priorities, currencies, countries, kinds of
organisation, languages, yes / no — and amounts written the French or the English way."""

from __future__ import annotations

import enum
import re
from functools import cache
from typing import Any, TypeVar

from crm.accounts.models import Language
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.text import normalise
from crm.exchange.fields import renderings
from crm.leads.labels import PARTNERSHIP_TYPE_LABELS, PRIORITY_LABELS, STAGE_LABELS
from crm.leads.models import Currency, PartnershipType, Priority, Stage
from crm.organisations.labels import COUNTRY_LABELS, KIND_LABELS
from crm.organisations.models import Country, OrganisationKind

E = TypeVar("E", bound=enum.Enum)


def _index(labels: dict[E, Any], extra: dict[str, E]) -> dict[str, E]:
    index: dict[str, E] = {}
    for member, label in labels.items():
        code = str(member.value)
        for name in (code, code.replace("_", " "), *renderings(label)):
            index.setdefault(normalise(name), member)
    for name, member in extra.items():
        index.setdefault(normalise(name), member)
    return index


@cache
def stages() -> dict[str, Stage]:
    return _index(
        STAGE_LABELS,
        {
            "new": Stage.IDENTIFIED,
            "nouveau": Stage.IDENTIFIED,
            "nouvelle": Stage.IDENTIFIED,
            "جديد": Stage.IDENTIFIED,
            "proposition": Stage.PROPOSAL,
            "signed": Stage.AGREEMENT_SIGNED,
            "won": Stage.AGREEMENT_SIGNED,
            "signe": Stage.AGREEMENT_SIGNED,
            "gagne": Stage.AGREEMENT_SIGNED,
            "lost": Stage.CLOSED_NO_GO,
            "perdu": Stage.CLOSED_NO_GO,
            "no go": Stage.CLOSED_NO_GO,
            "closed": Stage.CLOSED_NO_GO,
            "en attente": Stage.ON_HOLD,
            "paused": Stage.ON_HOLD,
        },
    )


@cache
def partnership_types() -> dict[str, PartnershipType]:
    return _index(
        PARTNERSHIP_TYPE_LABELS,
        {
            "b2b": PartnershipType.B2B_SALE,
            "vente": PartnershipType.B2B_SALE,
            "sale": PartnershipType.B2B_SALE,
            "formation": PartnershipType.TRAINING_AND_SKILLS,
            "training": PartnershipType.TRAINING_AND_SKILLS,
            "تدريب": PartnershipType.TRAINING_AND_SKILLS,
            "investissement": PartnershipType.INVESTMENT,
            "استثمار": PartnershipType.INVESTMENT,
            "pilote": PartnershipType.PILOT,
            "تجريبي": PartnershipType.PILOT,
            "partenariat technologique": PartnershipType.TECHNOLOGY_PARTNERSHIP,
        },
    )


@cache
def priorities() -> dict[str, Priority]:
    return _index(
        PRIORITY_LABELS,
        {
            "haute": Priority.HIGH,
            "elevee": Priority.HIGH,
            "urgent": Priority.HIGH,
            "basse": Priority.LOW,
            "faible": Priority.LOW,
            "moyenne": Priority.NORMAL,
            "medium": Priority.NORMAL,
        },
    )


@cache
def countries() -> dict[str, Country]:
    return _index(
        COUNTRY_LABELS,
        {
            "ma": Country.MA,
            "mar": Country.MA,
            "maroc": Country.MA,
            "morocco": Country.MA,
            "المغرب": Country.MA,
            "المملكه المغربيه": Country.MA,
            "us": Country.US,
            "usa": Country.US,
            "u s a": Country.US,
            "u s": Country.US,
            "etats unis": Country.US,
            "etats unis d amerique": Country.US,
            "united states of america": Country.US,
            "الولايات المتحده": Country.US,
            "الولايات المتحده الامريكيه": Country.US,
            "امريكا": Country.US,
            "autre": Country.OTHER,
        },
    )


@cache
def organisation_kinds() -> dict[str, OrganisationKind]:
    return _index(
        KIND_LABELS,
        {
            "ministere": OrganisationKind.MINISTRY,
            "وزاره": OrganisationKind.MINISTRY,
            "agence": OrganisationKind.AGENCY,
            "وكاله": OrganisationKind.AGENCY,
            "entreprise": OrganisationKind.COMPANY,
            "societe": OrganisationKind.COMPANY,
            "firm": OrganisationKind.COMPANY,
            "شركه": OrganisationKind.COMPANY,
            "universite": OrganisationKind.UNIVERSITY,
            "جامعه": OrganisationKind.UNIVERSITY,
            "federation": OrganisationKind.FEDERATION,
            "association": OrganisationKind.ASSOCIATION,
            "technopark": OrganisationKind.TECHNOLOGY_PARK,
            "accelerateur": OrganisationKind.ACCELERATOR,
        },
    )


@cache
def languages() -> dict[str, Language]:
    index = _index(
        {Language(code): name for code, name in LANGUAGE_NAMES.items()},
        {
            "arabe": Language.AR,
            "arabic": Language.AR,
            "عربي": Language.AR,
            "عربيه": Language.AR,
            "francais": Language.FR,
            "french": Language.FR,
            "فرنسي": Language.FR,
            "الفرنسيه": Language.FR,
            "anglais": Language.EN,
            "english": Language.EN,
            "انجليزي": Language.EN,
            "الانجليزيه": Language.EN,
        },
    )
    return index


CURRENCIES = {
    "mad": Currency.MAD,
    "dh": Currency.MAD,
    "dhs": Currency.MAD,
    "dirham": Currency.MAD,
    "dirhams": Currency.MAD,
    "درهم": Currency.MAD,
    "د م": Currency.MAD,
    "usd": Currency.USD,
    "us": Currency.USD,
    "dollar": Currency.USD,
    "dollars": Currency.USD,
    "دولار": Currency.USD,
}
YES = frozenset({"yes", "y", "oui", "o", "نعم", "1", "true", "vrai", "x", "confidential", "confidentiel"})
NO = frozenset({"no", "n", "non", "لا", "0", "false", "faux"})


def lookup(index: dict[str, E], text: str) -> E | None:
    return index.get(normalise(text))


def currency_of(text: str) -> Currency | None:
    cleaned = text.strip()
    if cleaned in ("$", "US$", "USD$"):
        return Currency.USD
    return CURRENCIES.get(normalise(cleaned))


def flag_of(text: str) -> bool | None:
    """True / False for yes / no in any language; None when it is neither."""
    key = normalise(text)
    if key in YES:
        return True
    if key in NO:
        return False
    return None


_AMOUNT = re.compile(r"^[0-9][0-9.,' \u00a0\u202f]*$")
_CURRENCY_AROUND = re.compile(r"^\s*([^\d\s.,]*)\s*([0-9][0-9.,' \u00a0\u202f]*?)\s*([^\d\s.,]*)\s*$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+$")


def amount_of(text: str) -> tuple[str | None, Currency | None, bool]:
    """(the amount with a "." decimal point, a currency written beside it, whether it was read).

    "250 000,50 MAD", "250.000,50", "$1,500,000" and "1500000.5" are all read; a lone comma
    is a decimal comma unless it groups thousands ("1,500,000")."""
    match = _CURRENCY_AROUND.match(text.replace("\u200f", "").replace("\u200e", ""))
    if match is None:
        return None, None, False
    before, number, after = match.groups()
    unit = before or after
    currency = currency_of(unit) if unit else None
    if unit and currency is None:
        return None, None, False
    number = re.sub(r"[' \u00a0\u202f]", "", number)
    if not number or not _AMOUNT.match(number):
        return None, None, False
    if "," in number and "." in number:
        decimal = "," if number.rfind(",") > number.rfind(".") else "."
        grouping = "." if decimal == "," else ","
        number = number.replace(grouping, "").replace(decimal, ".")
    elif "," in number:
        number = number.replace(",", "") if _GROUPED.match(number) else number.replace(",", ".")
    elif number.count(".") > 1:
        number = number.replace(".", "")
    if number.count(".") > 1:
        return None, None, False
    return number, currency, True
