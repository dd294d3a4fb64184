"""Forms for logging in and for a user's own preferences."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange

from crm.core.forms import options
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.i18n import lazy_gettext as _l
from crm.core.security import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class PreferencesForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    language = SelectField(_l("Language"), choices=options(list(LANGUAGE_NAMES.items())))
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)])
    hour_cycle = SelectField(
        _l("Clock"),
        choices=options(
            [
                ("auto", _l("As my language writes it")),
                ("24", _l("24-hour (14:30)")),
                ("12", _l("12-hour (2:30 PM)")),
            ]
        ),
    )
    reminder_send_hour = IntegerField(_l("Reminder hour"), validators=[DataRequired(), NumberRange(min=7, max=20)])
    reminder_days_before = StringField(
        _l("Remind me this many days before a follow-up is due"),
        description=_l("Numbers separated by commas, e.g. 3, 1. Leave empty for reminders on the day only."),
        validators=[Length(max=40)],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    password = PasswordField(
        _l("New password"),
        description=_l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
        validators=[DataRequired(), Length(max=1024)],
    )
    confirm = PasswordField(_l("Repeat the new password"), validators=[DataRequired(), Length(max=1024)])
