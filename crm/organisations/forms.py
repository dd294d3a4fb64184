"""Forms for organisations and contacts; the operations do the real checking."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length

from crm.core.forms import options, row_id
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.i18n import lazy_gettext as _l


class LinesField(TextAreaField):
    """A list kept by the row, shown and typed one item a line."""

    def process_data(self, value: Any) -> None:
        self.data = "\n".join(value) if isinstance(value, list | tuple) else value


class OrganisationForm(FlaskForm):
    country = SelectField(_l("Country"), choices=[])
    kind = SelectField(_l("Kind"), choices=[])
    name_ar = StringField(_l("Name in Arabic"), validators=[Length(max=300)])
    name_fr = StringField(_l("Name in French"), validators=[Length(max=300)])
    name_en = StringField(_l("Name in English"), validators=[Length(max=300)])
    acronym = StringField(_l("Acronym"), validators=[Length(max=40)])
    aliases = LinesField(_l("Other names (one per line)"), validators=[Length(max=5000)])
    website = StringField(_l("Website"), validators=[Length(max=300)])
    sectors = SelectMultipleField(_l("Sectors"), choices=[], coerce=row_id, validate_choice=False)
    create_anyway = BooleanField(_l("Create anyway: this is a different organisation"))

    def alias_list(self) -> list[str]:
        return [line.strip() for line in (self.aliases.data or "").splitlines() if line.strip()]


class ContactForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), choices=[], coerce=row_id, validate_choice=False)
    name = StringField(_l("Name"), validators=[Length(max=200)])
    title = StringField(_l("Title"), validators=[Length(max=200)])
    email = StringField(_l("Email"), validators=[Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    language = SelectField(_l("Language"), choices=options(list(LANGUAGE_NAMES.items())))
    timezone = StringField(_l("Time zone"), validators=[Length(max=64)])
