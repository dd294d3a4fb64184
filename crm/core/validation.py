"""Checks shared by operations: emails, phone numbers, zones, languages, required text."""

from __future__ import annotations

from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm.core.errors import ValidationError
from crm.core.i18n import LANGUAGES
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import is_valid_zone
from crm.core.wire import has_line_break, strip_name


def clean_email(value: str | None, field: str = "email", *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationError.single(field, _l("This field is required."))
        return None
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError.single(field, _l("This is not a valid email address.")) from None
    return info.normalized.lower()


def clean_phone(value: str | None, field: str = "phone", region: str = "MA") -> str | None:
    """A phone number in E.164 form (+212…), read with ``region`` as the default country."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationError.single(field, _l("This is not a valid phone number.")) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError.single(field, _l("This is not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_zone(value: str | None, field: str = "timezone") -> str:
    value = (value or "").strip()
    if not is_valid_zone(value):
        raise ValidationError.single(field, _l("Unknown time zone: %(zone)s", zone=value))
    return value


def clean_language(value: Any, field: str = "language") -> str:
    code = str(getattr(value, "value", value) or "").strip()
    if code not in LANGUAGES:
        raise ValidationError.single(field, _l("Choose Arabic, French or English."))
    return code


def clean_text(value: str | None, field: str, *, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError.single(field, _l("This field is required."))
    if len(value) > max_length:
        raise ValidationError.single(field, _l("At most %(n)d characters.", n=max_length))
    if "\x00" in value:
        raise ValidationError.single(field, _l("This text contains an invalid character."))
    return value


def clean_name(value: str | None, field: str, *, max_length: int, required: bool = True) -> str:
    """A name (of a person, an organisation, a subscription…) is one line of text: line
    breaks are refused, control and invisible format characters (bidi overrides, zero-width
    spaces) are removed, and runs of spaces become one.  Names go into email headers,
    exports and other people's screens, where such characters would do harm."""
    if has_line_break(value or ""):
        raise ValidationError.single(field, _l("A name fits on one line: remove the line breaks."))
    return clean_text(strip_name(value or ""), field, max_length=max_length, required=required)


def clean_enum(enum_cls: Any, value: Any, field: str) -> Any:
    try:
        return enum_cls(getattr(value, "value", value))
    except ValueError:
        raise ValidationError.single(field, _l("Not a valid choice.")) from None
