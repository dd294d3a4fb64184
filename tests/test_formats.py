"""One date, time and amount style per language, isolated for right-to-left pages: the
``when``, ``money``, ``number`` and ``when_in`` filters, their plain-text twins, the mail
formats and the user's choice of clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import g
from flask_babel import force_locale
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from crm.accounts.models import HourCycle, User
from crm.core import formats
from crm.core.emails import format_local, in_other_zone, isolate_html
from crm.core.events import Event
from tests.factories import make_user
from tests.web_helpers import login

# 13:30 UTC on Wednesday 21 February 2024: 14:30 in Casablanca (UTC+1 then), 07:30 in Houston.
MOMENT = datetime(2024, 2, 21, 13, 30, tzinfo=UTC)
MARKS = str.maketrans({"\u200e": "", "\u200f": "", "\u061c": "", "\u202f": " ", "\xa0": " "})


def plain(text: str) -> str:
    """Without Babel's bidi marks and with ordinary spaces; tags taken out."""
    return re.sub(r"<[^>]+>", "", str(text)).translate(MARKS)


class Viewer:
    """The request's user as the selectors read it (``g.jisr_user``)."""

    def __init__(self, language: str, timezone: str = "Africa/Casablanca", hour_cycle: str = "auto") -> None:
        self.language, self.timezone, self.hour_cycle = language, timezone, HourCycle(hour_cycle)


def render(app: Any, source: str, viewer: Viewer, **context: Any) -> str:
    """``source`` rendered as a page template (autoescaped) for ``viewer``."""
    with app.test_request_context("/"), force_locale(viewer.language):
        g.jisr_user = viewer
        return app.jinja_env.from_string(source).render(**context)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "21 fév. 2024, 14:30"),
        ("en", "Feb 21, 2024, 2:30 PM"),
        ("ar", "21 فبراير 2024، 14:30"),
    ],
)
def test_an_instant_is_written_with_the_month_name_and_the_languages_clock(
    app: Any, language: str, expected: str
) -> None:
    shown = render(
        app, "{{ moment|when }}|{{ moment|when('short') }}|{{ moment|when_text }}", Viewer(language), moment=MOMENT
    )
    page, short, text = shown.split("|")
    assert plain(page) == expected
    assert short == page  # one style everywhere: "short" places write the same
    assert plain(text) == expected and "<" not in text
    direction = "rtl" if language == "ar" else "ltr"
    assert page.startswith(f'<bdi class="fmt" dir="{direction}">')


def test_a_calendar_day_and_the_weekday_form() -> None:
    day = datetime(2026, 9, 21).date()
    assert formats.date_text(day, "fr") == "21 sept. 2026"
    assert formats.date_text(day, "en") == "Sep 21, 2026"
    assert formats.date_text(day, "ar") == "21 شتنبر 2026"
    assert formats.date_text(day, "fr", weekday=True) == "lun. 21 sept. 2026"


@pytest.mark.parametrize(
    ("language", "cycle", "expected"),
    [
        ("fr", "auto", "14:30"),
        ("ar", "auto", "14:30"),
        ("en", "auto", "2:30 PM"),
        ("en", "24", "14:30"),
        ("fr", "12", "2:30 PM"),
        ("ar", "12", "2:30 م"),
    ],
)
def test_the_clock_is_the_languages_unless_the_user_chose_one(
    app: Any, language: str, cycle: str, expected: str
) -> None:
    shown = plain(render(app, "{{ moment|when }}", Viewer(language, hour_cycle=cycle), moment=MOMENT))
    assert shown.endswith(expected)
    assert formats.uses_24_hours(language, cycle) == (":" in expected and not expected.endswith(("PM", "م")))


