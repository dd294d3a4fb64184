"""Forms of the lead pages: the lead itself and the quick actions on its page.

Forms check shapes (required, lengths, choices); the operations check the domain rules
and their errors are attached to the same fields with ``crm.core.forms.apply_errors``.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from crm.core.forms import options
from crm.core.i18n import lazy_gettext as _l
from crm.leads.labels import ACTIVITY_KIND_LABELS, PARTNERSHIP_TYPE_LABELS, PRIORITY_LABELS, STAGE_LABELS
from crm.leads.models import Currency
from crm.pickers.fields import PickerField, PickerMultipleField

REQUIRED = _l("This field is required.")
NONE = ("", "—")


class LeadForm(FlaskForm):
    title = StringField(_l("Lead title"), validators=[DataRequired(REQUIRED), Length(max=300)])
    ma_organisation_id = PickerField(
        _l("Moroccan organisation"),
        validators=[InputRequired(REQUIRED)],
        source="organisations",
        params={"side": "MA"},
        create=True,
        unknown=_l("Choose a Moroccan organisation."),
    )
    us_organisation_id = PickerField(
        _l("US organisation"),
        validators=[InputRequired(REQUIRED)],
        source="organisations",
        params={"side": "US"},
        create=True,
        unknown=_l("Choose a US organisation."),
    )
    partnership_type = SelectField(
        _l("Partnership type"), choices=options([(k.value, v) for k, v in PARTNERSHIP_TYPE_LABELS.items()])
    )
    sector_id = PickerField(_l("Sector"), source="sectors")
    stage = SelectField(_l("Stage"), choices=options([(k.value, v) for k, v in STAGE_LABELS.items()]))
    owner_id = PickerField(
        _l("Owner"), validators=[InputRequired(REQUIRED)], source="users", params={"role": "officers"}, blank=False
    )
    priority = SelectField(
        _l("Priority"), choices=options([(k.value, v) for k, v in PRIORITY_LABELS.items()]), default="normal"
    )
    estimated_value = StringField(_l("Estimated value"), validators=[Length(max=40)])
    currency = SelectField(_l("Currency"), choices=options([NONE, *((c.value, c.value) for c in Currency)]))
    probability = StringField(
        _l("Probability (%)"),
        validators=[Length(max=10)],
        description=_l("Empty: the stage's default probability."),
    )
    expected_close_on = StringField(_l("Expected close date"), validators=[Length(max=10)], render_kw={"type": "date"})
    confidential = BooleanField(_l("Confidential (only the owner, watchers and admins see it)"))
    watcher_ids = PickerMultipleField(_l("Watchers"), source="users")
    mission_id = PickerField(_l("Mission"), source="missions")
    meeting_id = PickerField(_l("Meeting"), source="meetings")
    description = TextAreaField(_l("Description"), validators=[Length(max=50000)])

    def fill_choices(self, *, creating: bool) -> None:
        """The pickers (organisations, sector, owner, watchers, mission, meeting) find their
        own options; only the stage depends on the page."""
        if not creating:
            del self.stage

    def lead_fields(self) -> dict[str, Any]:
        """The operation's keyword arguments (``stage`` and watchers apart)."""
        return {
            "title": self.title.data or "",
            "description": self.description.data or "",
            "ma_organisation_id": self.ma_organisation_id.data,
            "us_organisation_id": self.us_organisation_id.data,
            "partnership_type": self.partnership_type.data,
            "sector_id": self.sector_id.data,
            "owner_id": self.owner_id.data,
            "priority": self.priority.data,
            "estimated_value": (self.estimated_value.data or "").strip() or None,
            "currency": self.currency.data or None,
            "probability": str(self.probability.data or "").strip() or None,
            "expected_close_on": str(self.expected_close_on.data or "").strip() or None,
            "confidential": bool(self.confidential.data),
            "mission_id": self.mission_id.data,
            "meeting_id": self.meeting_id.data,
        }


class ActivityForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=options([(k.value, v) for k, v in ACTIVITY_KIND_LABELS.items()]))
    body = TextAreaField(_l("What happened"), validators=[DataRequired(REQUIRED), Length(max=50000)])


class FollowUpForm(FlaskForm):
    title = StringField(_l("Next step"), validators=[DataRequired(REQUIRED), Length(max=300)])
    due_local = DateTimeLocalField(
        _l("Due"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(REQUIRED)], render_kw={"step": 60}
    )
    timezone = StringField(_l("Time zone"), validators=[DataRequired(REQUIRED), Length(max=64)])
    owner_id = PickerField(_l("Owner"), validators=[Optional()], source="users", params={"role": "officers"})


class RescheduleForm(FlaskForm):
    due_local = DateTimeLocalField(
        _l("New date"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(REQUIRED)], render_kw={"step": 60}
    )
    timezone = StringField(_l("Time zone"), validators=[DataRequired(REQUIRED), Length(max=64)])
    # Any officer is offered; the operation refuses a reassignment the user may not make.
    owner_id = PickerField(
        _l("Owner"), validators=[Optional()], source="users", params={"role": "officers"}, blank=False
    )


class StageForm(FlaskForm):
    stage = SelectField(_l("Move to"), choices=options([(k.value, v) for k, v in STAGE_LABELS.items()]))
    note = StringField(_l("Note (optional)"), validators=[Length(max=2000)])


class WatcherForm(FlaskForm):
    # Any active user is offered to the lead's managers; the operation refuses the others
    # anyone but themselves.
    user_id = PickerField(
        _l("Watcher"), validators=[InputRequired(REQUIRED)], source="users", unknown=_l("Choose a user from the list.")
    )


class SavedFilterForm(FlaskForm):
    name = StringField(_l("Name of this filter"), validators=[DataRequired(REQUIRED), Length(max=120)])
    query = HiddenField()
