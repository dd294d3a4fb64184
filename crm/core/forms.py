"""Glue between Flask-WTF forms and operations: an operation's ValidationError is shown
next to the field it names, in the user's language, and what was typed is kept; and the
options of select fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from babel import support
from flask import Flask, current_app, flash, request
from flask_babel import get_locale
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations
from wtforms import Form
from wtforms.fields import SelectChoice
from wtforms.i18n import messages_path
from wtforms.meta import DefaultMeta

from crm.core.db import db, parse_id
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.i18n import lazy_gettext as _l

T = TypeVar("T")


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """A select field's options from (value, label) pairs (WTForms no longer takes tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


def row_id(value: Any) -> int:
    """``coerce`` of a select naming rows: a row id, or a ValueError (the field then says
    its choice is invalid) for anything no row can have, before the database sees it."""
    found = parse_id(value)
    if found is None:
        raise ValueError(value)
    return found


def optional_row_id(value: Any) -> int | None:
    """``coerce`` of a select naming a row or none (its "—" option sends "")."""
    if value in (None, "", "None"):
        return None
    return row_id(value)


class SubForm(Form):
    """A form repeated inside a FlaskForm (a FormField row): its messages in the user's
    language too, which a FlaskForm does not pass on to the forms inside it."""

    class Meta(DefaultMeta):
        def get_translations(self, form: Form) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return translations


@lru_cache(maxsize=8)
def _wtforms_messages(locale: str) -> Any:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsMessages:
    """WTForms' own messages ("This field is required.") in the current language, read once
    per process: Flask-WTF reads and parses the catalogue again for every request that
    makes a form (every list page makes one), and keeps it on the request, where it finds
    this instead (``request.wtforms_translations``)."""

    def ugettext(self, string: str) -> str:
        return str(_wtforms_messages(str(get_locale())).ugettext(string))

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return str(_wtforms_messages(str(get_locale())).ungettext(singular, plural, n))


WTFORMS_MESSAGES = _WTFormsMessages()


def init_app(app: Flask) -> None:
    @app.before_request
    def _wtforms_messages_kept() -> None:
        request.wtforms_translations = WTFORMS_MESSAGES  # type: ignore[attr-defined]


def apply_errors(form: FlaskForm, exc: ValidationError) -> None:
    """Attach each error of ``exc`` to the form field of that name (or to the form)."""
    for name, message in exc.errors.items():
        field: Any = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), str(message)]
        else:
            form.form_errors.append(str(message))  # type: ignore[attr-defined]


def refuse_field(form: FlaskForm, exc: PermissionDenied, rename: dict[str, str] | None = None) -> None:
    """Say next to the field (or above the form) why an operation refused the user; ``rename``
    maps the operation's field names to the form's."""
    message = exc.message if exc.message is not None else _l("You may not make this change.")
    name = (rename or {}).get(exc.field or "", exc.field or "")
    apply_errors(form, ValidationError({name: message}))


@dataclass(frozen=True)
class Saved(Generic[T]):
    """What a form's operation returned, once committed."""

    value: T


def save_form(form: FlaskForm, operation: Callable[[], T], success: str | None = None) -> Saved[T] | None:
    """Run a submitted form's operation in the request's transaction.

    On success: commit, flash ``success`` and return the result.  On a ValidationError:
    roll back (nothing is written), put each message next to its field and return None,
    so the view re-renders the form with what was typed and a 400.
    """
    try:
        value = operation()
    except ValidationError as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return None
    db.session.commit()
    if success:
        flash(success, "success")
    return Saved(value)
