"""Writes to organisations and contacts; each records its event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, delete, select

from crm.accounts.models import Language, Role, User
from crm.accounts.permissions import require_editor
from crm.core.db import pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import changes_of, record_event
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow
from crm.core.validation import (
    clean_email,
    clean_enum,
    clean_language,
    clean_name,
    clean_phone,
    clean_text,
    clean_zone,
)
from crm.organisations.models import Contact, Country, Organisation, OrganisationKind, OrganisationSector
from crm.reference.models import Sector
from crm.search.texts import contact_text, organisation_text

ORGANISATION_FIELDS = ("country", "kind", "name_ar", "name_fr", "name_en", "acronym", "aliases", "website")


def _clean_organisation(fields: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key in ("name_ar", "name_fr", "name_en"):
        if key in fields:
            clean[key] = clean_name(fields[key], key, max_length=300, required=False)
    if "country" in fields:
        clean["country"] = clean_enum(Country, fields["country"], "country")
    if "kind" in fields:
        clean["kind"] = clean_enum(OrganisationKind, fields["kind"], "kind")
    if "acronym" in fields:
        clean["acronym"] = clean_name(fields["acronym"], "acronym", max_length=40, required=False) or None
    if "aliases" in fields:
        aliases = [clean_name(a, "aliases", max_length=300, required=False) for a in (fields["aliases"] or []) if a]
        aliases = [a for a in aliases if a]
        clean["aliases"] = list(dict.fromkeys(aliases))
    if "website" in fields:
        website = clean_text(fields["website"], "website", max_length=300, required=False)
        if website and not website.startswith(("http://", "https://")):
            website = "https://" + website
        if len(website) > 300:
            raise ValidationError.single("website", _l("At most %(n)d characters.", n=300))
        clean["website"] = website or None
    return clean


def _refresh_search_text(org: Organisation) -> None:
    org.search_text = organisation_text(org)


def _set_sectors(session: Session, org: Organisation, sector_ids: Iterable[int]) -> list[str]:
    """Give ``org`` exactly these sectors, touching only the links that change (an unchanged
    list writes nothing, so that saving an organisation as it is records no event)."""
    ids = sorted(set(sector_ids))
    codes = list(session.exec(select(Sector.code).where(Sector.id.in_(ids))).all()) if ids else []  # type: ignore[union-attr]
    if len(codes) != len(ids):
        raise ValidationError.single("sectors", _l("Unknown sector."))
    current = set(
        session.exec(select(OrganisationSector.sector_id).where(OrganisationSector.organisation_id == org.id))
    )
    if gone := current - set(ids):
        session.exec(
            delete(OrganisationSector).where(  # type: ignore[call-overload]
                OrganisationSector.organisation_id == org.id,  # type: ignore[arg-type]
                col(OrganisationSector.sector_id).in_(gone),
            )
        )
    for sector_id in sorted(set(ids) - current):
        session.add(OrganisationSector(organisation_id=pk(org), sector_id=sector_id))
    return sorted(codes)


def create_organisation(
    session: Session,
    *,
    country: Country | str,
    kind: OrganisationKind | str,
    name_ar: str = "",
    name_fr: str = "",
    name_en: str = "",
    acronym: str | None = None,
    aliases: list[str] | None = None,
    website: str | None = None,
    sector_ids: Iterable[int] = (),
    actor: User | None = None,
) -> Organisation:
    require_editor(actor)
    fields = _clean_organisation(
        {
            "country": country,
            "kind": kind,
            "name_ar": name_ar,
            "name_fr": name_fr,
            "name_en": name_en,
            "acronym": acronym,
            "aliases": aliases or [],
            "website": website,
        }
    )
    if not (fields["name_ar"] or fields["name_fr"] or fields["name_en"]):
        raise ValidationError.single("name_en", _l("Give the name in at least one language."))
    org = Organisation(**fields)
    _refresh_search_text(org)
    session.add(org)
    session.flush()
    sectors = _set_sectors(session, org, sector_ids)
    record_event(session, "organisation.created", org, actor=actor, payload={**fields, "sectors": sectors})
    return org


def update_organisation(
    session: Session,
    org: Organisation,
    *,
    actor: User | None = None,
    sector_ids: Iterable[int] | None = None,
    **fields: Any,
) -> dict[str, list[Any]]:
    require_editor(actor)
    unknown = set(fields) - set(ORGANISATION_FIELDS)
    if unknown:
        raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
    changes = changes_of(org, _clean_organisation(fields))
    if not (org.name_ar or org.name_fr or org.name_en):
        raise ValidationError.single("name_en", _l("Give the name in at least one language."))
    if sector_ids is not None:
        before = sorted(
            session.exec(
                select(Sector.code).join(OrganisationSector).where(OrganisationSector.organisation_id == org.id)
            ).all()
        )
        after = _set_sectors(session, org, sector_ids)
        if before != after:
            changes["sectors"] = [before, after]
    if changes:
        _refresh_search_text(org)
        org.updated_at = utcnow()
        record_event(session, "organisation.updated", org, actor=actor, payload={"changes": changes})
    return changes


def merge_organisations(session: Session, keep: Organisation, duplicate: Organisation, *, actor: User) -> Any:
    """Fold ``duplicate`` into ``keep`` (see :mod:`crm.organisations.merging`); an
    administrator's act, as it rewrites many leads at once.  Returns what was moved."""
    from crm.organisations.merging import carry_out, plan_merge

    if actor.role != Role.ADMIN:
        raise PermissionDenied("only administrators merge organisations")
    if keep.id == duplicate.id:
        raise ValidationError.single("duplicate_id", _l("Choose another organisation than this one."))
    if keep.country != duplicate.country:
        raise ValidationError.single("duplicate_id", _l("Only organisations of the same country can be merged."))
    plan = plan_merge(session, keep, duplicate)
    payload = {
        "duplicate": {
            "id": duplicate.id,
            "name_ar": duplicate.name_ar,
            "name_fr": duplicate.name_fr,
            "name_en": duplicate.name_en,
            "acronym": duplicate.acronym,
        },
        **plan.to_json(),
    }
    carry_out(session, plan, keep, duplicate, actor)
    _refresh_search_text(keep)
    record_event(session, "organisation.merged", keep, actor=actor, payload=payload)
    return plan


