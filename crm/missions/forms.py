"""The mission form (names, status, dates, legs, sectors, organisers, delegates by role) and
the "log a meeting" form: the meeting and, repeated, the leads born from it."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from crm.core.db import parse_id
from crm.core.errors import ValidationError
from crm.core.forms import SubForm, options
from crm.core.i18n import lazy_gettext as _l
from crm.missions.labels import STATUS_LABELS
from crm.missions.models import DelegateRole
from crm.pickers.fields import PickerField, PickerMultipleField

REQUIRED = _l("This field is required.")
PLACE_ROWS = 4  # empty rows offered; a mission may have up to MAX_PLACES
MAX_PLACES = 20  # as many as the API takes, so that editing never drops one


class PlaceForm(SubForm):
    """A leg: a city of the mission, its time zone and its dates (the mission's when left
    empty); a row without a name is ignored."""

    id = HiddenField()
    name = StringField(_l("Place"), validators=[Length(max=200)])
    timezone = StringField(_l("Time zone"), validators=[Length(max=64)])
    starts_on = DateField(_l("From"), validators=[Optional()])
    ends_on = DateField(_l("To"), validators=[Optional()])

    def is_blank(self) -> bool:
        return not (self.name.data or "").strip() and not (self.timezone.data or "").strip()


# The delegation's pickers, one per role (a person holds one role).
ROLE_FIELDS = (
    ("head_ids", DelegateRole.HEAD),
    ("delegate_ids", DelegateRole.DELEGATE),
    ("organiser_contact_ids", DelegateRole.ORGANISER),
    ("interpreter_ids", DelegateRole.INTERPRETER),
)


class MissionForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(REQUIRED), Length(max=300)])
    name_ar = StringField(_l("Name in Arabic"), validators=[Length(max=300)])
    name_fr = StringField(_l("Name in French"), validators=[Length(max=300)])
    name_en = StringField(_l("Name in English"), validators=[Length(max=300)])
    status = SelectField(_l("Status"), choices=[], validate_choice=False)
    starts_on = DateField(_l("First day"), validators=[InputRequired(REQUIRED)])
    ends_on = DateField(_l("Last day"), validators=[InputRequired(REQUIRED)])
    places = FieldList(FormField(PlaceForm), min_entries=PLACE_ROWS, max_entries=MAX_PLACES)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    sector_ids = PickerMultipleField(_l("Themes and sectors"), source="sectors")
    organiser_ids = PickerMultipleField(_l("Organisers"), source="organisations", create=True)
    head_ids = PickerMultipleField(_l("Head of delegation"), source="contacts")
    delegate_ids = PickerMultipleField(_l("Delegates"), source="contacts")
    organiser_contact_ids = PickerMultipleField(_l("Organisers in the delegation"), source="contacts")
    interpreter_ids = PickerMultipleField(_l("Interpreters"), source="contacts")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = options((s.value, str(label)) for s, label in STATUS_LABELS.items())

    def place_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": parse_id(entry.form.id.data),
                "name": entry.form.name.data or "",
                "timezone": (entry.form.timezone.data or "").strip(),
                "starts_on": entry.form.starts_on.data,
                "ends_on": entry.form.ends_on.data,
            }
            for entry in self.places.entries
            if not entry.form.is_blank()
        ]

    def delegate_roles(self) -> dict[int, str]:
        """Each chosen person with the role of the picker that holds them."""
        roles: dict[int, str] = {}
        for name, role in ROLE_FIELDS:
            for contact_id in getattr(self, name).data or []:
                if contact_id in roles and roles[contact_id] != role.value:
                    raise ValidationError.single(name, _l("A person holds one role in the delegation."))
                roles[contact_id] = role.value
        return roles

    def show_roles(self, roles: dict[int, str]) -> None:
        for name, role in ROLE_FIELDS:
            getattr(self, name).data = sorted(c for c, r in roles.items() if r == role.value)


class LeadRowForm(SubForm):
    """One lead born from the meeting; a row without a title is ignored."""

    title = StringField(_l("Lead"), validators=[Length(max=300)])
    ma_organisation_id = PickerField(
        _l("Moroccan organisation"),
        source="organisations",
        params={"side": "MA"},
        create=True,
        unknown=_l("Choose a Moroccan organisation."),
    )
    us_organisation_id = PickerField(
        _l("US organisation"),
        source="organisations",
        params={"side": "US"},
        create=True,
        unknown=_l("Choose a US organisation."),
    )
    partnership_type = SelectField(_l("Partnership type"), choices=[], validate_choice=False)
    owner_id = PickerField(_l("Owner"), source="users", params={"role": "officers"}, blank=False)
    sector_id = PickerField(_l("Sector"), source="sectors")
    estimated_value = StringField(_l("Estimated value"), validators=[Length(max=40)])
    currency = SelectField(
        _l("Currency"), choices=options([("", "—"), ("MAD", "MAD"), ("USD", "USD")]), validate_choice=False
    )
    confidential = BooleanField(_l("Confidential"))

    def is_blank(self) -> bool:
        return not (self.title.data or "").strip()

    def fields_for_operation(self) -> dict[str, Any]:
        return {
            "title": self.title.data or "",
            "ma_organisation_id": parse_id(self.ma_organisation_id.data),
            "us_organisation_id": parse_id(self.us_organisation_id.data),
            "partnership_type": self.partnership_type.data or "",
            "owner_id": parse_id(self.owner_id.data),
            "sector_id": parse_id(self.sector_id.data),
            "estimated_value": self.estimated_value.data or "",
            "currency": self.currency.data or None,
            "confidential": bool(self.confidential.data),
        }


class MeetingFields(FlaskForm):
    """A meeting: what editing one shows, and the top of "log a meeting"."""

    title = StringField(_l("Meeting"), validators=[Length(max=300)])
    starts_local = DateTimeLocalField(
        _l("Local date and time at the meeting's place"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(message=_l("This field is required."))],
    )
    timezone = SelectField(_l("Time zone of the place"), choices=[], validate_choice=False)
    leg_id = SelectField(_l("Leg of the mission"), choices=[], validate_choice=False)
    duration_minutes = IntegerField(
        _l("Duration in minutes"),
        default=60,
        validators=[Optional(), NumberRange(min=5, max=24 * 60)],
    )
    place = StringField(_l("Place"), validators=[Length(max=300)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=50000)])
    organisation_ids = PickerMultipleField(_l("Organisations met"), source="organisations", create=True)
    # A person created from this picker joins the first organisation met.
    contact_ids = PickerMultipleField(
        _l("People met"),
        source="contacts",
        create=True,
        render_kw={"data-picker-organisation-from": "organisation_ids"},
    )


class MeetingForm(MeetingFields):
    leads = FieldList(FormField(LeadRowForm), min_entries=1, max_entries=20)

    def lead_rows(self) -> list[dict[str, Any]]:
        return [entry.form.fields_for_operation() for entry in self.leads.entries if not entry.form.is_blank()]

    def row_index(self, position: int) -> int:
        """The form row of the ``position``-th non-blank lead."""
        rows = [i for i, entry in enumerate(self.leads.entries) if not entry.form.is_blank()]
        return rows[position]


def apply_meeting_errors(form: MeetingForm, exc: ValidationError) -> None:
    """Show each error next to its field, lead-row errors in their row."""
    for name, message in exc.errors.items():
        target: Any = None
        if name.startswith("leads-"):
            _, position, field_name = name.split("-", 2)
            entry = form.leads.entries[form.row_index(int(position))]
            target = getattr(entry.form, field_name, None)
        else:
            target = getattr(form, name, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*list(target.errors or []), str(message)]
        else:
            form.form_errors.append(str(message))  # type: ignore[attr-defined]