def test_the_clock_preference_is_saved_through_the_settings_with_its_event(session: Session, client: Any) -> None:
    user = make_user(session, email="clock@jisr.example", language="en")
    session.commit()
    login(client, "clock@jisr.example")
    form = {"name": "Clock", "language": "en", "timezone": "Africa/Casablanca", "reminder_send_hour": "9"}
    assert client.post("/settings", data={**form, "hour_cycle": "24"}).status_code == 302
    session.refresh(user)
    assert user.hour_cycle == HourCycle.H24
    event = session.exec(
        select(Event).where(Event.type == "user.preferences_changed").order_by(Event.id.desc())  # type: ignore[union-attr]
    ).first()
    assert event is not None and event.payload["changes"]["hour_cycle"] == ["auto", "24"]
    settings = client.get("/settings").get_data(as_text=True)
    assert re.search(r'<option selected value="24">|<option value="24" selected>', settings)
    bad = client.post("/settings", data={**form, "hour_cycle": "25"})
    assert bad.status_code == 400
    session.refresh(user)
    assert user.hour_cycle == HourCycle.H24


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("fr", Decimal("900000.00"), "MAD", "900 000 MAD"),
        ("fr", Decimal("1234.50"), "MAD", "1 234,50 MAD"),
        ("fr", 20000, "USD", "20 000 $US"),
        ("en", Decimal("900000.00"), "MAD", "MAD 900,000"),
        ("en", Decimal("1234.5"), "MAD", "MAD 1,234.50"),
        ("en", Decimal("900000"), "USD", "$900,000"),
        ("ar", Decimal("900000.00"), "MAD", "900.000 د.م."),
        ("ar", Decimal("1234.50"), "USD", "1.234,50 US$"),
        ("fr", Decimal("0"), "MAD", "0 MAD"),
        ("fr", None, "MAD", "—"),
        ("en", None, "USD", "—"),
    ],
)
def test_amounts_have_the_languages_spacing_no_cents_when_whole_and_a_dash_when_unknown(
    app: Any, language: str, amount: Any, currency: str, expected: str
) -> None:
    page = render(app, "{{ amount|money(currency) }}", Viewer(language), amount=amount, currency=currency)
    assert plain(page) == expected
    assert not re.search(r"[.,]00(?!\d)", plain(page))  # no cents on a whole amount
    assert page.startswith('<bdi class="fmt" dir="')
    # The letters of a symbol never touch the digits (CLDR's currency spacing).
    assert not re.search(r"[A-Z]\d|\d[A-Z]", formats.money_text(amount, currency, language))


def test_arabic_uses_latin_digits_as_the_rest_of_the_application(app: Any) -> None:
    shown = render(app, "{{ n|number }} {{ m|when }} {{ a|money('MAD') }}", Viewer("ar"), n=1234567, m=MOMENT, a=5)
    assert not re.search("[\u0660-\u0669\u06f0-\u06f9]", shown)
    assert "1.234.567" in shown


@pytest.mark.parametrize(("language", "expected"), [("fr", "1 234 567"), ("en", "1,234,567"), ("ar", "1.234.567")])
def test_numbers_are_isolated_left_to_right(app: Any, language: str, expected: str) -> None:
    page = render(app, "{{ n|number }}|{{ none|number }}", Viewer(language), n=1234567, none=None)
    number, unknown = page.split("|")
    assert number == f'<bdi class="fmt" dir="ltr">{expected.replace(" ", chr(0x202F))}</bdi>'
    assert plain(unknown) == "—"


def test_a_formatted_value_inside_a_translated_sentence_is_markup_and_user_text_stays_escaped(app: Any) -> None:
    """Flask-Babel's Jinja ``_()`` formats a Markup string: the filters' markup goes in as it
    is (not escaped twice), a name typed by a user is escaped, with or without ``bdi``."""
    source = (
        "{{ _('uploaded %(when)s', when=moment|when) }}|"
        "{{ _('Hello %(name)s,', name=bdi(name)) }}|"
        "{{ _('Hello %(name)s,', name=name) }}|"
        '<span title="{{ moment|when_text }}">'
    )
    first, isolated, bare, attribute = render(
        app, source, Viewer("fr"), moment=MOMENT, name="<script>x</script>"
    ).split("|")
    assert first.startswith('<bdi class="fmt" dir="ltr">') is False  # the sentence comes first
    assert '<bdi class="fmt" dir="ltr">21 fév. 2024, 14:30</bdi>' in first and "&lt;bdi" not in first
    assert isolated == "Bonjour <bdi>&lt;script&gt;x&lt;/script&gt;</bdi>,"
    assert bare == "Bonjour &lt;script&gt;x&lt;/script&gt;,"
    assert attribute == '<span title="21 fév. 2024, 14:30">'


