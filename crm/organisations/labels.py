"""Translated labels of organisation countries and kinds."""

from __future__ import annotations

from typing import Any

from crm.core.i18n import lazy_gettext as _l
from crm.organisations.models import Country, OrganisationKind

COUNTRY_LABELS = {
    Country.MA: _l("Morocco"),
    Country.US: _l("United States"),
    Country.OTHER: _l("Other country"),
}

KIND_LABELS = {
    OrganisationKind.MINISTRY: _l("Ministry"),
    OrganisationKind.AGENCY: _l("Agency"),
    OrganisationKind.FEDERATION: _l("Federation"),
    OrganisationKind.ASSOCIATION: _l("Association"),
    OrganisationKind.TECHNOLOGY_PARK: _l("Technology park"),
    OrganisationKind.COMPANY: _l("Company"),
    OrganisationKind.ACCELERATOR: _l("Accelerator"),
    OrganisationKind.US_GOVERNMENT_AGENCY: _l("US government agency"),
    OrganisationKind.UNIVERSITY: _l("University"),
    OrganisationKind.OTHER: _l("Other"),
}


def country_label(value: Any) -> str:
    return str(COUNTRY_LABELS[Country(getattr(value, "value", value))])


def kind_label(value: Any) -> str:
    return str(KIND_LABELS[OrganisationKind(getattr(value, "value", value))])


def country_choices() -> list[tuple[str, str]]:
    return [(c.value, str(label)) for c, label in COUNTRY_LABELS.items()]


def kind_choices() -> list[tuple[str, str]]:
    return [(k.value, str(label)) for k, label in KIND_LABELS.items()]
