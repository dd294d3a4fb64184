"""What an import will do, row by row, decided before anything is written.

A planner reads the rows, looks up everything they refer to in a few set-based queries
(organisations by any of their names, users by email, sectors by code or name, existing
contacts and leads), and says for each row: create, update (with each field's before and
after), unchanged, or error (with every reason). The preview shows the plan; the import
re-plans inside its transaction and hands each row to the domain's operations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from crm.accounts.models import User
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.i18n import gettext, list_separator
from crm.core.i18n import lazy_gettext as _l
from crm.core.text import isolate, normalise
from crm.exchange.models import ImportKind, RowAction
from crm.missions.models import Mission
from crm.organisations.models import Country, Organisation
from crm.reference.models import Sector

T = TypeVar("T")
CHUNK = 500
# What Jisr's exports put before a value that a spreadsheet would run as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def chunked(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def unquote(text: str) -> str:
    """Undo the export's formula guard ("'=SUM(…)" is the text "=SUM(…)")."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


@dataclass(frozen=True)
class Problem:
    """A message about a row's field, kept as its message id so that it reads in the language
    of whoever looks at the preview, the results or the error report."""

    field: str | None
    msgid: str
    params: dict[str, Any] = dc_field(default_factory=dict)

    @classmethod
    def of(cls, field_name: str | None, message: Any) -> Problem:
        args = getattr(message, "_args", None)
        if args:
            params = {k: _param(v) for k, v in (getattr(message, "_kwargs", None) or {}).items()}
            return cls(field_name, str(args[0]), params)
        return cls(field_name, str(message))

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "msgid": self.msgid, "params": self.params}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        return cls(data.get("field"), str(data.get("msgid", "")), dict(data.get("params") or {}))

    def text(self) -> str:
        """The message in the reader's language; values from the file are isolated (FSI … PDI)
        so that a French name reads right inside an Arabic sentence and the other way round."""
        params = {
            k: isolate(gettext(v["msgid"])) if isinstance(v, dict) else (isolate(v) if isinstance(v, str) else v)
            for k, v in self.params.items()
        }
        return gettext(self.msgid, **params)


def _param(value: Any) -> Any:
    """A message parameter as JSON; a lazy label stays a message id, read in the reader's language."""
    args = getattr(value, "_args", None)
    if args:
        return {"msgid": str(args[0])}
    return value if isinstance(value, (int, float)) else str(value)


@dataclass
class SourceRow:
    number: int
    cells: dict[str, str]

    def get(self, name: str) -> str:
        return self.cells.get(name, "").strip()


@dataclass
class RowPlan:
    number: int
    action: RowAction = RowAction.CREATE
    label: str = ""
    target_id: int | None = None
    # The operation's keyword arguments: every field for a create, the changed ones for an update.
    values: dict[str, Any] = dc_field(default_factory=dict)
    # {field: [before, after]} (JSON values) of an update.
    changes: dict[str, list[Any]] = dc_field(default_factory=dict)
    problems: list[Problem] = dc_field(default_factory=list)
    notes: list[Problem] = dc_field(default_factory=list)

    def problem(self, field_name: str | None, message: Any) -> None:
        self.problems.append(Problem.of(field_name, message))

    def note(self, field_name: str | None, message: Any) -> None:
        self.notes.append(Problem.of(field_name, message))

    def check(self, field_name: str, clean: Callable[[], T]) -> T | None:
        """Run one of the operations' checks; its error becomes this row's, named by the column."""
        try:
            return clean()
        except ValidationError as exc:
            for message in exc.errors.values():
                self.problem(field_name, message)
            return None

    def settle(self) -> RowPlan:
        if self.problems:
            self.action = RowAction.ERROR
        elif self.action == RowAction.UPDATE and not self.values:
            self.action = RowAction.UNCHANGED
        return self


def split_list(text: str) -> list[str]:
    """A cell holding several values: "Cloud; IA | Cybersécurité" (or one per line)."""
    for separator in ("|", "\n", ","):
        text = text.replace(separator, ";")
    return list(dict.fromkeys(part.strip() for part in text.split(";") if part.strip()))


