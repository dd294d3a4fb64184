"""Glue between Flask-WTF forms and operations: an operation's ValidationError is shown
next to the field it names, in the user's language, and what was typed is kept."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm

from crm.core.errors import ValidationError


def apply_errors(form: FlaskForm, exc: ValidationError) -> None:
    """Attach each error of ``exc`` to the form field of that name (or to the form)."""
    for name, message in exc.errors.items():
        field: Any = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), str(message)]
        else:
            form.form_errors.append(str(message))  # type: ignore[attr-defined]
