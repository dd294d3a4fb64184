"""Values for all rows: a field the file has no column for (or leaves empty on a row) can
be given one value on the mapping page, chosen from the values the field allows.

A default fills the rows that create a record only: a row that updates an existing
record still changes only what the file fills in, so an empty cell never overwrites a
lead's partnership type with the default.  A field needed to create a record (a lead's
partnership type) with neither a column nor a default is asked for on the mapping page,
rather than rejecting every row at the preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from crm.accounts.models import Role, User
from crm.core.errors import ValidationError
from crm.core.i18n import lazy_gettext as _l
from crm.exchange.fields import spec
from crm.exchange.models import ImportKind
from crm.leads.labels import PARTNERSHIP_TYPE_LABELS, PRIORITY_LABELS, STAGE_LABELS
from crm.leads.models import Currency

# The fields that may have a value for all rows, by kind, in the mapping page's order.
DEFAULTABLE: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.ORGANISATIONS: (),
    ImportKind.CONTACTS: (),
    ImportKind.LEADS: ("partnership_type", "stage", "owner", "priority", "currency"),
}
# Needed to create a record: a column or a default must give them (unless the file only
# updates records it names by their ID).
NEEDED: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.ORGANISATIONS: (),
    ImportKind.CONTACTS: (),
    ImportKind.LEADS: ("partnership_type",),
}
DEFAULT_NOTE = _l("value for all rows (default)")
# Without JavaScript the owner's select offers this many officers (the picker finds any).
OWNER_CHOICES = 100


def default_choices(session: Session, name: str, chosen: str | None = None) -> list[tuple[str, str]]:
    """(value, label in the reader's language) of each value the field allows; for the
    owner (a type-ahead picker) the first officers and the ``chosen`` one."""
    labels: dict[str, Any] = {
        "partnership_type": PARTNERSHIP_TYPE_LABELS,
        "stage": STAGE_LABELS,
        "priority": PRIORITY_LABELS,
    }
    if name in labels:
        return [(member.value, str(label)) for member, label in labels[name].items()]
    if name == "currency":
        return [(c.value, c.value) for c in Currency]
    if name == "owner":
        officers = select(User).where(col(User.is_active).is_(True), col(User.role).in_([Role.ADMIN, Role.OFFICER]))
        users = list(session.exec(officers.order_by(col(User.name), col(User.id)).limit(OWNER_CHOICES)).all())
        if chosen and chosen not in {u.email for u in users}:
            users += session.exec(officers.where(User.email == chosen)).all()
        return [(user.email, f"{user.display_name} <{user.email}>") for user in users]
    raise KeyError(name)


def field_key(name: str) -> str:
    """The form field of a default (``default-stage``)."""
    return f"default-{name}"


def needed_missing(kind: ImportKind, mapping: list[str], defaults: dict[str, str]) -> list[str]:
    """The fields needed to create a record that neither a column nor a default gives."""
    if "id" in mapping:  # the file names the records it updates: it may create none
        return []
    return [name for name in NEEDED[kind] if name not in mapping and not defaults.get(name)]


def check_defaults(session: Session, kind: ImportKind, mapping: list[str], wanted: dict[str, str]) -> dict[str, str]:
    """The defaults as the import will use them: each an allowed value, and one for every
    needed field the file has no column for.  Errors are keyed by the form field."""
    cleaned: dict[str, str] = {}
    errors: dict[str, Any] = {}
    for name in DEFAULTABLE[kind]:
        value = (wanted.get(name) or "").strip()
        if not value:
            continue
        if value not in {v for v, _label in default_choices(session, name, value)}:
            errors[field_key(name)] = _l("Not a valid choice for “%(field)s”.", field=spec(kind, name).label)
        else:
            cleaned[name] = value
    for name in needed_missing(kind, mapping, cleaned):
        errors.setdefault(
            field_key(name),
            _l("No column holds “%(field)s”: choose its value for all rows.", field=spec(kind, name).label),
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def described_defaults(session: Session, kind: ImportKind, defaults: dict[str, str]) -> list[tuple[str, str]]:
    """(field label, value label) of each value for all rows, in the reader's language."""
    found = []
    for name in DEFAULTABLE[kind]:
        if value := defaults.get(name):
            label = dict(default_choices(session, name, value)).get(value, value)
            found.append((str(spec(kind, name).label), label))
    return found


@dataclass
class DefaultField:
    """One choice of the mapping page's "values for all rows"."""

    name: str
    key: str
    label: str
    choices: list[tuple[str, str]]
    chosen: str
    needed: bool
    mapped: bool


def default_fields(
    session: Session, kind: ImportKind, mapping: list[str], chosen: dict[str, str]
) -> list[DefaultField]:
    missing = set(needed_missing(kind, mapping, {}))
    return [
        DefaultField(
            name=name,
            key=field_key(name),
            label=str(spec(kind, name).label),
            choices=default_choices(session, name, chosen.get(name)),
            chosen=chosen.get(name, ""),
            needed=name in missing,
            mapped=name in mapping,
        )
        for name in DEFAULTABLE[kind]
    ]
