"""How emails write times, amounts and arrows for their reader: the reader's own clock
without a UTC offset (unless the hour repeats there), Casablanca's time beside a deadline
for a reader whose clock differs, amounts kept left to right in Arabic (isolates in the
text part, ``<span dir="ltr">`` in the HTML part) and arrows pointing the way the reader reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from crm.core.emails import beside_casablanca, format_local, isolate_ltr, spans_for_isolates
from crm.core.time import CASABLANCA, to_utc
from crm.followups.mails import render_reminder
from tests.test_email_snapshots import _item

ZONES = ["Africa/Casablanca", "America/New_York", "America/Los_Angeles", "Europe/Paris", "Asia/Tokyo"]
LANGUAGES = ["ar", "fr", "en"]
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@given(instant=instants, zone=st.sampled_from(ZONES), language=st.sampled_from(LANGUAGES))
def test_the_readers_own_clock_has_no_offset_unless_the_hour_repeats(
    instant: datetime, zone: str, language: str
) -> None:
    with_offset = format_local(instant, zone, language)
    without = format_local(instant, zone, language, offset=False)
    assert with_offset.endswith(")") and "(UTC" in with_offset
    local = instant.astimezone(ZoneInfo(zone))
    repeated = local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
    assert without == (with_offset if repeated else with_offset.rsplit(" (UTC", 1)[0])


@pytest.mark.parametrize(
    ("wall", "zone", "fold", "expected"),
    [
        # 01:30 happens twice in New York on 1 November 2026: the offset tells which.
        (datetime(2026, 11, 1, 1, 30), "America/New_York", 0, "(UTC\u221204:00)"),
        (datetime(2026, 11, 1, 1, 30), "America/New_York", 1, "(UTC\u221205:00)"),
        # A plain hour: the reader's own clock, nothing more.
        (datetime(2026, 11, 2, 1, 30), "America/New_York", 0, None),
    ],
)
def test_a_repeated_hour_keeps_its_offset(wall: datetime, zone: str, fold: int, expected: str | None) -> None:
    instant = wall.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)
    text = format_local(instant, zone, "fr", offset=False)
    assert (expected in text) if expected else "UTC" not in text


@pytest.mark.parametrize(
    ("zone", "language", "expected"),
    [
        ("Africa/Casablanca", "fr", ""),
        ("Atlantic/Reykjavik", "fr", ""),  # the same clock as Casablanca then (UTC+0)
        ("America/New_York", "fr", " (21 sept. 2026, 10:00 à Casablanca)"),
        ("America/New_York", "en", " (Sep 21, 2026, 10:00 AM in Casablanca)"),
        ("America/New_York", "ar", "بتوقيت الدار البيضاء"),
    ],
)
def test_casablanca_time_beside_a_deadline_for_a_reader_on_another_clock(
    app: Any, zone: str, language: str, expected: str
) -> None:
    due = to_utc(datetime(2026, 9, 21, 10, 0), CASABLANCA)
    with app.app_context():
        from flask_babel import force_locale

        with force_locale(language):
            text = beside_casablanca(due, zone, language)
    assert (expected in text) if expected else text == ""
    if expected:
        assert "UTC" not in text and "10:00" in text


@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_isolates_become_ltr_spans_only_around_plain_text(text: str) -> None:
    isolated = isolate_ltr(text, "ar")
    assert isolate_ltr(text, "fr") == text
    shown = escape(isolated)  # as a template writes it
    html = spans_for_isolates(f"<html><title>{shown}</title><body><p>{shown}</p></body></html>")
    assert html.startswith(f"<html><title>{shown}</title>")  # the subject line stays text
    kept = escape(text.translate({0x200E: None, 0x200F: None, 0x61C: None}))
    if text and not set(text) & set("\u2066\u2067\u2068\u2069<>"):
        assert f'<span dir="ltr" style="white-space:nowrap;">{kept}</span>' in html
    # Whatever a user typed, the spans open and close in pairs.
    assert html.count("<span") == html.count("</span>")


@pytest.mark.parametrize(("language", "arrow"), [("ar", "←"), ("fr", "→"), ("en", "→")])
def test_arrows_point_the_way_the_reader_reads(app: Any, language: str, arrow: str) -> None:
    item = _item(language, "America/New_York")
    with app.app_context():
        app.config["BASE_URL"] = "https://jisr.example.org"
        from crm.accounts.models import Role, User

        reader = User(id=9, email="boss@jisr.example", name="Nadia", password_hash="x", role=Role.ADMIN)
        reader.language, reader.timezone = item.owner.language, "America/New_York"
        from crm.followups.mails import OverdueLine, render_team_escalation

        email = render_team_escalation(reader, [OverdueLine(item, 3)])
        reminder, _said = render_reminder(item, item.owner, "overdue-3", datetime(2026, 9, 24, 16, 0, tzinfo=UTC))
    other = "→" if arrow == "←" else "←"
    assert arrow in email.html and other not in email.html
    # A reader in New York: their own clock without offset, Casablanca's beside it.
    assert "UTC\u221204:00" not in email.text and "UTC\u221204:00" not in reminder.text
    assert "UTC+00:00" in reminder.text  # the Casablanca line, a zone other than the reader's
    six = "6:00 AM" if language == "en" else "06:00"  # English reads a 12-hour clock
    assert email.text.count("10:00") == 1 and email.text.count(six) == 1
