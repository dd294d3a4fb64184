"""``/organisations`` and ``/contacts``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from sqlmodel import col

from crm.api.framework import Call, Reply, created, endpoint
from crm.api.listing import links_of, list_page, page_reply
from crm.api.problems import ApiError, invalid
from crm.api.schemas.organisations import (
    ContactCreate,
    ContactList,
    ContactOut,
    ContactQuery,
    ContactUpdate,
    OrganisationCreate,
    OrganisationList,
    OrganisationMerge,
    OrganisationOut,
    OrganisationQuery,
    OrganisationUpdate,
)
from crm.core.db import db, pk
from crm.core.i18n import lazy_gettext as _l
from crm.organisations.models import Contact, Organisation, OrganisationSector
from crm.organisations.operations import (
    create_contact,
    create_organisation,
    merge_organisations,
    update_contact,
    update_organisation,
)
from crm.privacy.operations import delete_contact
from crm.search.matching import text_match


def organisation_out(orgs: list[Organisation]) -> list[OrganisationOut]:
    sectors = links_of(db.session, OrganisationSector, "organisation_id", "sector_id", [pk(o) for o in orgs])
    return [OrganisationOut.model_validate({**o.model_dump(), "sector_ids": sectors.get(pk(o), [])}) for o in orgs]


def _organisation(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise ApiError(404)
    return org


@endpoint(
    "GET",
    "/organisations",
    name="list_organisations",
    tag="organisations",
    summary="List organisations",
    query=OrganisationQuery,
    response=OrganisationList,
)
def list_organisations(call: Call) -> Any:
    """Moroccan institutions and US firms and agencies, with their names in three languages."""
    q: OrganisationQuery = call.query
    query = select(Organisation)
    if q.country is not None:
        query = query.where(col(Organisation.country) == q.country)
    if q.kind is not None:
        query = query.where(col(Organisation.kind) == q.kind)
    if q.sector_id is not None:
        query = query.where(
            exists().where(
                col(OrganisationSector.organisation_id) == col(Organisation.id),
                col(OrganisationSector.sector_id) == q.sector_id,
            )
        )
    if (matching := text_match(db.session, Organisation, q.q)) is not None:
        query = query.where(matching)
    columns = {
        "name": func.lower(func.coalesce(Organisation.acronym, Organisation.name_en, "")),
        "created_at": col(Organisation.created_at),
        "updated_at": col(Organisation.updated_at),
        "id": col(Organisation.id),
    }
    found = list_page(db.session, query, q, name="organisations", columns=columns, tie=col(Organisation.id))
    return page_reply(OrganisationList, organisation_out([row[0] for row in found.rows]), found)


@endpoint(
    "GET",
    "/organisations/<int:organisation_id>",
    name="get_organisation",
    tag="organisations",
    summary="Read an organisation",
    response=OrganisationOut,
    conditional=True,
)
def get_organisation(call: Call, organisation_id: int) -> Any:
    return organisation_out([_organisation(organisation_id)])[0]


@endpoint(
    "POST",
    "/organisations",
    name="create_organisation",
    tag="organisations",
    summary="Create an organisation",
    body=OrganisationCreate,
    response=OrganisationOut,
    status=201,
    conditional=True,
)
def create_organisation_endpoint(call: Call) -> Any:
    fields = call.body.model_dump()
    org = create_organisation(db.session, actor=call.user, **fields)
    return created(organisation_out([org])[0], "get_organisation", organisation_id=pk(org))


@endpoint(
    "PATCH",
    "/organisations/<int:organisation_id>",
    name="update_organisation",
    tag="organisations",
    summary="Change an organisation",
    body=OrganisationUpdate,
    response=OrganisationOut,
    conditional=True,
)
def update_organisation_endpoint(call: Call, organisation_id: int) -> Any:
    org = _organisation(organisation_id)
    call.require_match(organisation_out([org])[0])
    fields = call.changes()
    sector_ids = fields.pop("sector_ids", None)
    update_organisation(db.session, org, actor=call.user, sector_ids=sector_ids, **fields)
    return organisation_out([org])[0]


@endpoint(
    "POST",
    "/organisations/<int:organisation_id>/merge",
    name="merge_organisations",
    tag="organisations",
    summary="Merge a duplicate into an organisation",
    body=OrganisationMerge,
    response=OrganisationOut,
    conditional=True,
)
def merge_organisations_endpoint(call: Call, organisation_id: int) -> Any:
    """Administrators only, as on the organisation's page.  Everything that names the
    duplicate (leads, contacts, meetings, missions, digest subscriptions, saved filters)
    moves to this organisation, each lead and contact with its own ``updated`` event; the
    duplicate's names become aliases of this one; then the duplicate is deleted and
    ``organisation.merged`` is recorded.  Answers this organisation as it now is."""
    org = _organisation(organisation_id)
    call.require_match(organisation_out([org])[0])
    duplicate = db.session.get(Organisation, call.body.duplicate_id)
    if duplicate is None:
        raise invalid([{"loc": ["body", "duplicate_id"], "message": _l("Unknown organisation."), "type": "invalid"}])
    merge_organisations(db.session, org, duplicate, actor=call.user)
    return organisation_out([org])[0]


def _contact(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise ApiError(404)
    return contact


@endpoint(
    "GET",
    "/contacts",
    name="list_contacts",
    tag="contacts",
    summary="List contacts",
    query=ContactQuery,
    response=ContactList,
)
def list_contacts(call: Call) -> Any:
    """People at the organisations."""
    q: ContactQuery = call.query
    query = select(Contact)
    if q.organisation_id is not None:
        query = query.where(col(Contact.organisation_id) == q.organisation_id)
    if q.email is not None:
        query = query.where(func.lower(Contact.email) == q.email.strip().lower())
    if (matching := text_match(db.session, Contact, q.q)) is not None:
        query = query.where(matching)
    columns = {
        "name": func.lower(Contact.name),
        "created_at": col(Contact.created_at),
        "updated_at": col(Contact.updated_at),
        "id": col(Contact.id),
    }
    found = list_page(db.session, query, q, name="contacts", columns=columns, tie=col(Contact.id))
    return page_reply(ContactList, [ContactOut.model_validate(row[0]) for row in found.rows], found)


@endpoint(
    "GET",
    "/contacts/<int:contact_id>",
    name="get_contact",
    tag="contacts",
    summary="Read a contact",
    response=ContactOut,
    conditional=True,
)
def get_contact(call: Call, contact_id: int) -> Any:
    return ContactOut.model_validate(_contact(contact_id))


@endpoint(
    "POST",
    "/contacts",
    name="create_contact",
    tag="contacts",
    summary="Create a contact",
    body=ContactCreate,
    response=ContactOut,
    status=201,
    conditional=True,
)
def create_contact_endpoint(call: Call) -> Any:
    contact = create_contact(db.session, actor=call.user, **call.body.model_dump())
    db.session.flush()
    return created(ContactOut.model_validate(contact), "get_contact", contact_id=pk(contact))


@endpoint(
    "PATCH",
    "/contacts/<int:contact_id>",
    name="update_contact",
    tag="contacts",
    summary="Change a contact",
    body=ContactUpdate,
    response=ContactOut,
    conditional=True,
)
def update_contact_endpoint(call: Call, contact_id: int) -> Any:
    contact = _contact(contact_id)
    call.require_match(ContactOut.model_validate(contact))
    update_contact(db.session, contact, actor=call.user, **call.changes())
    return ContactOut.model_validate(contact)


@endpoint(
    "DELETE",
    "/contacts/<int:contact_id>",
    name="delete_contact",
    tag="contacts",
    summary="Delete a contact",
    status=204,
    conditional=True,
)
def delete_contact_endpoint(call: Call, contact_id: int) -> Any:
    """Deletes the contact as the contact page does, for the person's right to erasure
    (law 09-08, GDPR): only an administrator may.  Their name, email address and phone
    number leave every record that held them (event payloads included, so the feed's
    earlier ``contact.*`` events come back without them); their places at meetings and on
    missions go; activities and leads that named them stay without their name.
    ``contact.deleted`` records it, with no personal data."""
    contact = _contact(contact_id)
    call.require_match(ContactOut.model_validate(contact))
    delete_contact(db.session, contact, actor=call.user)
    return Reply(None, 204)
