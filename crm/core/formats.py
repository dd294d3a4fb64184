"""Dates, times, amounts and numbers: one style per language, everywhere (pages, mails, exports).

- A date is written with the skeleton ``yMMMd`` ("21 févr. 2024", "Feb 21, 2024",
  "21 فبراير 2024"): the month's name, never "2/21/2024", which a Moroccan reads as the
  2nd of the 21st month.  With its weekday (``yMMMEd``) where a mail names one day.
- A time is ``Hm`` (14:30) or ``hm`` (2:30 PM): 24-hour in Arabic and French, 12-hour in
  English, unless the reader chose a clock (``User.hour_cycle``).
- A date with its time joins them as the language's CLDR pattern says ("{1}, {0}").
- A time in a zone other than the reader's says which: "14:00 (Chicago, UTC−06:00)".
- An amount is written as the language writes it ("900 000 MAD", "MAD 900,000",
  "900.000 د.م."), with CLDR's currency spacing (Babel leaves it out: "MAD900,000"),
  without cents when it is whole, and "—" when it is unknown, never "0.00".
- Arabic uses Latin digits (the ``ar_MA`` conventions, as the rest of Jisr).

These functions return plain text; ``crm.core.web`` wraps them in isolating markup for
pages, ``crm.core.emails`` for mails.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import DateTimeFormat, format_skeleton, get_timezone_location, match_skeleton
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import format_currency, format_decimal, get_currency_symbol, parse_pattern

from crm.core.i18n import FORMAT_LOCALES
from crm.core.time import to_local

# The clock each language reads when the user has not chosen one.
TWENTY_FOUR_HOURS = {"ar": True, "fr": True, "en": False}
UNKNOWN = "—"
MINUS = "\u2212"
DATE_SKELETON, DAY_SKELETON = "yMMMd", "yMMMEd"


@lru_cache(maxsize=8)
def locale_of(language: str) -> Locale:
    return Locale.parse(FORMAT_LOCALES.get(language, "fr_MA"))


def uses_24_hours(language: str, hour_cycle: str | None = None) -> bool:
    """The reader's choice ("24", "12") or, for "auto" / none, their language's clock."""
    cycle = str(getattr(hour_cycle, "value", hour_cycle) or "auto")
    if cycle in ("24", "12"):
        return cycle == "24"
    return TWENTY_FOUR_HOURS.get(language, True)


def _babel_skeleton_text(skeleton: str, value: date, language: str) -> str:
    """Babel's own text of ``value`` (a date, or an aware local time read on its own clock)."""
    tzinfo = value.tzinfo if isinstance(value, datetime) else None
    return str(format_skeleton(skeleton, value, tzinfo=tzinfo, locale=locale_of(language)))


_FIELD = re.compile(r"%\((\w+)\)s")
_NUMERIC = {"d": "day", "H": "hour", "m": "minute", "s": "second"}


def _field_reader(name: str, locale: Locale) -> Callable[[Any], str] | None:
    """How a pattern's field (``d``, ``MMM``, ``E``, ``a``…) reads a value, the way Babel's
    ``DateTimeFormat`` does: numbers padded to the field's length; names (months, weekdays,
    AM/PM) from a table of Babel's own text for each month, weekday or half-day.  None for
    a field read otherwise (then Babel writes the value)."""
    char, width = name[0], len(name)
    if char in _NUMERIC:
        part = _NUMERIC[char]
        return lambda value: f"{getattr(value, part):0{width}d}"
    if char == "y":
        return (lambda value: f"{value.year:02d}"[-2:]) if width == 2 else lambda value: f"{value.year:0{width}d}"
    if char == "h":
        return lambda value: f"{value.hour % 12 or 12:0{width}d}"
    if char in "ML" and width <= 2:
        return lambda value: f"{value.month:0{width}d}"
    if char in "ML":
        months = [str(DateTimeFormat(date(2024, month, 1), locale)[name]) for month in range(1, 13)]
        return lambda value: months[value.month - 1]
    if char in "Eec":
        days = [str(DateTimeFormat(date(2024, 1, 1 + day), locale)[name]) for day in range(7)]
        return lambda value: days[value.weekday()]
    if char == "a":
        halves = [str(DateTimeFormat(datetime(2024, 1, 1, hour), locale)[name]) for hour in (0, 12)]
        return lambda value: halves[value.hour >= 12]
    return None