def test_a_time_in_another_zone_says_which_and_the_viewers_own_does_not(app: Any) -> None:
    source = "{{ moment|when_in('America/Chicago') }}|{{ moment|when_in_text('America/Chicago') }}"
    casablanca = render(app, source, Viewer("fr"), moment=MOMENT).split("|")
    assert plain(casablanca[0]) == "21 fév. 2024, 07:30 (Chicago, UTC−06:00)"
    assert casablanca[1] == "21 fév. 2024, 07:30 (Chicago, UTC−06:00)"
    # The offset is a left-to-right island, the place is in the reader's language.
    arabic = render(app, source, Viewer("ar"), moment=MOMENT).split("|")[0]
    assert '<bdi class="fmt" dir="ltr">UTC−06:00</bdi>' in arabic and "شيكاغو" in arabic
    assert arabic.startswith('<bdi dir="rtl">')
    # A viewer in Houston reads their own clock: no zone.
    houston = render(app, source, Viewer("en", "America/Chicago"), moment=MOMENT).split("|")
    assert plain(houston[0]) == "Feb 21, 2024, 7:30 AM" and houston[1] == "Feb 21, 2024, 7:30 AM"
    # Another zone on the same clock at that instant says nothing either (Reykjavik = UTC+0).
    autumn = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    assert "(" not in plain(render(app, "{{ m|when_in('Atlantic/Reykjavik') }}", Viewer("fr"), m=autumn))


@pytest.mark.parametrize(
    ("instant", "clock", "offset"),
    [
        (datetime(2026, 2, 14, 9, 0, tzinfo=UTC), "10:00", "UTC+01:00"),  # before Ramadan: UTC+1
        (datetime(2026, 2, 16, 9, 0, tzinfo=UTC), "09:00", "UTC+00:00"),  # Ramadan (15 Feb – 22 Mar): UTC+0
        (datetime(2026, 3, 23, 9, 0, tzinfo=UTC), "10:00", "UTC+01:00"),  # after Ramadan: UTC+1 again
        (datetime(2026, 10, 5, 9, 0, tzinfo=UTC), "09:00", "UTC+00:00"),  # permanent UTC+0 since 20 Sep 2026
    ],
)
def test_casablanca_clock_changes_of_2026_are_read_right(app: Any, instant: datetime, clock: str, offset: str) -> None:
    shown = plain(render(app, "{{ m|when }}", Viewer("fr"), m=instant))
    assert shown.endswith(clock)
    # Seen from Houston, Casablanca's time names its zone with the offset of that day.
    far = plain(render(app, "{{ m|when_in('Africa/Casablanca') }}", Viewer("fr", "America/Chicago"), m=instant))
    assert far.endswith(f"{clock} (Casablanca, {offset})")


def test_mails_use_the_same_style_the_readers_clock_and_name_other_zones(app: Any) -> None:
    with app.app_context():
        assert format_local(MOMENT, "Africa/Casablanca", "fr", offset=False) == "mer. 21 fév. 2024, 14:30"
        assert format_local(MOMENT, "Africa/Casablanca", "fr", offset=False, hour_cycle="12").endswith("2:30\u202fPM")
        assert format_local(MOMENT, "America/New_York", "en", "short", offset=False) == "Feb 21, 2024, 8:30 AM"
        assert in_other_zone(MOMENT, "Africa/Casablanca", "en") == "Wed, Feb 21, 2024, 2:30 PM (Casablanca, UTC+01:00)"


def test_mail_isolation_escapes_user_text_and_gives_it_its_own_direction() -> None:
    assert str(isolate_html("<script>")) == '<span dir="ltr" style="unicode-bidi:isolate;">&lt;script&gt;</span>'
    assert 'dir="rtl"' in str(isolate_html("وكالة التنمية الرقمية"))
    assert 'dir="ltr"' in str(isolate_html("+212 6 12 34 56 78"))
    assert str(isolate_html(None)) == "" and str(isolate_html("")) == ""


def test_a_reminder_to_a_reader_who_chose_the_12_hour_clock(app: Any, session: Session) -> None:
    from crm.followups.mails import render_reminder
    from tests.test_email_snapshots import _item

    item = _item("fr", "Africa/Casablanca")
    reader: User = item.owner
    reader.hour_cycle = HourCycle.H12
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        email, _said = render_reminder(item, reader, "before-1", datetime(2026, 9, 20, 9, 0, tzinfo=UTC))
    assert "10:00 AM" in plain(email.subject) and "10:00 AM" in plain(email.text)
    assert not re.search(r"10:00(?! AM)", plain(email.text))


