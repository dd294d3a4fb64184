"""How a planned or imported row reads on the preview and results pages, and in the error
report: ids become names, codes become labels, problems name the file's own column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import url_for
from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.i18n import LANGUAGE_NAMES, list_separator
from crm.core.i18n import gettext as _
from crm.core.text import isolate
from crm.core.web import format_number
from crm.exchange.fields import FIELDS, spec
from crm.exchange.models import DataImport, ImportKind, ImportRow, RowAction
from crm.exchange.plan import Problem, RowPlan
from crm.exchange.reading import DELIMITERS, ENCODINGS
from crm.leads.labels import PARTNERSHIP_TYPE_LABELS, PRIORITY_LABELS, STAGE_LABELS
from crm.missions.models import Mission
from crm.organisations.labels import country_label, kind_label
from crm.organisations.models import Organisation
from crm.reference.models import Sector

# The operation's key of a value -> the import field it came from.
FIELD_OF_KEY = {
    "ma_organisation_id": "ma_organisation",
    "us_organisation_id": "us_organisation",
    "organisation_id": "organisation",
    "sector_id": "sector",
    "sector_ids": "sectors",
    "owner_id": "owner",
    "mission_id": "mission",
}
# The page of a record of each kind.
RECORD_PAGES = {
    ImportKind.LEADS: ("lead.show", "lead_id"),
    ImportKind.ORGANISATIONS: ("organisations.detail", "org_id"),
    ImportKind.CONTACTS: ("contacts.detail", "contact_id"),
}
# What a created row shows, by kind.
SUMMARY_KEYS = {
    ImportKind.LEADS: ("ma_organisation_id", "us_organisation_id", "partnership_type", "stage", "owner_id"),
    ImportKind.ORGANISATIONS: ("name_ar", "name_fr", "name_en", "acronym", "country"),
    ImportKind.CONTACTS: ("organisation_id", "email", "title"),
}


@dataclass
class RowView:
    number: int
    action: RowAction
    label: str
    details: list[tuple[str, str]] = field(default_factory=list)  # (field label, "before → after" or value)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reverted: bool = False
    kept_because: str | None = None
    link: str | None = None  # the record the row created or updated


class Names:
    """Names of the organisations, users, sectors and missions that some rows refer to (four queries at most)."""

    def __init__(self, session: Session, values: Iterable[tuple[str, Any]]) -> None:
        wanted: dict[str, set[int]] = {"org": set(), "user": set(), "sector": set(), "mission": set()}
        for key, value in values:
            group = _group(key)
            if group is None or value in (None, ""):
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, int):
                    wanted[group].add(item)
        self.names: dict[tuple[str, int], str] = {}
        models: tuple[tuple[str, Any], ...] = (
            ("org", Organisation),
            ("user", User),
            ("sector", Sector),
            ("mission", Mission),
        )
        for group, model in models:
            if not wanted[group]:
                continue
            for row in session.exec(select(model).where(col(model.id).in_(sorted(wanted[group])))).all():
                self.names[(group, row.id)] = _name_of(group, row)

    def get(self, key: str, value: int) -> str:
        return self.names.get((_group(key) or "", value), f"#{value}")


def _group(key: str) -> str | None:
    if key in ("ma_organisation_id", "us_organisation_id", "organisation_id"):
        return "org"
    if key == "owner_id":
        return "user"
    if key in ("sector_id", "sector_ids"):
        return "sector"
    if key == "mission_id":
        return "mission"
    return None


def _name_of(group: str, row: Any) -> str:
    if group == "org":
        return str(row.short_name())
    if group == "user":
        return str(row.display_name)
    return str(row.name() if group == "sector" else row.name)


def describe(key: str, value: Any, names: Names) -> str:
    """A value as the pages show it, in the reader's language."""
    if value is None or value == "" or value == []:
        return "—"
    value = getattr(value, "value", value)
    if _group(key) is not None:
        items = value if isinstance(value, list) else [value]
        return list_separator().join(names.get(key, int(item)) for item in items)
    labels: dict[str, Any] = {
        "stage": STAGE_LABELS,
        "partnership_type": PARTNERSHIP_TYPE_LABELS,
        "priority": PRIORITY_LABELS,
    }
    if key in labels:
        return str({k.value: v for k, v in labels[key].items()}.get(value, value))
    if key == "country":
        return country_label(value)
    if key == "kind":
        return kind_label(value)
    if key == "language":
        return LANGUAGE_NAMES.get(str(value), str(value))
    if key == "confidential":
        return _("Yes") if value else _("No")
    if key == "aliases":
        return "; ".join(value)
    if key == "estimated_value":
        try:
            return format_number(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    return str(value)


def field_label(kind: ImportKind, key: str) -> str:
    name = FIELD_OF_KEY.get(key, key)
    try:
        return str(spec(kind, name).label)
    except KeyError:
        return name


def column_name(kind: ImportKind, field_name: str | None, headers: list[str], mapping: list[str]) -> str | None:
    """The file's header of the column that fills ``field_name`` (the field's label if none does)."""
    if not field_name:
        return None
    if field_name in mapping:
        header = headers[mapping.index(field_name)]
        if header:
            return header
    known = {f.name for f in FIELDS[kind]}
    return str(spec(kind, field_name).label) if field_name in known else None


def problem_text(kind: ImportKind, problem: Problem, headers: list[str], mapping: list[str]) -> str:
    column = column_name(kind, problem.field, headers, mapping)
    return _("%(column)s: %(problem)s", column=isolate(column), problem=problem.text()) if column else problem.text()


def _details(
    kind: ImportKind, action: RowAction, values: dict[str, Any], changes: dict[str, list[Any]], names: Names
) -> list[tuple[str, str]]:
    if action in (RowAction.UPDATE, RowAction.UNCHANGED) and changes:
        return [
            (field_label(kind, key), f"{describe(key, before, names)} → {describe(key, after, names)}")
            for key, (before, after) in changes.items()
        ]
    if action == RowAction.CREATE:
        return [
            (field_label(kind, key), describe(key, values.get(key), names))
            for key in SUMMARY_KEYS[kind]
            if values.get(key) not in (None, "", [])
        ]
    return []


def plan_views(
    session: Session, kind: ImportKind, plans: list[RowPlan], headers: list[str], mapping: list[str]
) -> list[RowView]:
    names = Names(
        session,
        [
            *((k, v) for p in plans for k, v in p.values.items()),
            *((k, x) for p in plans for k, pair in p.changes.items() for x in pair),
        ],
    )
    return [
        RowView(
            number=p.number,
            action=p.action,
            label=p.label,
            details=_details(kind, p.action, p.values, p.changes, names),
            problems=[problem_text(kind, q, headers, mapping) for q in p.problems],
            notes=[problem_text(kind, q, headers, mapping) for q in p.notes],
        )
        for p in plans
    ]


def _record_link(kind: ImportKind, row: ImportRow) -> str | None:
    if row.entity_id is None or row.action not in (RowAction.CREATE, RowAction.UPDATE):
        return None
    if row.action == RowAction.CREATE and row.reverted_at is not None:
        return None  # it was deleted
    endpoint, argument = RECORD_PAGES[kind]
    values: dict[str, Any] = {argument: row.entity_id}
    return url_for(endpoint, **values)


def row_views(
    session: Session, kind: ImportKind, rows: list[ImportRow], headers: list[str], mapping: list[str]
) -> list[RowView]:
    names = Names(session, [(k, x) for r in rows for k, pair in r.changes.items() for x in pair])
    views = []
    for r in rows:
        kept = Problem.from_json(r.kept_because).text() if r.kept_because else None
        views.append(
            RowView(
                number=r.row_number,
                action=r.action,
                label=r.label,
                details=_details(kind, r.action, {}, r.changes, names),
                problems=[problem_text(kind, Problem.from_json(q), headers, mapping) for q in r.problems],
                notes=[problem_text(kind, Problem.from_json(q), headers, mapping) for q in r.notes],
                reverted=r.reverted_at is not None,
                kept_because=kept,
                link=_record_link(kind, r),
            )
        )
    return views


def failure_text(data_import: DataImport) -> str:
    """Why the import failed, in the reader's language, with the row when one was to blame."""
    if not data_import.failure:
        return ""
    text = problem_text(
        data_import.kind, Problem.from_json(data_import.failure), data_import.headers, data_import.mapping
    )
    row = data_import.failure.get("row")
    return _("Row %(row)d: %(problem)s", row=row, problem=text) if row else text


def template_helpers() -> dict[str, Any]:
    """What the import pages' templates call."""
    from crm.core.db import db
    from crm.exchange import labels
    from crm.exchange.defaults import described_defaults

    return {
        "import_labels": labels,
        "import_kind_label": labels.kind_label,
        "import_status_label": labels.status_label,
        "import_encoding_label": lambda code: str(ENCODINGS.get(code or "", code or "")),
        "import_delimiter_label": lambda code: str(DELIMITERS.get(code or "", code or "")),
        "import_failure_text": failure_text,
        "import_defaults": lambda data_import: described_defaults(db.session, data_import.kind, data_import.defaults),
    }


SHOW = ("problems", "create", "update", "unchanged", "all")


def tab_of(asked: str) -> tuple[str, RowAction | None]:
    """The tab of an import's rows (preview or log) and the action of the rows it lists;
    an unknown tab is "all"."""
    show = asked if asked in SHOW else "all"
    return show, None if show == "all" else (RowAction.ERROR if show == "problems" else RowAction(show))
