"""The subscription form; the operations do the real checking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, NumberRange, Optional

from crm.core.forms import optional_row_id, options, row_id
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.i18n import lazy_gettext as _l
from crm.pickers.fields import PickerField, PickerMultipleField

CADENCES = [("weekly", _l("Weekly")), ("daily", _l("Daily")), ("monthly", _l("Monthly"))]
WEEKDAYS = [
    (0, _l("Monday")),
    (1, _l("Tuesday")),
    (2, _l("Wednesday")),
    (3, _l("Thursday")),
    (4, _l("Friday")),
    (5, _l("Saturday")),
    (6, _l("Sunday")),
]
FILTER_FIELDS = (
    "ma_organisation_ids",
    "us_organisation_ids",
    "sector_ids",
    "partnership_types",
    "owner_ids",
    "mission_ids",
)


def _many(label: object, coerce: Callable[[Any], Any] = row_id) -> SelectMultipleField:
    return SelectMultipleField(label, choices=[], coerce=coerce, validate_choice=False)


def _none_or_row_id(value: Any) -> int | None:
    """The reader and organisation selects offer "none" as 0."""
    return None if value in (0, "0") else optional_row_id(value)


class SubscriptionForm(FlaskForm):
    user_id = SelectField(_l("User of the app"), choices=[], coerce=_none_or_row_id, validate_choice=False)
    name = StringField(_l("Name"), validators=[Length(max=200)])
    email = StringField(_l("Email"), validators=[Length(max=254)])
    organisation_id = PickerField(
        _l("Organisation of the reader"),
        source="organisations",
        coerce=_none_or_row_id,
        unknown=_l("Unknown organisation."),
    )
    language = SelectField(_l("Language"), choices=options(list(LANGUAGE_NAMES.items())))
    timezone = StringField(_l("Time zone"), validators=[Length(max=64)], default="Africa/Casablanca")
    cadence = SelectField(_l("How often"), choices=options(CADENCES), default="weekly")
    weekday = SelectField(_l("Day (weekly digests)"), choices=options(WEEKDAYS), coerce=int, default=0)
    send_hour = IntegerField(
        _l("Local hour"),
        validators=[Optional(), NumberRange(min=0, max=23, message=_l("Choose an hour between 00:00 and 23:00."))],
        default=8,
    )
    ma_organisation_ids = PickerMultipleField(
        _l("Moroccan organisations"), source="organisations", params={"side": "MA"}
    )
    us_organisation_ids = PickerMultipleField(_l("US organisations"), source="organisations", params={"side": "US"})
    sector_ids = PickerMultipleField(_l("Sectors"), source="sectors")
    partnership_types = _many(_l("Partnership types"), str)
    owner_ids = PickerMultipleField(_l("Owners"), source="users")
    mission_ids = PickerMultipleField(_l("Missions"), source="missions")
    include_confidential = BooleanField(_l("Include confidential leads the user may see"))
    send_when_empty = BooleanField(_l("Send even when nothing happened"))

    def filters(self) -> dict[str, list[object]]:
        return {name: list(getattr(self, name).data or []) for name in FILTER_FIELDS}
