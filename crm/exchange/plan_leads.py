"""Planning a leads import.

A row updates an existing lead when it gives the lead's ID (as Jisr's export does) or when
a lead the importer may see has the same title between the same two organisations;
otherwise it creates one. An update changes only what the file fills in and says so
field by field; the stage moves through the pipeline operation. Confidential leads the
importer may not see are never matched (nor revealed): such a row creates a new lead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import col, select

from crm.core.db import parse_id
from crm.core.errors import ValidationError
from crm.core.events import jsonable
from crm.core.i18n import lazy_gettext as _l
from crm.core.text import normalise
from crm.core.validation import clean_text
from crm.exchange.defaults import DEFAULT_NOTE
from crm.exchange.models import ImportKind, RowAction
from crm.exchange.plan import (
    OrganisationIndex,
    Planner,
    RowPlan,
    SourceRow,
    chunked,
    mission_index,
    resolve_one,
    sector_index,
    user_index,
)
from crm.exchange.vocabulary import (
    amount_of,
    currency_of,
    flag_of,
    lookup,
    partnership_types,
    priorities,
    stages,
)
from crm.leads.fields import CLOSE_DATE, clean_close_date, clean_probability
from crm.leads.models import Lead
from crm.leads.operations import create_lead, create_leads, move_lead_to_stage, update_lead
from crm.leads.queries import visible_to
from crm.leads.rights import MANAGED_FIELDS, refused_field
from crm.missions.models import Meeting
from crm.organisations.models import Country

CREATE_BATCH = 500
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
REQUIRED_TO_CREATE = (
    ("title", "title"),
    ("ma_organisation_id", "ma_organisation"),
    ("us_organisation_id", "us_organisation"),
    ("partnership_type", "partnership_type"),
)
# The lead's columns an import may change, by the import field that fills them.
COLUMNS = {
    "title": "title",
    "description": "description",
    "ma_organisation_id": "ma_organisation",
    "us_organisation_id": "us_organisation",
    "partnership_type": "partnership_type",
    "stage": "stage",
    "sector_id": "sector",
    "owner_id": "owner",
    "priority": "priority",
    "estimated_value": "estimated_value",
    "currency": "currency",
    "probability": "probability",
    "expected_close_on": "expected_close_on",
    "confidential": "confidential",
    "mission_id": "mission",
}


def day_of(text: str) -> date | None:
    """A date as a file writes it: 2027-03-31 (a spreadsheet's "2027-03-31 00:00:00" too)
    or 31/03/2027."""
    cleaned = text.strip()
    if match := _DAY_MONTH_YEAR.match(cleaned):
        day, month, year = (int(part) for part in match.groups())
        try:
            return clean_close_date(date(year, month, day))
        except ValueError:
            raise ValidationError.single("expected_close_on", CLOSE_DATE) from None
    return clean_close_date(cleaned.split(" ")[0].split("T")[0])


def _amount(text: str) -> Decimal | None:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e14"):
        return None
    return amount.quantize(Decimal("0.01"))


class LeadPlanner(Planner):
    kind = ImportKind.LEADS

    def prepare(self, rows: list[SourceRow]) -> None:
        session = self.session
        self.orgs = OrganisationIndex(session)
        self.sectors = sector_index(session)
        self.users = user_index(session)
        self.missions = mission_index(session)
        ids = {lead_id for r in rows if (lead_id := parse_id(r.get("id"))) is not None}
        titles = {normalise(r.get("title")) for r in rows if r.get("title")}
        self.leads: dict[int, Lead] = {}
        self.by_key: dict[tuple[str, int, int], Lead] = {}
        for batch in chunked(sorted(ids)):
            for lead in session.exec(select(Lead).where(col(Lead.id).in_(batch), visible_to(self.actor))).all():
                self.leads[lead.id or 0] = lead
        for title_batch in chunked(sorted(titles)):
            query = (
                select(Lead)
                .where(col(Lead.search_text).in_(title_batch), visible_to(self.actor))
                .order_by(col(Lead.id))
            )
            for lead in session.exec(query).all():
                self.leads[lead.id or 0] = lead
                self.by_key.setdefault((lead.search_text, lead.ma_organisation_id, lead.us_organisation_id), lead)
        # The mission of each matched lead's meeting: a lead cannot move to another mission than its meeting's.
        meeting_ids = sorted({lead.meeting_id for lead in self.leads.values() if lead.meeting_id is not None})
        self.meeting_missions: dict[int, int | None] = {}
        for meeting_batch in chunked(meeting_ids):
            found = session.exec(select(Meeting.id, Meeting.mission_id).where(col(Meeting.id).in_(meeting_batch)))
            self.meeting_missions.update({m: mission for m, mission in found.all() if m is not None})
        self.seen_ids: dict[int, int] = {}
        self.seen_keys: dict[tuple[str, int, int], int] = {}

    def _wanted(self, plan: RowPlan, row: SourceRow) -> dict[str, Any]:
        """The row's values as the lead operations take them (only the cells that are filled)."""
        wanted: dict[str, Any] = {}
        if title := row.get("title"):
            wanted["title"] = plan.check("title", lambda: clean_text(title, "title", max_length=300))
        if description := row.get("description"):
            wanted["description"] = plan.check(
                "description", lambda: clean_text(description, "description", max_length=50000)
            )
        for key, field, country in (
            ("ma_organisation_id", "ma_organisation", Country.MA),
            ("us_organisation_id", "us_organisation", Country.US),
        ):
            if text := row.get(field):
                org = self.orgs.resolve(plan, field, text, country)
                wanted[key] = org.id if org is not None else None
        if text := row.get("partnership_type"):
            wanted["partnership_type"] = lookup(partnership_types(), text)
            if wanted["partnership_type"] is None:
                plan.problem("partnership_type", _l("Unknown partnership type “%(value)s”.", value=text))
        if text := row.get("stage"):
            wanted["stage"] = lookup(stages(), text)
            if wanted["stage"] is None:
                plan.problem("stage", _l("Unknown stage “%(value)s”.", value=text))
        if text := row.get("priority"):
            wanted["priority"] = lookup(priorities(), text)
            if wanted["priority"] is None:
                plan.problem("priority", _l("Unknown priority “%(value)s”.", value=text))
        if text := row.get("sector"):
            sector = resolve_one(
                plan, "sector", self.sectors, text, _l("Unknown sector “%(value)s”.", value=text), _l("Unknown sector.")
            )
            wanted["sector_id"] = sector.id if sector is not None else None
        if text := row.get("mission"):
            mission = resolve_one(
                plan,
                "mission",
                self.missions,
                text,
                _l("Unknown mission “%(value)s”.", value=text),
                _l("Several missions are called “%(value)s”.", value=text),
            )
            wanted["mission_id"] = mission.id if mission is not None else None
        if text := row.get("owner"):
            owner = resolve_one(
                plan,
                "owner",
                self.users,
                text,
                _l("No user has the email or name “%(value)s”.", value=text),
                _l("Several users are called “%(value)s”: give the email.", value=text),
            )
            if owner is not None and not (owner.is_active and owner.can_edit()):
                plan.problem("owner", _l("The owner must be an active officer or admin."))
            wanted["owner_id"] = owner.id if owner is not None else None
        self._money(plan, row, wanted)
        if text := row.get("probability"):
            wanted["probability"] = plan.check("probability", lambda: clean_probability(text))
        if text := row.get("expected_close_on"):
            wanted["expected_close_on"] = plan.check("expected_close_on", lambda: day_of(text))
        if text := row.get("confidential"):
            wanted["confidential"] = flag_of(text)
            if wanted["confidential"] is None:
                plan.problem("confidential", _l("Write yes or no (“%(value)s” is neither).", value=text))
        return wanted

    def _money(self, plan: RowPlan, row: SourceRow, wanted: dict[str, Any]) -> None:
        written_currency = None
        if text := row.get("currency"):
            written_currency = currency_of(text)
            if written_currency is None:
                plan.problem("currency", _l("Unknown currency “%(value)s”: write MAD or USD.", value=text))
        if text := row.get("estimated_value"):
            number, beside, read = amount_of(text)
            amount = _amount(number) if read and number else None
            if amount is None:
                plan.problem("estimated_value", _l("Enter an amount, e.g. 250000."))
            wanted["estimated_value"] = amount
            if beside is not None and written_currency is not None and beside != written_currency:
                plan.problem("currency", _l("The amount and the currency column disagree."))
            written_currency = written_currency or beside
        if written_currency is not None:
            wanted["currency"] = written_currency

    def plan_row(self, row: SourceRow) -> RowPlan:
        plan = RowPlan(row.number)
        lead: Lead | None = None
        raw_id = row.get("id")
        if raw_id:
            found_id = parse_id(raw_id)
            lead = self.leads.get(found_id) if found_id is not None else None
            if lead is None:
                plan.problem("id", _l("There is no lead with the ID %(id)s that you may see.", id=raw_id))
        wanted = self._wanted(plan, row)
        ma, us = wanted.get("ma_organisation_id"), wanted.get("us_organisation_id")
        key = (normalise(wanted["title"]), ma, us) if wanted.get("title") and ma and us else None
        if lead is None and not raw_id and key is not None:
            lead = self.by_key.get(key)  # type: ignore[arg-type]
        if lead is None and raw_id:
            plan.label = wanted.get("title") or ""
        elif lead is None:
            self._fill_defaults(plan, row, wanted)
            self._plan_create(plan, wanted)
        else:
            self._plan_update(plan, lead, wanted)
            key = (lead.search_text, lead.ma_organisation_id, lead.us_organisation_id)
        if not plan.problems:
            self._check_repeats(plan, lead, key)
        return plan

    def _fill_defaults(self, plan: RowPlan, row: SourceRow, wanted: dict[str, Any]) -> None:
        """The values for all rows, where this new lead's cell is empty (read as a cell is)."""
        given = {name: text for name, text in self.defaults.items() if not row.get(name)}
        if not given:
            return
        for key, value in self._wanted(plan, SourceRow(row.number, given)).items():
            if key not in wanted:
                wanted[key] = value
                plan.note(COLUMNS.get(key, key), DEFAULT_NOTE)

    def _plan_create(self, plan: RowPlan, wanted: dict[str, Any]) -> None:
        plan.action = RowAction.CREATE
        for key, field in REQUIRED_TO_CREATE:
            if key not in wanted:
                plan.problem(field, _l("This field is required."))
        if wanted.get("estimated_value") is not None and wanted.get("currency") is None:
            plan.problem("currency", _l("Choose the currency of the value."))
        wanted.setdefault("owner_id", self.actor.id)
        plan.label = wanted.get("title") or ""
        plan.values = wanted

    def _plan_update(self, plan: RowPlan, lead: Lead, wanted: dict[str, Any]) -> None:
        plan.action = RowAction.UPDATE
        plan.target_id = lead.id
        plan.label = lead.title
        if wanted.get("estimated_value") is not None and "currency" not in wanted and lead.currency is None:
            plan.problem("currency", _l("Choose the currency of the value."))
        mission = wanted.get("mission_id")
        meeting_mission = self.meeting_missions.get(lead.meeting_id) if lead.meeting_id is not None else None
        if mission is not None and meeting_mission is not None and mission != meeting_mission:
            plan.problem("mission", _l("This meeting belongs to another mission."))
        for key, value in wanted.items():
            if value is not None and getattr(lead, key) != value:
                plan.values[key] = value
                plan.changes[key] = [jsonable(getattr(lead, key)), jsonable(value)]
        # The owner and confidentiality of a lead are its managers' to change, in a file too.
        if refused_field(self.actor, lead, plan.values) is not None:
            for key, message in MANAGED_FIELDS.items():
                if key in plan.values:
                    plan.problem(COLUMNS[key], message)

    def _check_repeats(self, plan: RowPlan, lead: Lead | None, key: tuple[Any, ...] | None) -> None:
        if lead is not None:
            first = self.seen_ids.setdefault(lead.id or 0, plan.number)
            if first != plan.number:
                plan.problem(None, _l("The same lead as row %(row)d.", row=first))
                return
        if key is not None:
            first = self.seen_keys.setdefault(key, plan.number)  # type: ignore[arg-type]
            if first != plan.number:
                plan.problem(None, _l("The same lead as row %(row)d.", row=first))

    def apply_all(self, plans: list[RowPlan], progress: Callable[[int, int], None] | None = None) -> dict[int, int]:
        """New leads go to the operations in batches (one flush per batch), updates one by one."""
        ids: dict[int, int] = {}
        total = len(plans)
        for start in range(0, total, CREATE_BATCH):
            batch = plans[start : start + CREATE_BATCH]
            creates = [plan for plan in batch if plan.action == RowAction.CREATE]
            try:
                leads = create_leads(self.session, [plan.values for plan in creates], actor=self.actor)
            except ValidationError:
                for plan in creates:  # find the row to blame (this raises RowFailed)
                    self.apply_one(plan)
                raise
            ids.update({plan.number: lead.id or 0 for plan, lead in zip(creates, leads, strict=True)})
            for plan in batch:
                if plan.action == RowAction.UPDATE:
                    ids[plan.number] = self.apply_one(plan)
            if progress is not None:
                progress(min(start + CREATE_BATCH, total), total)
        return ids

    def apply(self, plan: RowPlan) -> int:
        values = dict(plan.values)
        if plan.action == RowAction.CREATE:
            lead = create_lead(self.session, actor=self.actor, **values)
            return lead.id or 0
        lead = self.leads[plan.target_id or 0]
        stage = values.pop("stage", None)
        if values:
            update_lead(self.session, lead, actor=self.actor, **values)
        if stage is not None:
            move_lead_to_stage(self.session, lead, stage, actor=self.actor)
        return lead.id or 0
