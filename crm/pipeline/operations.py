"""Administrators' settings of pipeline economics; each change records its event."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, select

from crm.accounts.models import User
from crm.accounts.permissions import is_admin
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import jsonable, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.leads.fields import clean_probability
from crm.leads.models import Stage
from crm.pipeline.models import ReferenceRate, StageProbability
from crm.pipeline.queries import current_rate, probability_field, stage_probabilities

ADMINS_ONLY = _l("Only an administrator can change the pipeline settings.")
RATE = _l("Enter how many dirhams one dollar is worth, e.g. 10.05.")


def _require_admin(actor: User | None) -> None:
    if actor is not None and not is_admin(actor):
        raise PermissionDenied("not an administrator: pipeline settings", message=ADMINS_ONLY)


def set_stage_probabilities(
    session: Session, probabilities: dict[Any, Any], *, actor: User | None = None
) -> dict[str, list[int]]:
    """Set the default probability of some stages (``{stage: percent}``); every value is
    checked before any is written. Returns ``{stage: [old, new]}`` of what changed."""
    _require_admin(actor)
    wanted: dict[Stage, int] = {}
    for key, value in probabilities.items():
        try:
            stage = Stage(getattr(key, "value", key))
        except ValueError:
            raise ValidationError.single(str(key), _l("This field cannot be changed.")) from None
        percent = clean_probability(value, probability_field(stage))
        if percent is None:
            raise ValidationError.single(probability_field(stage), _l("This field is required."))
        wanted[stage] = percent
    current = stage_probabilities(session)
    rows = {row.stage: row for row in session.exec(select(StageProbability)).all()}
    changes: dict[str, list[int]] = {}
    for stage, percent in wanted.items():
        if current[stage] == percent:
            continue
        row = rows.get(stage)
        if row is None:
            row = StageProbability(stage=stage, probability=percent)
            session.add(row)
        else:
            row.probability = percent
            row.updated_at = utcnow()
        changes[stage.value] = [current[stage], percent]
        record_event(
            session,
            "pipeline.stage_probability_changed",
            row,
            actor=actor,
            payload={"stage": stage, "from": current[stage], "to": percent},
        )
    return changes


def _clean_rate(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        rate = Decimal(str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ValidationError.single("mad_per_usd", RATE) from None
    if not rate.is_finite() or rate <= 0 or rate >= 100000 or rate != rate.quantize(Decimal("0.0001")):
        raise ValidationError.single("mad_per_usd", RATE)
    return rate.quantize(Decimal("0.0001"))


def set_reference_rate(session: Session, rate: Any, *, actor: User | None = None) -> ReferenceRate | None:
    """Set the reference rate (dirhams for one dollar), or withdraw it with None / "".
    Returns the new row, or None when the rate in force is already that one."""
    _require_admin(actor)
    wanted = _clean_rate(rate)
    now = current_rate(session)
    previous = Decimal(now.mad_per_usd) if now is not None and now.mad_per_usd is not None else None
    if wanted == previous:
        return None
    row = ReferenceRate(mad_per_usd=wanted, set_by_id=getattr(actor, "id", None))
    session.add(row)
    record_event(
        session,
        "pipeline.reference_rate_set",
        row,
        actor=actor,
        payload={"mad_per_usd": jsonable(wanted), "previous": jsonable(previous)},
    )
    return row