def _clean_contact(session: Session, fields: dict[str, Any], region: str) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "organisation_id" in fields:
        if not fields["organisation_id"] or session.get(Organisation, fields["organisation_id"]) is None:
            raise ValidationError.single("organisation_id", _l("Unknown organisation."))
        clean["organisation_id"] = fields["organisation_id"]
    if "name" in fields:
        clean["name"] = clean_name(fields["name"], "name", max_length=200)
    if "title" in fields:
        clean["title"] = clean_name(fields["title"], "title", max_length=200, required=False)
    if "email" in fields:
        clean["email"] = clean_email(fields["email"], required=False)
    if "phone" in fields:
        clean["phone"] = clean_phone(fields["phone"], region=region)
    if "language" in fields:
        clean["language"] = Language(clean_language(fields["language"]))
    if "timezone" in fields:
        clean["timezone"] = clean_zone(fields["timezone"])
    return clean


def _refresh_contact_search_text(contact: Contact) -> None:
    contact.search_text = contact_text(contact)


def create_contact(
    session: Session,
    *,
    organisation_id: int,
    name: str,
    title: str = "",
    email: str | None = None,
    phone: str | None = None,
    language: Language | str = Language.FR,
    timezone: str = "Africa/Casablanca",
    actor: User | None = None,
) -> Contact:
    require_editor(actor)
    org = session.get(Organisation, organisation_id) if organisation_id else None
    if org is None:
        raise ValidationError.single("organisation_id", _l("Unknown organisation."))
    region = "US" if org.country == Country.US else "MA"
    fields = _clean_contact(
        session,
        {
            "organisation_id": organisation_id,
            "name": name,
            "title": title,
            "email": email,
            "phone": phone,
            "language": language,
            "timezone": timezone,
        },
        region,
    )
    contact = Contact(**fields)
    _refresh_contact_search_text(contact)
    session.add(contact)
    record_event(session, "contact.created", contact, actor=actor, payload=fields)
    return contact


def update_contact(
    session: Session, contact: Contact, *, actor: User | None = None, **fields: Any
) -> dict[str, list[Any]]:
    require_editor(actor)
    if contact.erased_at is not None:
        raise ValidationError.single("name", _l("This contact's personal data was erased; it cannot be changed."))
    allowed = {"organisation_id", "name", "title", "email", "phone", "language", "timezone"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError.single(sorted(unknown)[0], _l("This field cannot be changed."))
    org = session.get(Organisation, fields.get("organisation_id", contact.organisation_id))
    region = "US" if org is not None and org.country == Country.US else "MA"
    changes = changes_of(contact, _clean_contact(session, fields, region))
    if changes:
        _refresh_contact_search_text(contact)
        contact.updated_at = utcnow()
        record_event(session, "contact.updated", contact, actor=actor, payload={"changes": changes})
    return changes
