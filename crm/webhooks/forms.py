"""The endpoint form; the operations do the real checking (the address above all)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import Length

from crm.core.i18n import lazy_gettext as _l
from crm.webhooks.catalogue import ALL_EVENTS


class EndpointForm(FlaskForm):
    url = StringField(
        _l("Address (URL)"),
        validators=[Length(max=2000)],
        description=_l("https://… on the public internet; Jisr posts each event there as JSON."),
    )
    description = StringField(_l("Description"), validators=[Length(max=300)])
    all_events = BooleanField(_l("All events, including those added to Jisr later"))
    # Rendered as grouped check boxes from the catalogue; the operation checks the values.
    event_types = SelectMultipleField(_l("Events"), choices=[], validate_choice=False)
    include_confidential = BooleanField(_l("Include events of confidential leads"))

    def chosen_event_types(self) -> list[str]:
        return [ALL_EVENTS] if self.all_events.data else list(self.event_types.data or [])
