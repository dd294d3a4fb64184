"""Planning a contacts import.

A row is matched to a contact by email; a row without an email, by the same name at the
same organisation. An update overwrites what the file fills in (name, job title, phone,
organisation, language, time zone) and leaves the rest. The organisation is found by any
of its names, as in an organisations import.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import col, select

from crm.accounts.models import Language
from crm.core.i18n import lazy_gettext as _l
from crm.core.text import normalise
from crm.core.validation import clean_email, clean_name, clean_phone, clean_zone
from crm.exchange.models import ImportKind, RowAction
from crm.exchange.plan import OrganisationIndex, Planner, RowPlan, SourceRow, chunked
from crm.exchange.vocabulary import languages, lookup
from crm.organisations.models import Contact, Country, Organisation
from crm.organisations.operations import create_contact, update_contact

DEFAULT_ZONES = {Country.MA: "Africa/Casablanca", Country.US: "America/New_York"}
FIELDS = ("name", "title", "organisation_id", "phone", "language", "timezone")


def _email_key(text: str) -> str:
    return text.strip().lower()


class ContactPlanner(Planner):
    kind = ImportKind.CONTACTS

    def prepare(self, rows: list[SourceRow]) -> None:
        session = self.session
        self.orgs = OrganisationIndex(session)
        emails = {_email_key(r.get("email")) for r in rows if r.get("email")}
        self.by_email: dict[str, list[Contact]] = defaultdict(list)
        self.contacts: dict[int, Contact] = {}
        for batch in chunked(sorted(emails)):
            for contact in session.exec(select(Contact).where(col(Contact.email).in_(batch))).all():
                self.by_email[contact.email or ""].append(contact)
                self.contacts[contact.id or 0] = contact
        org_ids = set()
        for row in rows:
            if not row.get("email") and row.get("organisation"):
                org_ids |= {o.id for o in self.orgs.find(row.get("organisation"))}
        self.by_name: dict[tuple[str, int], list[Contact]] = defaultdict(list)
        for id_batch in chunked(sorted(i for i in org_ids if i is not None)):
            for contact in session.exec(select(Contact).where(col(Contact.organisation_id).in_(id_batch))).all():
                self.by_name[(normalise(contact.name), contact.organisation_id)].append(contact)
                self.contacts[contact.id or 0] = contact
        self.seen: dict[Any, int] = {}

    def _read(self, plan: RowPlan, row: SourceRow) -> tuple[dict[str, Any], Organisation | None]:
        found: dict[str, Any] = {}
        org = None
        if text := row.get("organisation"):
            org = self.orgs.resolve(plan, "organisation", text, None)
            found["organisation_id"] = org.id if org is not None else None
        if text := row.get("email"):
            found["email"] = plan.check("email", lambda: clean_email(text))
        for field in ("name", "title"):
            if text := row.get(field):
                found[field] = plan.check(field, lambda t=text, f=field: clean_name(t, f, max_length=200))  # type: ignore[misc]
        if text := row.get("language"):
            found["language"] = lookup(languages(), text)
            if found["language"] is None:
                plan.problem("language", _l("Choose Arabic, French or English."))
        if text := row.get("timezone"):
            found["timezone"] = plan.check("timezone", lambda: clean_zone(text))
        return found, org

    def _match(self, plan: RowPlan, found: dict[str, Any]) -> Contact | None:
        if found.get("email"):
            matches = self.by_email.get(found["email"], [])
        elif found.get("name") and found.get("organisation_id"):
            matches = self.by_name.get((normalise(found["name"]), found["organisation_id"]), [])
        else:
            return None
        if len(matches) > 1:
            plan.problem("email" if found.get("email") else "name", _l("Several contacts in Jisr match this row."))
            return None
        return matches[0] if matches else None

    def plan_row(self, row: SourceRow) -> RowPlan:
        plan = RowPlan(row.number)
        found, org = self._read(plan, row)
        contact = self._match(plan, found)
        if contact is not None and org is None:
            org = self.orgs.by_id.get(contact.organisation_id)
        if text := row.get("phone"):
            region = "US" if org is not None and org.country == Country.US else "MA"
            found["phone"] = plan.check("phone", lambda: clean_phone(text, region=region))
        if contact is None:
            self._plan_create(plan, found, org)
        else:
            self._plan_update(plan, contact, found)
        if not plan.problems:
            key = found.get("email") or (normalise(found.get("name") or ""), found.get("organisation_id"))
            first = self.seen.setdefault(key, plan.number)
            if first != plan.number:
                plan.problem(None, _l("The same contact as row %(row)d.", row=first))
        return plan

    def _plan_create(self, plan: RowPlan, found: dict[str, Any], org: Organisation | None) -> None:
        plan.action = RowAction.CREATE
        for field, key in (("name", "name"), ("organisation", "organisation_id")):
            if key not in found:
                plan.problem(field, _l("This field is required."))
        if org is not None:
            found.setdefault("language", Language.FR if org.country == Country.MA else Language.EN)
            found.setdefault("timezone", DEFAULT_ZONES.get(org.country, "Africa/Casablanca"))
        plan.values = found
        plan.label = found.get("name") or ""

    def _plan_update(self, plan: RowPlan, contact: Contact, found: dict[str, Any]) -> None:
        plan.action = RowAction.UPDATE
        plan.target_id = contact.id
        plan.label = contact.name
        for key in FIELDS:
            value = found.get(key)
            if value is not None and getattr(contact, key) != value:
                before = getattr(contact, key)
                plan.values[key] = value
                plan.changes[key] = [getattr(before, "value", before), getattr(value, "value", value)]

    def apply(self, plan: RowPlan) -> int:
        if plan.action == RowAction.CREATE:
            contact = create_contact(self.session, actor=self.actor, **plan.values)
            return contact.id or 0
        contact = self.contacts[plan.target_id or 0]
        update_contact(self.session, contact, actor=self.actor, **plan.values)
        return contact.id or 0