@settings(max_examples=300, deadline=None)
@given(
    cents=st.integers(min_value=0, max_value=10**17) | st.sampled_from([0, 1, 5, 99, 100, 101, 99999, 100000]),
    whole=st.booleans(),
    currency=st.sampled_from(["MAD", "USD", "EUR"]),
    language=st.sampled_from(["ar", "fr", "en"]),
)
def test_amounts_written_the_quick_way_read_as_babel_writes_them(
    cents: int, whole: bool, currency: str, language: str
) -> None:
    """A list writes an amount per row the quick way: the same text as Babel's."""
    amount = Decimal(cents // 100) if whole else Decimal(cents) / 100
    assert formats.money_text(amount, currency, language) == formats._babel_money(amount, currency, language)
    assert formats.money_text(int(amount), currency, language) == formats._babel_money(
        Decimal(int(amount)), currency, language
    )


def test_amounts_the_quick_way_cannot_write_go_through_babel() -> None:
    assert formats.money_text(Decimal("-1234.5"), "MAD", "fr") == "-1\u202f234,50\xa0MAD"
    assert formats.money_text(Decimal("0.125"), "USD", "en") == formats._babel_money(Decimal("0.125"), "USD", "en")
    assert formats.money_text(1234.5, "USD", "en") == "$1,234.50"


@settings(max_examples=200, deadline=None)
@given(value=st.integers(min_value=0, max_value=10**15), language=st.sampled_from(["ar", "fr", "en"]))
def test_counts_written_the_quick_way_read_as_babel_writes_them(value: int, language: str) -> None:
    from babel.numbers import format_decimal

    expected = format_decimal(value, locale=formats.locale_of(language))
    assert formats.number_text(value, language) == expected
    assert formats.number_text(-value, language) == format_decimal(-value, locale=formats.locale_of(language))


def babel_instant_text(local: datetime, language: str, hour_cycle: str | None, weekday: bool) -> str:
    """An aware local time as Babel writes it, skeleton by skeleton (the reference)."""
    from babel import Locale
    from babel.dates import format_skeleton

    from crm.core.i18n import FORMAT_LOCALES

    locale = Locale.parse(FORMAT_LOCALES[language])
    day = format_skeleton("yMMMEd" if weekday else "yMMMd", local, locale=locale)
    clock = "Hm" if formats.uses_24_hours(language, hour_cycle) else "hm"
    return str(locale.datetime_formats["medium"]).format(
        format_skeleton(clock, local, tzinfo=local.tzinfo, locale=locale), day
    )


@settings(max_examples=400, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(3000, 12, 30), timezones=st.just(UTC)),
    zone_name=st.sampled_from(["Africa/Casablanca", "America/Chicago", "Asia/Kolkata", "UTC"]),
    language=st.sampled_from(["ar", "fr", "en"]),
    hour_cycle=st.sampled_from([None, "auto", "12", "24"]),
    weekday=st.booleans(),
)
def test_dates_and_times_written_the_quick_way_read_as_babel_writes_them(
    instant: datetime, zone_name: str, language: str, hour_cycle: str | None, weekday: bool
) -> None:
    """Every page writes dates and times per row the quick way: the same text as Babel's."""
    from crm.core.time import to_local

    local = to_local(instant, zone_name)
    expected = babel_instant_text(local, language, hour_cycle, weekday)
    assert formats.instant_text(instant, zone_name, language, hour_cycle, weekday) == expected
    assert formats.local_text(local, language, hour_cycle, weekday) == expected
    assert formats.date_text(local.date(), language, weekday) == formats._babel_skeleton_text(
        "yMMMEd" if weekday else "yMMMd", local.date(), language
    )


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(3000, 12, 30)),
    skeleton=st.sampled_from(["yMMMd", "yMMMEd", "Hm", "hm", "yMMMMd", "MMMEd", "yMd", "yMM", "Hms", "Ehm", "GyMMMd"]),
    language=st.sampled_from(["ar", "fr", "en"]),
)
def test_any_skeleton_written_the_quick_way_reads_as_babel_writes_it(
    moment: datetime, skeleton: str, language: str
) -> None:
    """Patterns with fields the quick way does not read (an era) go through Babel."""
    assert formats.skeleton_text(skeleton, moment, language) == formats._babel_skeleton_text(skeleton, moment, language)
