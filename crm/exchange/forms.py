"""Forms of the import pages; the operations do the real checking."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField

from crm.core.forms import options
from crm.core.i18n import lazy_gettext as _l
from crm.exchange.fields import KIND_LABELS
from crm.exchange.reading import DELIMITERS, ENCODINGS

DETECTED = ("", _l("Detected"))


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("What the file holds"), choices=options([(k.value, v) for k, v in KIND_LABELS.items()]), default="leads"
    )
    file = FileField(_l("CSV or Excel file (.csv, .xlsx)"))


class ReadingForm(FlaskForm):
    """How to read the file, when the detection was wrong."""

    encoding = SelectField(_l("Encoding"), choices=options([DETECTED, *ENCODINGS.items()]), default="")
    delimiter = SelectField(_l("Separator"), choices=options([DETECTED, *DELIMITERS.items()]), default="")
    sheet = SelectField(_l("Sheet"), choices=[], validate_choice=False)


class ActionForm(FlaskForm):
    """A button that changes something (its CSRF token is all it carries)."""
