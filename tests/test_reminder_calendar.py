"""The .ics of a reminder as a calendar client gets it: ``METHOD:PUBLISH``, UTC instants
that Outlook and Google read the same way, UTF-8 text folded without splitting a
character, and on the wire a ``text/calendar`` part that names its charset and method."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from sqlmodel import Session

from crm.core.ledger import Attachment, MailStatus, send_one
from crm.core.wire import compose
from crm.followups.calendar import build_calendar
from tests.test_email_snapshots import _item
from tests.test_mail_wire import SENDER, Sink, reminder, sink  # noqa: F401  (sink is a fixture)

LONG_TITLES = [
    # Well over 75 octets, so that each is folded, with multibyte characters around the folds.
    "الاتفاق على مواعيد ورشة الأمن السيبراني بين المديرية العامة لأمن نظم المعلومات وبالو ألتو",
    "Convenir des dates de l'atelier « cybersécurité » : Élodie, Françoise et Anaïs à Marrakech — été",
]


def _lines(ics: bytes) -> list[bytes]:
    assert ics.endswith(b"\r\n")
    return ics[:-2].split(b"\r\n")


def _check_calendar(ics: bytes, title: str, due_at: datetime) -> None:
    lines = _lines(ics)
    for line in lines:
        assert len(line) <= 75, line  # RFC 5545 §3.1: octets, CRLF excluded
        line.decode("utf-8")  # a fold never splits a character
    assert b"METHOD:PUBLISH" in lines
    assert not any(b"TZID" in line for line in lines) and b"BEGIN:VTIMEZONE" not in lines
    start = due_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode()
    assert f"DTSTART:{start.decode()}".encode() in lines
    end = (due_at.astimezone(UTC) + timedelta(minutes=30)).strftime("%Y%m%dT%H%M%SZ").encode()
    assert b"DTEND:" + end in lines
    assert all(re.fullmatch(rb"DTSTAMP:\d{8}T\d{6}Z", line) for line in lines if line.startswith(b"DTSTAMP"))
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["SUMMARY"]).startswith(title)  # unfolded, accents and Arabic intact
    assert event.decoded("DTSTART") == due_at.astimezone(UTC)


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
@pytest.mark.parametrize("title", LONG_TITLES, ids=["arabic", "french"])
def test_the_ics_publishes_utc_instants_in_utf8(app: Any, language: str, title: str) -> None:
    item = _item(language, "Africa/Casablanca")
    item.followup.title = title
    with app.app_context(), force_locale(language):
        ics = build_calendar([item], lambda lead_id: f"https://jisr.example.org/leads/{lead_id}")
    _check_calendar(ics, title, item.followup.due_at)
    # 10:00 in Casablanca on 2026-09-21 is 10:00 UTC: permanent UTC+0 since 2026-09-20.
    assert b"DTSTART:20260921T100000Z" in _lines(ics)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.text(min_size=1, max_size=120).filter(lambda t: t.strip() and "\r" not in t))
def test_any_title_folds_without_splitting_a_character(app: Any, title: str) -> None:
    item = _item("ar", "Africa/Casablanca")
    item.followup.title = title
    with app.app_context(), force_locale("ar"):
        ics = build_calendar([item], lambda lead_id: f"https://jisr.example.org/leads/{lead_id}")
    for line in _lines(ics):
        assert len(line) <= 75
        line.decode("utf-8")
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"{title} — {item.lead.title}"


def _calendar_part(raw: bytes) -> Any:
    message = message_from_bytes(raw, policy=email_policy.default)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part


def test_the_calendar_part_names_its_charset_and_method_on_the_raw_bytes() -> None:
    ics = "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nSUMMARY:Échéance — موعد\r\nEND:VCALENDAR\r\n".encode()
    png = Attachment("chart.png", "image/png", b"\x89PNG\r\n")
    wire = compose(
        sender=SENDER,
        recipient="leila@jisr.example",
        recipient_name="Leïla",
        subject="Échéance",
        message_id="<1@jisr>",
        date=datetime(2026, 9, 20, 9, 0, tzinfo=UTC),
        language="fr",
        text="Texte",
        html="<p>Texte</p>",
        attachments=[Attachment("followup-11.ics", "text/calendar", ics).to_json(), png.to_json()],
    )
    assert re.search(rb'\r\nContent-Type: text/calendar; charset="utf-8"; method="PUBLISH"\r\n', wire.data)
    assert re.search(rb"\r\nContent-Type: image/png\r\n", wire.data)  # other parts get no parameters
    part = _calendar_part(wire.data)
    assert part.get_content_charset() == "utf-8" and part.get_param("method") == "PUBLISH"
    assert part.get_filename() == "followup-11.ics" and part.get_content() == ics.decode()


def test_a_sent_reminder_carries_the_ics_as_clients_expect(app: Any, session: Session, sink: Sink) -> None:  # noqa: F811
    """Made by the dispatcher, sent by the ledger through a real SMTP server."""
    title = LONG_TITLES[0]
    [mail_id] = reminder(session, "سارة العمراني", title)
    outcome = send_one(session, mail_id, sender=SENDER, lease=timedelta(seconds=30), base=0.0, max_attempts=3)
    assert outcome is not None and outcome.status == MailStatus.SENT
    _sender, _rcpt, raw = sink.received[-1]
    part = _calendar_part(raw)
    assert part.get_content_charset() == "utf-8" and part.get_param("method") == "PUBLISH"
    ics = part.get_payload(decode=True)
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    _check_calendar(ics, title, event.decoded("DTSTART"))
