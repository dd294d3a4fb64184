"""Planning an organisations import.

A row is matched to an organisation by any of its names, its acronym or an alias, in any
language or script, normalised as search normalises them — "ADD", "Agence de
Développement du Digital" and "وكالة التنمية الرقمية" are one organisation. An update
completes the organisation and never overwrites it: empty names, acronym, website and
kind are filled in, a different name or acronym becomes another alias (so it matches next
time), new aliases and sectors are added. A different country is an error.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from sqlmodel import select

from crm.core.i18n import lazy_gettext as _l
from crm.core.i18n import list_separator
from crm.core.text import normalise
from crm.core.validation import clean_name, clean_text
from crm.exchange.models import ImportKind, RowAction
from crm.exchange.plan import OrganisationIndex, Planner, RowPlan, SourceRow, sector_index, split_list
from crm.exchange.vocabulary import countries, lookup, organisation_kinds
from crm.organisations.labels import country_label
from crm.organisations.models import Country, Organisation, OrganisationKind, OrganisationSector
from crm.organisations.operations import create_organisation, update_organisation

ARABIC = re.compile("[\u0600-\u06ff]")
NAME_FIELDS = ("name_ar", "name_fr", "name_en")


def _website(text: str) -> str:
    return text if text.startswith(("http://", "https://")) else "https://" + text


class OrganisationPlanner(Planner):
    kind = ImportKind.ORGANISATIONS

    def prepare(self, rows: list[SourceRow]) -> None:
        self.orgs = OrganisationIndex(self.session)
        self.sectors = sector_index(self.session)
        self.links: dict[int, set[int]] = defaultdict(set)
        for org_id, sector_id in self.session.exec(
            select(OrganisationSector.organisation_id, OrganisationSector.sector_id)
        ).all():
            self.links[org_id].add(sector_id)
        self.new_terms: dict[str, int] = {}  # names of organisations the file creates -> row
        self.seen: dict[int, int] = {}

    def _read(self, plan: RowPlan, row: SourceRow) -> dict[str, Any]:
        found: dict[str, Any] = {}
        country = None
        if text := row.get("country"):
            country = lookup(countries(), text)
            if country is None:
                plan.problem(
                    "country", _l("Unknown country “%(value)s”: write Morocco, United States or other.", value=text)
                )
            found["country"] = country
        for field in NAME_FIELDS:
            if text := row.get(field):
                found[field] = plan.check(field, lambda t=text, f=field: clean_name(t, f, max_length=300))  # type: ignore[misc]
        aliases = split_list(row.get("aliases"))
        if text := row.get("name"):
            name = plan.check("name", lambda: clean_name(text, "name", max_length=300))
            slot = "name_ar" if ARABIC.search(text) else ("name_en" if country == Country.US else "name_fr")
            if not found.get(slot):
                found[slot] = name
            elif normalise(found[slot]) != normalise(text):
                aliases.append(text)
        if text := row.get("acronym"):
            found["acronym"] = plan.check("acronym", lambda: clean_text(text, "acronym", max_length=40))
        found["aliases"] = aliases
        if text := row.get("kind"):
            found["kind"] = lookup(organisation_kinds(), text)
            if found["kind"] is None:
                plan.problem("kind", _l("Unknown kind of organisation “%(value)s”.", value=text))
        if text := row.get("website"):
            found["website"] = plan.check("website", lambda: clean_text(_website(text), "website", max_length=300))
        sector_ids = []
        for name in split_list(row.get("sectors")):
            sectors = self.sectors.find(name)
            if len(sectors) != 1:
                plan.problem("sectors", _l("Unknown sector “%(value)s”.", value=name))
            else:
                sector_ids.append(sectors[0].id)
        found["sector_ids"] = sector_ids
        return found

    def plan_row(self, row: SourceRow) -> RowPlan:
        plan = RowPlan(row.number)
        found = self._read(plan, row)
        terms = {
            normalise(v) for v in (*(found.get(f) for f in NAME_FIELDS), found.get("acronym"), *found["aliases"]) if v
        } - {""}
        earlier = sorted({self.new_terms[t] for t in terms if t in self.new_terms})
        matched = sorted({i for t in terms for i in self.orgs.terms.get(t, ())})
        if earlier:
            plan.problem(None, _l("The same organisation as row %(row)d.", row=earlier[0]))
        elif len(matched) > 1:
            names = list_separator().join(self.orgs.by_id[i].short_name() for i in matched)
            plan.problem(None, _l("These names belong to several organisations: %(names)s.", names=names))
        elif matched:
            self._plan_update(plan, self.orgs.by_id[matched[0]], found)
        else:
            self._plan_create(plan, found)
        if not plan.problems and plan.action == RowAction.CREATE:
            for term in terms:
                self.new_terms[term] = plan.number
        elif not plan.problems and plan.target_id is not None:
            first = self.seen.setdefault(plan.target_id, plan.number)
            if first != plan.number:
                plan.problem(None, _l("The same organisation as row %(row)d.", row=first))
        return plan

    def _plan_create(self, plan: RowPlan, found: dict[str, Any]) -> None:
        plan.action = RowAction.CREATE
        if "country" not in found:
            plan.problem("country", _l("Give the country: Morocco, United States or other."))
        if not any(found.get(f) for f in NAME_FIELDS):
            plan.problem("name", _l("Give the name in at least one language."))
        plan.values = {
            "country": found.get("country"),
            "kind": found.get("kind") or OrganisationKind.OTHER,
            **{f: found.get(f) or "" for f in NAME_FIELDS},
            "acronym": found.get("acronym"),
            "aliases": found["aliases"],
            "website": found.get("website"),
            "sector_ids": found["sector_ids"],
        }
        plan.label = found.get("acronym") or next((found[f] for f in NAME_FIELDS if found.get(f)), "")

    def _plan_update(self, plan: RowPlan, org: Organisation, found: dict[str, Any]) -> None:
        plan.action = RowAction.UPDATE
        plan.target_id = org.id
        plan.label = org.short_name()
        if found.get("country") is not None and found["country"] != org.country:
            plan.problem(
                "country", _l("In Jisr this organisation is in %(country)s.", country=country_label(org.country))
            )
        known = set(org.search_text.split(" | "))
        aliases = list(org.aliases)
        for field in (*NAME_FIELDS, "acronym"):
            value = found.get(field)
            if not value:
                continue
            if not getattr(org, field):
                self._change(plan, org, field, value)
            elif normalise(getattr(org, field)) != normalise(value) and normalise(value) not in known:
                aliases.append(value)
                known.add(normalise(value))
        for alias in found["aliases"]:
            if normalise(alias) not in known:
                aliases.append(alias)
                known.add(normalise(alias))
        if aliases != org.aliases:
            self._change(plan, org, "aliases", aliases)
        if found.get("website"):
            if not org.website:
                self._change(plan, org, "website", found["website"])
            elif org.website != found["website"]:
                plan.note("website", _l("The website in Jisr is kept: %(website)s.", website=org.website))
        if found.get("kind") and org.kind == OrganisationKind.OTHER:
            self._change(plan, org, "kind", found["kind"])
        before = sorted(self.links[org.id or 0])
        after = sorted(set(before) | set(found["sector_ids"]))
        if after != before:
            plan.values["sector_ids"] = after
            plan.changes["sector_ids"] = [before, after]

    @staticmethod
    def _change(plan: RowPlan, org: Organisation, field: str, value: Any) -> None:
        before = getattr(org, field)
        plan.values[field] = value
        plan.changes[field] = [getattr(before, "value", before), getattr(value, "value", value)]

    def apply(self, plan: RowPlan) -> int:
        values = dict(plan.values)
        sector_ids = values.pop("sector_ids", None)
        if plan.action == RowAction.CREATE:
            org = create_organisation(self.session, actor=self.actor, sector_ids=sector_ids or (), **values)
            return org.id or 0
        org = self.orgs.by_id[plan.target_id or 0]
        update_organisation(self.session, org, actor=self.actor, sector_ids=sector_ids, **values)
        return org.id or 0
