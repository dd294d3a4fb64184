"""Writes to the reference lists."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from crm.core.errors import ValidationError
from crm.core.events import changes_of, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.reference.models import Sector
from crm.search.texts import sector_text

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def create_sector(
    session: Session,
    *,
    code: str,
    name_ar: str,
    name_fr: str,
    name_en: str,
    position: int = 0,
    actor: Any = None,
) -> Sector:
    if not CODE_RE.match(code):
        raise ValidationError.single("code", _l("Use lower-case letters, digits and underscores."))
    if session.exec(select(Sector).where(Sector.code == code)).first():
        raise ValidationError.single("code", _l("This code is already in use."))
    names = {"name_ar": name_ar.strip(), "name_fr": name_fr.strip(), "name_en": name_en.strip()}
    for field, value in names.items():
        if not value:
            raise ValidationError.single(field, _l("This field is required."))
    sector = Sector(
        code=code, position=position, name_ar=names["name_ar"], name_fr=names["name_fr"], name_en=names["name_en"]
    )
    sector.search_text = sector_text(sector)
    session.add(sector)
    record_event(session, "sector.created", sector, actor=actor, payload={"code": code, **names})
    return sector


def update_sector(session: Session, sector: Sector, *, actor: Any = None, **fields: Any) -> Sector:
    allowed = {"name_ar", "name_fr", "name_en", "position", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
    changes = changes_of(sector, fields)
    if changes:
        sector.search_text = sector_text(sector)
        record_event(session, "sector.updated", sector, actor=actor, payload={"changes": changes})
    return sector
