"""A lead's fields as typed (forms, API, imports): checked and normalised before an
operation writes them, each wrong one a field error in the user's language."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session

from crm.accounts.models import User
from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l
from crm.core.validation import clean_enum, clean_text
from crm.leads.models import Currency, Lead, PartnershipType, Priority
from crm.missions.models import Meeting, Mission
from crm.organisations.models import Country, Organisation
from crm.reference.models import Sector


def clean_value(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(" ", "").replace("\u202f", "").replace(",", "."))
    except InvalidOperation:
        raise ValidationError.single("estimated_value", _l("Enter an amount, e.g. 250000.")) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e14"):
        raise ValidationError.single("estimated_value", _l("Enter an amount, e.g. 250000."))
    return amount.quantize(Decimal("0.01"))


PROBABILITY = _l("Enter a whole number from 0 to 100.")
CLOSE_DATE = _l("Enter a date, e.g. 2024-03-15.")
_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%?\s*$")


def clean_probability(value: Any, field: str = "probability") -> int | None:
    """A probability in percent, a whole number from 0 to 100 ("60", "60 %"); None for none."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError.single(field, PROBABILITY)
    if isinstance(value, int):
        number = value
    else:
        match = _PERCENT.match(str(value).replace("\u00a0", " ").replace("\u202f", " "))
        if match is None:
            raise ValidationError.single(field, PROBABILITY)
        number = int(match.group(1))
    if not 0 <= number <= 100:
        raise ValidationError.single(field, PROBABILITY)
    return number


def clean_close_date(value: Any, field: str = "expected_close_on") -> date | None:
    """An expected close date (a date, or its ISO text); None for none."""
    if value is None or value == "":
        return None
    day: date
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError.single(field, CLOSE_DATE) from None
    if not 2000 <= day.year <= 2100:
        raise ValidationError.single(field, CLOSE_DATE)
    return day


def clean_lead(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """The given lead fields, checked and normalised; a field error for the first wrong one."""
    clean: dict[str, Any] = {}
    if "title" in fields:
        clean["title"] = clean_text(fields["title"], "title", max_length=300)
    if "description" in fields:
        clean["description"] = clean_text(fields["description"], "description", max_length=50000, required=False)
    for key, country, message in (
        ("ma_organisation_id", Country.MA, _l("Choose a Moroccan organisation.")),
        ("us_organisation_id", Country.US, _l("Choose a US organisation.")),
    ):
        if key in fields:
            org = session.get(Organisation, fields[key]) if fields[key] else None
            if org is None or org.country != country:
                raise ValidationError.single(key, message)
            clean[key] = org.id
    for key, model, message in (
        ("mission_id", Mission, _l("Unknown mission.")),
        ("meeting_id", Meeting, _l("Unknown meeting.")),
        ("sector_id", Sector, _l("Unknown sector.")),
    ):
        if key in fields:
            if fields[key] in (None, ""):
                clean[key] = None
            elif session.get(model, fields[key]) is None:
                raise ValidationError.single(key, message)
            else:
                clean[key] = int(fields[key])
    if "owner_id" in fields:
        owner = session.get(User, fields["owner_id"]) if fields["owner_id"] else None
        if owner is None or not owner.is_active or not owner.can_edit():
            raise ValidationError.single("owner_id", _l("The owner must be an active officer or admin."))
        clean["owner_id"] = owner.id
    if "partnership_type" in fields:
        clean["partnership_type"] = clean_enum(PartnershipType, fields["partnership_type"], "partnership_type")
    if "priority" in fields:
        clean["priority"] = clean_enum(Priority, fields["priority"], "priority")
    if "estimated_value" in fields:
        clean["estimated_value"] = clean_value(fields["estimated_value"])
    if "currency" in fields:
        clean["currency"] = clean_enum(Currency, fields["currency"], "currency") if fields["currency"] else None
    if "confidential" in fields:
        clean["confidential"] = bool(fields["confidential"])
    if "probability" in fields:
        clean["probability"] = clean_probability(fields["probability"])
    if "expected_close_on" in fields:
        clean["expected_close_on"] = clean_close_date(fields["expected_close_on"])
    return clean


def check_consistency(session: Session, lead: Lead) -> None:
    """Rules across fields: a value has a currency; a meeting's lead is in the meeting's mission."""
    if lead.estimated_value is not None and lead.currency is None:
        raise ValidationError.single("currency", _l("Choose the currency of the value."))
    if lead.meeting_id is not None:
        meeting = session.get(Meeting, lead.meeting_id)
        if meeting is not None and meeting.mission_id is not None:
            if lead.mission_id is None:
                lead.mission_id = meeting.mission_id
            elif lead.mission_id != meeting.mission_id:
                raise ValidationError.single("meeting_id", _l("This meeting belongs to another mission."))
