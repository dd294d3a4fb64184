"""Form fields for the pickers: a ``<select>`` that carries only the chosen options and,
for use without JavaScript, the first ``INLINE`` ones (in a large set the rest is reached
by typing, once ``picker.js`` has turned the select into a type-ahead).  The server checks
every submitted id against the source: an id the picker could not offer is a field error
in the reader's language, before any operation runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import has_request_context, request, url_for
from flask_login import current_user
from wtforms import SelectField, SelectMultipleField
from wtforms.validators import StopValidation

from crm.core.db import db
from crm.core.forms import optional_row_id, options, row_id
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.pickers.sources import INLINE, ROW_SOURCES, ask, check_params

UNKNOWN = _l("Choose an item from the list.")
CREATES = ("organisations", "contacts")  # sources whose picker can create a missing row


def picker_texts() -> dict[str, str]:
    """What ``picker.js`` says, in the reader's language (``%s`` is what was typed)."""
    return {
        "data-picker-placeholder": _("Type to search…"),
        "data-picker-no-results": _("Nothing matches."),
        "data-picker-loading": _("Searching…"),
        "data-picker-remove": _("Remove"),
        "data-picker-create-label": _("Create “%s”"),
        "data-picker-use": _("Use %s"),
        "data-picker-create-anyway": _("Create anyway"),
        "data-picker-cancel": _("Cancel"),
        "data-picker-failed": _("That did not work. Try again."),
    }


def _asked(source: str, params: dict[str, Any], *, ids: tuple[Any, ...] | None = None, limit: int | None = None) -> Any:
    """``ask`` once per request for the same question: a page with a picker in each row
    (the lead page's follow-ups, each with its owner) reads each source once, not per row."""
    # Kept with the request, not on ``g``: an application context may outlive a request
    # (tests keep one open across requests), and the answers must not.
    memo: dict[Any, Any] = request.environ.setdefault("jisr.picker_answers", {}) if has_request_context() else {}
    key = (source, tuple(sorted(params.items())), ids, limit)
    if key not in memo:
        extra: dict[str, Any] = {"ids": ids} if ids is not None else {"limit": limit}
        memo[key] = ask(db.session, current_user, source, params=params, **extra)
    return memo[key]


class _Picker:
    """What single and multiple pickers share; ``params`` are the source's own (for
    example ``{"side": "MA"}``), ``create`` offers "Create “…”" to writers."""

    source: str
    params: dict[str, Any]
    create: bool
    blank: bool
    unknown_message: Any = None  # what an id the picker could not offer is told, if not UNKNOWN
    locked: bool = False  # shown, not changeable: only the chosen option, disabled
    render_kw: dict[str, Any] | None
    data: Any
    errors: Any

    def _chosen(self) -> list[Any]:
        raise NotImplementedError

    def lock(self) -> None:
        """The user may not change it: the page shows the chosen option only, disabled."""
        self.locked = True
        self.render_kw = {**(self.render_kw or {}), "disabled": True}

    def picker_options(self) -> list[tuple[Any, str]]:
        checked = check_params(self.source, self.params)
        # The first options (asked once per page) usually hold the chosen ones too: only
        # those beyond them are asked for, so a picker in each row of a page (a follow-up's
        # owner) costs no query per row.
        first = _asked(self.source, checked, limit=INLINE)
        known = {str(o.value): o for o in first}
        missing = tuple(c for c in self._chosen() if str(c) not in known)
        found = {str(o.value): o for o in (_asked(self.source, checked, ids=missing) if missing else [])}
        chosen = [o for o in (known.get(str(c)) or found.get(str(c)) for c in self._chosen()) if o is not None]
        if self.locked:
            return [(o.value, o.text) for o in chosen]
        seen = {str(o.value) for o in chosen}
        pairs = [(o.value, o.text) for o in chosen] + [(o.value, o.text) for o in first if str(o.value) not in seen]
        return [("", "—"), *pairs] if self.blank else pairs

    def picker_attributes(self) -> dict[str, Any]:
        attributes = {
            "data-picker": self.source,
            "data-picker-url": url_for("pickers.search", source=self.source, **self.params),
            **picker_texts(),
        }
        if self.create and self.source in CREATES and current_user.can_edit():
            attributes["data-picker-create"] = url_for(f"pickers.new_{self.source[:-1]}")
            for key, value in self.params.items():
                attributes[f"data-picker-{key}"] = value
        return attributes

    def __call__(self, **kwargs: Any) -> Any:
        for key, value in self.picker_attributes().items():
            kwargs.setdefault(key, value)
        return super().__call__(**kwargs)  # type: ignore[misc]

    def check_chosen(self, wanted: Iterable[Any]) -> None:
        wanted = [w for w in wanted if w not in (None, "")]
        if not wanted:
            return
        found = ask(db.session, current_user, self.source, ids=wanted, params=check_params(self.source, self.params))
        if {str(o.value) for o in found} != {str(w) for w in wanted}:
            raise StopValidation(str(self.unknown_message or UNKNOWN))


class PickerField(_Picker, SelectField):
    """One row (or none, when ``blank``) chosen by typing."""

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        source: str,
        params: dict[str, Any] | None = None,
        create: bool = False,
        blank: bool = True,
        unknown: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("coerce", optional_row_id if source in ROW_SOURCES else str)
        super().__init__(label, validators, choices=[], validate_choice=False, **kwargs)
        self.source, self.params, self.create, self.blank = source, dict(params or {}), create, blank
        self.unknown_message = unknown

    def _chosen(self) -> list[Any]:
        return [] if self.data in (None, "") else [self.data]

    def iter_choices(self) -> Any:
        self.choices = options(self.picker_options())
        return super().iter_choices()

    def pre_validate(self, form: Any) -> None:
        self.check_chosen(self._chosen())


class PickerMultipleField(_Picker, SelectMultipleField):
    """Any number of rows chosen by typing (no Ctrl-click list box)."""

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        source: str,
        params: dict[str, Any] | None = None,
        create: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("coerce", row_id if source in ROW_SOURCES else str)
        super().__init__(label, validators, choices=[], validate_choice=False, **kwargs)
        self.source, self.params, self.create, self.blank = source, dict(params or {}), create, False

    def _chosen(self) -> list[Any]:
        return list(self.data or [])

    def iter_choices(self) -> Any:
        self.choices = options(self.picker_options())
        return super().iter_choices()

    def pre_validate(self, form: Any) -> None:
        self.check_chosen(self._chosen())
