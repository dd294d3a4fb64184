"""The small forms of a follow-up's row on Today: "done + the next" and "snooze to a day"."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from crm.core.i18n import lazy_gettext as _l

REQUIRED = _l("This field is required.")


class NextForm(FlaskForm):
    title = StringField(_l("Next step"), validators=[DataRequired(REQUIRED), Length(max=300)])
    due_local = DateTimeLocalField(
        _l("Due"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(REQUIRED)], render_kw={"step": 60}
    )


class SnoozeForm(FlaskForm):
    on = DateField(_l("Another day"), validators=[Optional()])