@lru_cache(maxsize=64)
def _skeleton_writer(skeleton: str, language: str) -> tuple[str, Callable[[Any], str]] | None:
    """A writer of ``skeleton`` in ``language``: the locale's pattern for it, found and
    parsed once (as ``format_skeleton`` finds it), filled field by field
    (:func:`_field_reader`), with what it reads: "day" (the calendar day alone), "clock"
    (the hour and minute alone) or "any".  None when a field of the pattern is one the
    writer does not read (Babel then writes it)."""
    locale = locale_of(language)
    skeletons = locale.datetime_skeletons
    found = skeleton if skeleton in skeletons else (match_skeleton(skeleton, skeletons) or skeleton)
    template: str = str(parse_date_pattern(skeletons[found]).format)
    names = list(dict.fromkeys(_FIELD.findall(template)))
    fields = [(name, _field_reader(name, locale)) for name in names]
    readers: list[tuple[str, Callable[[Any], str]]] = [(n, r) for n, r in fields if r is not None]
    if len(readers) < len(fields):
        return None
    chars = {name[0] for name in names}
    reads = "day" if chars <= set("yMLdEec") else "clock" if chars <= set("Hhma") else "any"
    return reads, lambda value: template % {name: read(value) for name, read in readers}


@lru_cache(maxsize=4096)
def _day_text(skeleton: str, language: str, day: date) -> str:
    found = _skeleton_writer(skeleton, language)
    assert found is not None
    return found[1](day)


@lru_cache(maxsize=4096)
def _clock_text(skeleton: str, language: str, hour: int, minute: int) -> str:
    found = _skeleton_writer(skeleton, language)
    assert found is not None
    return found[1](time(hour, minute))


def skeleton_text(skeleton: str, value: date, language: str) -> str:
    """``value`` written by the locale's pattern for ``skeleton``: Babel's text, the quick
    way.  A page writes a date and a time per row, and Babel parses the locale and builds a
    formatter for each (some 20 µs a time): the pattern is read once, and the text of a day
    or of a clock reading is kept (a list's rows share their days; a day has 1,440 minutes)."""
    found = _skeleton_writer(skeleton, language)
    if found is None:
        return _babel_skeleton_text(skeleton, value, language)
    reads, writer = found
    if reads == "day":
        return _day_text(skeleton, language, value.date() if isinstance(value, datetime) else value)
    if reads == "clock" and isinstance(value, datetime | time):
        return _clock_text(skeleton, language, value.hour, value.minute)
    return writer(value)


def date_text(value: date, language: str, weekday: bool = False) -> str:
    """ "21 févr. 2024" (``weekday``: "mer. 21 févr. 2024")."""
    return skeleton_text(DAY_SKELETON if weekday else DATE_SKELETON, value, language)


def time_text(local: datetime, language: str, hour_cycle: str | None = None) -> str:
    """ "14:30" or "2:30 PM" for an aware local time (already in the zone it is read in)."""
    return skeleton_text("Hm" if uses_24_hours(language, hour_cycle) else "hm", local, language)


@lru_cache(maxsize=8)
def _date_time_join(language: str) -> str:
    return str(locale_of(language).datetime_formats["medium"])


def join_date_time(day: str, clock: str, language: str) -> str:
    return _date_time_join(language).format(clock, day)


def local_text(local: datetime, language: str, hour_cycle: str | None = None, weekday: bool = False) -> str:
    """An aware local time as "21 févr. 2024, 14:30"."""
    return join_date_time(date_text(local, language, weekday), time_text(local, language, hour_cycle), language)


def utc_offset(local: datetime) -> str:
    """ "UTC+01:00", "UTC−06:00" (a true minus sign) for an aware local time."""
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else MINUS
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_city(zone_name: str, language: str) -> str:
    """The zone's city as the language names it ("Chicago", "شيكاغو"); "UTC" for UTC."""
    if zone_name in ("UTC", "Etc/UTC"):
        return "UTC"
    try:
        return str(get_timezone_location(zone_name, locale=locale_of(language), return_city=True))
    except LookupError:
        return zone_name.rsplit("/", 1)[-1].replace("_", " ")


def zone_label(instant: datetime, zone_name: str, language: str) -> str:
    """ "Chicago, UTC−06:00": the place and the offset at that instant."""
    separator = "، " if language == "ar" else ", "
    return f"{zone_city(zone_name, language)}{separator}{utc_offset(to_local(instant, zone_name))}"


def same_clock(instant: datetime, zone_name: str, viewer_zone: str) -> bool:
    """True when both zones read the same wall time at ``instant``."""
    return zone_name == viewer_zone or (
        to_local(instant, zone_name).utcoffset() == to_local(instant, viewer_zone).utcoffset()
    )


def instant_text(
    instant: datetime, zone_name: str, language: str, hour_cycle: str | None = None, weekday: bool = False
) -> str:
    """An instant on the clock of ``zone_name``."""
    return local_text(to_local(instant, zone_name), language, hour_cycle, weekday)