class OrganisationIndex:
    """Every organisation by each normalised name, acronym and alias, from one query (their
    ``search_text`` already holds those names, normalised as search does)."""

    def __init__(self, session: Session) -> None:
        self.by_id: dict[int, Organisation] = {}
        self.terms: dict[str, set[int]] = defaultdict(set)
        for org in session.exec(select(Organisation)).all():
            assert org.id is not None
            self.by_id[org.id] = org
            for term in org.search_text.split(" | "):
                if term:
                    self.terms[term].add(org.id)

    def find(self, text: str) -> list[Organisation]:
        return [self.by_id[i] for i in sorted(self.terms.get(normalise(text), ()))]

    def resolve(self, plan: RowPlan, field_name: str, text: str, country: Country | None) -> Organisation | None:
        """The one organisation ``text`` names (of ``country`` when given), or a problem on the row."""
        found = self.find(text)
        if country is not None:
            elsewhere = [o for o in found if o.country != country]
            found = [o for o in found if o.country == country]
            if not found and elsewhere:
                message = (
                    _l("“%(name)s” is not a Moroccan organisation.", name=text)
                    if country == Country.MA
                    else _l("“%(name)s” is not a US organisation.", name=text)
                )
                plan.problem(field_name, message)
                return None
        if not found:
            plan.problem(field_name, _l("No organisation is called “%(name)s”.", name=text))
            return None
        if len(found) > 1:
            names = list_separator().join(o.short_name() for o in found)
            plan.problem(field_name, _l("“%(name)s” could be any of: %(names)s.", name=text, names=names))
            return None
        return found[0]


class NamedIndex:
    """Rows found by a code, an email or a name in any language (normalised)."""

    def __init__(self) -> None:
        self.keys: dict[str, list[Any]] = defaultdict(list)

    def add(self, row: Any, *names: str | None) -> None:
        for name in {normalise(n) for n in names if n}:
            if name and row not in self.keys[name]:
                self.keys[name].append(row)

    def find(self, text: str) -> list[Any]:
        return self.keys.get(normalise(text), [])


def sector_index(session: Session) -> NamedIndex:
    index = NamedIndex()
    for sector in session.exec(select(Sector)).all():
        index.add(sector, sector.code, sector.name_ar, sector.name_fr, sector.name_en)
    return index


def user_index(session: Session) -> NamedIndex:
    index = NamedIndex()
    for user in session.exec(select(User).order_by(col(User.id))).all():
        index.add(user, user.email, user.name)
    return index


def mission_index(session: Session) -> NamedIndex:
    index = NamedIndex()
    for mission in session.exec(select(Mission)).all():
        index.add(mission, mission.name)
    return index


def resolve_one(plan: RowPlan, field_name: str, index: NamedIndex, text: str, unknown: Any, several: Any) -> Any:
    found = index.find(text)
    if not found:
        plan.problem(field_name, unknown)
        return None
    if len(found) > 1:
        plan.problem(field_name, several)
        return None
    return found[0]


class RowFailed(Exception):
    """An operation refused a planned row after all (the data changed since the plan)."""

    def __init__(self, number: int, problem: Problem) -> None:
        super().__init__(problem.msgid)
        self.number = number
        self.problem = problem


class Planner:
    """Plans the rows of one kind; :meth:`apply` hands one planned row to the operations."""

    kind: ImportKind

    def __init__(self, session: Session, actor: User, defaults: dict[str, str] | None = None) -> None:
        self.session = session
        self.actor = actor
        # {field: text}: what a row that creates a record is given where its cell is empty.
        self.defaults = dict(defaults or {})

    def prepare(self, rows: list[SourceRow]) -> None:
        raise NotImplementedError

    def plan_row(self, row: SourceRow) -> RowPlan:
        raise NotImplementedError

    def apply(self, plan: RowPlan) -> int:
        """Write one planned row through the domain's operations; the id of its record."""
        raise NotImplementedError

    def apply_all(self, plans: list[RowPlan], progress: Callable[[int, int], None] | None = None) -> dict[int, int]:
        """Write every row to create or update; {row number: record id}. A ValidationError
        from an operation becomes :class:`RowFailed`, naming the row."""
        ids: dict[int, int] = {}
        total = len(plans)
        for done, plan in enumerate(plans, start=1):
            if plan.action in (RowAction.CREATE, RowAction.UPDATE):
                ids[plan.number] = self.apply_one(plan)
            if progress is not None and (done % 200 == 0 or done == total):
                progress(done, total)
        return ids

    def apply_one(self, plan: RowPlan) -> int:
        try:
            return self.apply(plan)
        except ValidationError as exc:
            name, message = next(iter(exc.errors.items()))
            raise RowFailed(plan.number, Problem.of(name, message)) from None
        except PermissionDenied as exc:
            if exc.message is None:  # the author may no longer write at all
                raise
            raise RowFailed(plan.number, Problem.of(exc.field, exc.message)) from None

    def plan(self, rows: list[SourceRow]) -> list[RowPlan]:
        self.prepare(rows)
        return [self.plan_row(row).settle() for row in rows]


def source_rows(table_rows: list[tuple[int, list[str]]], mapping: list[str]) -> list[SourceRow]:
    """The mapped cells of each row, by field (the formula guard of Jisr's exports undone)."""
    columns = [(i, name) for i, name in enumerate(mapping) if name]
    found = []
    for number, cells in table_rows:
        values = {name: unquote(cells[i]) for i, name in columns if i < len(cells) and cells[i]}
        found.append(SourceRow(number, values))
    return found