def is_whole(amount: Decimal | int | float) -> bool:
    return Decimal(str(amount)) == Decimal(str(amount)).to_integral_value()


@lru_cache(maxsize=16)
def _whole_pattern(language: str) -> Any:
    """The locale's currency pattern without its decimals ("#,##0.00 ¤" → "#,##0 ¤")."""
    pattern = locale_of(language).currency_formats["standard"].pattern
    return parse_pattern(pattern.replace("0.00", "0"))


def _letter(char: str) -> bool:
    return unicodedata.category(char)[0] == "L"


def currency_spacing(text: str, symbol: str) -> str:
    """CLDR's currency spacing, which Babel leaves out: a no-break space between a symbol
    made of letters and the digits next to it ("MAD900,000" → "MAD 900,000"; "$900" stays)."""
    at = text.find(symbol)
    if not symbol or at < 0:
        return text
    end = at + len(symbol)
    if end < len(text) and text[end].isdigit() and _letter(symbol[-1]):
        text = f"{text[:end]}\u00a0{text[end:]}"
    if at > 0 and text[at - 1].isdigit() and _letter(symbol[0]):
        text = f"{text[:at]}\u00a0{text[at:]}"
    return text


def _babel_money(value: Decimal, code: str, language: str) -> str:
    locale = locale_of(language)
    if is_whole(value):
        text = format_currency(value, code, format=_whole_pattern(language), locale=locale, currency_digits=False)
    else:
        text = format_currency(value, code, locale=locale)
    return currency_spacing(str(text), str(get_currency_symbol(code, locale=locale)))


_WHOLE_SHAPE = re.compile(r"(\D*)1(?P<group>\D+)234(?P=group)567(\D*)")
_CENTS_SHAPE = re.compile(r"(\D*)1(?P<group>\D+)234(?P=group)567(\D+)89(\D*)")
_CENT = Decimal("0.01")


@lru_cache(maxsize=32)
def _money_shapes(code: str, language: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """How this locale writes an amount of this currency, read off Babel's own text of a
    sample: (before, group separator, after), and the same with the decimal separator;
    None if the sample does not read that way (then Babel writes every amount)."""
    whole = _WHOLE_SHAPE.fullmatch(_babel_money(Decimal(1234567), code, language))
    cents = _CENTS_SHAPE.fullmatch(_babel_money(Decimal("1234567.89"), code, language))
    if whole is None or cents is None or whole.group(2) != cents.group(2):
        return None
    return whole.groups(), cents.groups()


def money_text(amount: Decimal | int | float | str | None, currency: Any, language: str) -> str:
    """ "900 000 MAD", "1 234,50 MAD", "MAD 900,000", or "—" for an unknown amount.

    A list shows an amount per row: a positive amount in cents at most is written in the
    locale's shape of Babel's (:func:`_money_shapes`, the same text, some ten times
    quicker); any other goes through Babel."""
    if amount is None or amount == "":
        return UNKNOWN
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    code = str(getattr(currency, "value", currency) or "MAD")
    shapes = _money_shapes(code, language) if value.is_finite() and value >= 0 else None
    if shapes is not None and value == value.quantize(_CENT):
        (before, group, after), (cents_before, _group, point, cents_after) = shapes
        if value == value.to_integral_value():
            return before + f"{int(value):,}".replace(",", group) + after
        units, cents = f"{value:,.2f}".split(".")
        return f"{cents_before}{units.replace(',', group)}{point}{cents}{cents_after}"
    return _babel_money(value, code, language)


_NUMBER_SHAPE = re.compile(r"1(?P<group>\D+)234(?P=group)567")


@lru_cache(maxsize=8)
def _number_group(language: str) -> str | None:
    """The locale's group separator as Babel writes a whole number, or None."""
    found = _NUMBER_SHAPE.fullmatch(str(format_decimal(1234567, locale=locale_of(language))))
    return found.group("group") if found else None


def number_text(value: int | float | Decimal | None, language: str) -> str:
    """A count as the locale writes it (a positive whole number the quick way, with the
    separator read off Babel's own text; any other through Babel)."""
    if value is None:
        return UNKNOWN
    if type(value) is int and value >= 0 and (group := _number_group(language)) is not None:
        return f"{value:,}".replace(",", group)
    return str(format_decimal(value, locale=locale_of(language)))


def first_strong_direction(text: str, default: str = "ltr") -> str:
    """ "rtl" or "ltr" as the first letter with a direction says (HTML's ``dir="auto"``, for
    mail clients that do not honour it); ``default`` when there is none (digits only)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return default
