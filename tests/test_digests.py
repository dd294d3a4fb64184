"""Digests: periods on the wall clock, set-based compilation, rendering in three
languages with an inline chart, scheduling once per period, one-click unsubscribe."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import Session, col, select

from crm.config import parse_mail_url
from crm.core.db import db
from crm.core.events import Event
from crm.core.ledger import Attachment, MailStatus, OutboundMail, build_message, send_one
from crm.digests.compile import compile_digest
from crm.digests.dispatch import dispatch_chunk, due_subscription_ids, send_digest
from crm.digests.models import Cadence, DigestRun, Subscription
from crm.digests.periods import latest_due_period, parse_period, period_containing
from crm.digests.render import render_digest, subscription_of_token, unsubscribe_token
from tests.digest_helpers import SEND_AT, WEEK_START, prepare_week
from tests.spine_helpers import Sink

CASA = "Africa/Casablanca"


def run_schedule(session: Session, now: datetime) -> dict[str, int]:
    """What beat + the chunk tasks do, in this process."""
    results: dict[str, int] = {}
    for start in range(0, 10_000, 100):
        ids = due_subscription_ids(session, now)[start : start + 100]
        if not ids:
            break
        for key, value in dispatch_chunk(session, ids, now).items():
            results[key] = results.get(key, 0) + value
    return results


def send_all(app: Any) -> list[Any]:
    with Sink() as sink:
        app.config["MAIL"] = parse_mail_url(sink.url)
        with app.app_context():
            ids = db.session.exec(select(OutboundMail.id).where(OutboundMail.status == MailStatus.QUEUED)).all()
            for mail_id in ids:
                send_one(
                    db.session,
                    int(mail_id or 0),
                    sender="Jisr <jisr@localhost>",
                    lease=timedelta(seconds=30),
                    base=0.0,
                    max_attempts=3,
                )
    return sink.messages


# --- periods -------------------------------------------------------------------------


def test_weekly_period_is_last_monday_to_monday_on_the_local_clock() -> None:
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    assert (period.key, period.start, period.end, period.due_at) == (
        "2026-W48",
        WEEK_START,
        WEEK_START + timedelta(days=7),
        SEND_AT,
    )
    # One minute earlier the week before is still the latest due one.
    assert latest_due_period(SEND_AT - timedelta(minutes=1), Cadence.WEEKLY, CASA, 0, 8).key == "2026-W47"
    assert parse_period("2026-W48", Cadence.WEEKLY, CASA, 0, 8) == period


def test_daily_and_monthly_periods_and_a_zone_with_an_offset() -> None:
    now = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 07:00 in Los Angeles
    daily = latest_due_period(now, Cadence.DAILY, "America/Los_Angeles", 0, 8)
    assert daily.key == "2026-11-29" and daily.start == datetime(2026, 11, 29, 8, tzinfo=UTC)
    monthly = latest_due_period(now, Cadence.MONTHLY, CASA, 0, 8)
    assert (monthly.key, monthly.start, monthly.end) == (
        "2026-11",
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert period_containing(now, "monthly", CASA, 0, 8).key == "2026-12"
    assert parse_period("2026-W99", Cadence.WEEKLY, CASA, 0, 8) is None
    assert parse_period("nonsense", Cadence.MONTHLY, CASA, 0, 8) is None


# --- compilation ----------------------------------------------------------------------


def test_compiled_week_lists_exactly_the_expected_leads_and_figures(session: Session) -> None:
    week = prepare_week(session)
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    digest = compile_digest(session, week.subscription, period, now=SEND_AT)
    assert digest.figures == {"new_leads": 1, "moves": 2, "signed": 1, "overdue": 1}
    assert digest.previous == {"new_leads": 1, "moves": 0, "signed": 0, "overdue": 0}
    assert digest.signed_value == {"MAD": "500000.00"} and digest.previous_signed_value == {}
    assert [m.lead.title for m in digest.moves] == ["SOC workshop", "Cyber training MoU"]
    assert [(m.from_stage, m.to_stage, m.actor) for m in digest.moves][1] == (
        "identified",
        "agreement_signed",
        "Salma Officer",
    )
    assert [lead.title for lead in digest.new_leads] == ["SOC workshop"]
    assert [d.title for d in digest.overdue] == ["Send the workshop agenda"]
    assert [d.title for d in digest.upcoming] == ["Confirm the trainers"]
    assert [m.title for m in digest.meetings] == [week.meeting_title]
    assert [(a.lead.title, a.overdue) for a in digest.attention] == [("SOC workshop", 1), ("Threat intel sharing", 0)]
    assert digest.pipeline["identified"] == 1 and digest.pipeline["contacted"] == 1
    assert digest.pipeline["agreement_signed"] == 1
    assert digest.value == {"USD": "20000.00"}  # signed agreements are out of the open pipeline
    assert not digest.links  # an external stakeholder gets no internal links


def test_confidential_leads_reach_only_users_allowed_to_see_them(session: Session) -> None:
    week = prepare_week(session)
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    owner_sub = Subscription(
        name="Owner",
        email="o@x.example",
        user_id=week.officer.id,
        filters=week.subscription.filters,
        include_confidential=True,
    )
    owner_digest = compile_digest(session, owner_sub, period, now=SEND_AT)
    assert "Secret audit" in [lead.title for lead in owner_digest.new_leads] and owner_digest.links
    from tests.factories import make_user

    stranger = make_user(session)
    other_sub = Subscription(
        name="Other",
        email="s@x.example",
        user_id=stranger.id,
        filters=week.subscription.filters,
        include_confidential=True,
    )
    assert "Secret audit" not in [
        lead.title for lead in compile_digest(session, other_sub, period, now=SEND_AT).new_leads
    ]


def count_statements(session: Session, action: Any) -> int:
    engine = session.get_bind()
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


def test_query_count_is_the_same_for_one_lead_and_fifty(app: Any, session: Session) -> None:
    week = prepare_week(session, lead_count=0)
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    small = count_statements(session, lambda: compile_digest(session, week.subscription, period, now=SEND_AT))
    from tests.digest_helpers import backdate, utc
    from tests.factories import make_lead

    for n in range(50):
        lead = make_lead(
            session,
            title=f"More {n}",
            owner=week.officer,
            ma_organisation_id=week.in_week.ma_organisation_id,
            us_organisation_id=week.in_week.us_organisation_id,
            sector_id=week.in_week.sector_id,
        )
        backdate(session, lead, utc(25))
    session.commit()
    session.expire_all()
    subscription = session.get(Subscription, week.subscription.id)
    big_digest: list[Any] = []
    big = count_statements(
        session, lambda: big_digest.append(compile_digest(session, subscription, period, now=SEND_AT))
    )
    assert big_digest[0].figures["new_leads"] == 51
    assert big == small


# --- rendering and sending ------------------------------------------------------------


def test_arabic_weekly_digest_is_sent_once_at_monday_0800_utc_with_an_inline_chart(app: Any, session: Session) -> None:
    week = prepare_week(session, language="ar")
    assert due_subscription_ids(session, SEND_AT - timedelta(minutes=1)) == []
    assert due_subscription_ids(session, SEND_AT) == [week.subscription.id]
    assert run_schedule(session, SEND_AT) == {"queued": 1}
    assert run_schedule(session, SEND_AT) == {}  # twice: nothing more
    assert run_schedule(session, SEND_AT + timedelta(minutes=15)) == {}
    mail = session.exec(select(OutboundMail)).one()
    assert mail.dedupe_key == f"digest:{week.subscription.id}:2026-W48"
    messages = send_all(app)
    assert len(messages) == 1
    message = messages[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<http://\S+/digests/unsubscribe/\S+>", message["List-Unsubscribe"])
    html = message.get_body(("html",)).get_content()
    assert 'dir="rtl"' in html and "<script" not in html
    related = [part for part in message.walk() if part.get_content_type() == "multipart/related"]
    assert len(related) == 1
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == "<pipeline-chart@jisr>" and image.get_content().startswith(b"\x89PNG")
    assert 'src="cid:pipeline-chart@jisr"' in html
    text = message.get_body(("plain",)).get_content()
    assert "SOC workshop" in text and "Secret audit" not in text and "Cloud migration" not in text
    assert "/leads/" not in html  # no internal links for an external stakeholder
    run = session.exec(select(DigestRun)).one()
    assert (run.period, run.status, run.figures["figures"]["new_leads"]) == ("2026-W48", "queued", 1)
    # After sending, the beat still finds nothing to do.
    assert run_schedule(session, SEND_AT + timedelta(hours=2)) == {}
    assert len(send_all(app)) == 0


def _facts(html: str) -> list[str]:
    return sorted(re.findall(r'data-lead="(\d+)"', html)) + re.findall(r'data-figure="(\w+)"', html)


def test_french_and_english_versions_tell_the_same_facts(app: Any, session: Session) -> None:
    week = prepare_week(session)
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    digest = compile_digest(session, week.subscription, period, now=SEND_AT)
    versions = {lang: render_digest(digest, week.subscription, lang).email for lang in ("ar", "fr", "en")}
    assert _facts(versions["ar"].html) == _facts(versions["fr"].html) == _facts(versions["en"].html)
    assert 'dir="ltr"' in versions["fr"].html and 'lang="fr"' in versions["fr"].html
    assert "Nouvelles pistes" in versions["fr"].text and "Synthèse hebdomadaire" in versions["fr"].subject
    assert "New leads" in versions["en"].text
    assert re.search("[\u0600-\u06ff]", versions["ar"].subject)
    for version in versions.values():
        assert "SOC workshop" in version.text and "Cyber training MoU" in version.text
        assert "Secret audit" not in version.text


def test_empty_digests_are_archived_but_not_sent_unless_asked(session: Session) -> None:
    week = prepare_week(session)
    far = datetime(2027, 6, 7, 8, tzinfo=UTC)  # a quiet week, long after (follow-ups done)
    session.execute(sa.update(Event).values(occurred_at=datetime(2026, 11, 1, tzinfo=UTC)))
    from crm.followups.models import FollowUp, FollowUpStatus

    session.execute(sa.update(FollowUp).values(status=FollowUpStatus.DONE))
    session.commit()
    assert run_schedule(session, far) == {"empty": 1}
    assert session.exec(select(OutboundMail)).all() == []
    week.subscription.send_when_empty = True
    period = latest_due_period(far + timedelta(days=7), Cadence.WEEKLY, CASA, 0, 8)
    assert send_digest(session, week.subscription, period) == "queued"


def test_inline_attachment_builds_valid_multipart_mime() -> None:
    mail = OutboundMail(
        dedupe_key="k",
        kind="digest",
        recipient_email="a@b.example",
        language="en",
        subject="S",
        text_body="plain",
        html_body='<p><img src="cid:c1@x"></p>',
        message_id="<m@x>",
        attachments=[
            Attachment("c.png", "image/png", b"\x89PNG..", cid="c1@x").to_json(),
            Attachment("f.ics", "text/calendar", b"BEGIN:VCALENDAR").to_json(),
        ],
    )
    parsed = message_from_bytes(build_message(mail, "Jisr <j@x>").as_bytes(), policy=default_policy)
    assert parsed.get_content_type() == "multipart/mixed"
    types = [part.get_content_type() for part in parsed.walk()]
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "text/calendar",
    ]
    assert parsed.get_body(("plain",)).get_content().strip() == "plain"


# --- unsubscribe ----------------------------------------------------------------------


def test_unsubscribe_token_cannot_be_forged_for_another_subscription(app: Any) -> None:
    with app.app_context():
        token = unsubscribe_token(7)
        assert subscription_of_token(token) == 7
        _payload, signature = token.rsplit(".", 1)
        assert subscription_of_token(unsubscribe_token(8).rsplit(".", 1)[0] + "." + signature) is None
        assert subscription_of_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
        from itsdangerous import URLSafeSerializer

        other = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else").dumps({"s": 7})
        assert subscription_of_token(other) is None


@pytest.mark.parametrize("method", ["one-click"])
def test_one_click_unsubscribe_stops_the_next_digest(app: Any, session: Session, client: Any, method: str) -> None:
    week = prepare_week(session, language="fr")
    run_schedule(session, SEND_AT)
    message = send_all(app)[0]
    url = message["List-Unsubscribe"].strip("<>")
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200  # a confirm page, nothing changed yet
    session.expire_all()
    assert session.get(Subscription, week.subscription.id).is_active
    response = client.post("/" + path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    session.expire_all()
    assert not session.get(Subscription, week.subscription.id).is_active
    event = session.exec(select(Event).where(Event.type == "subscription.unsubscribed")).one()
    assert event.payload == {"via": "email"}
    assert run_schedule(session, SEND_AT + timedelta(days=7)) == {}
    assert session.exec(select(col(OutboundMail.id))).all() and len(session.exec(select(OutboundMail)).all()) == 1


def test_demo_subscriptions_compile_in_their_languages_and_load_once(session: Session) -> None:
    from crm.demo import load_demo

    load_demo(session)
    session.commit()
    load_demo(session)
    session.commit()
    subscriptions = session.exec(select(Subscription).order_by(col(Subscription.id))).all()
    assert [(s.language, s.user_id is not None) for s in subscriptions] == [
        ("ar", False),
        ("fr", False),
        ("en", False),
        ("fr", True),
    ]
    now = datetime.now(UTC)
    for subscription in subscriptions:
        period = latest_due_period(now, subscription.cadence, subscription.timezone, 0, 8)
        digest = compile_digest(session, subscription, period)
        assert sum(digest.pipeline.values()) > 0  # each stakeholder has leads to read about
        assert render_digest(digest, subscription).email.subject


def test_digests_compiled_together_share_facts_but_each_reader_sees_only_its_leads(session: Session) -> None:
    """One chunk's shared facts: the owner's digest lists the confidential lead; a
    stranger's and an external stakeholder's with the same filters do not."""
    from crm.digests.facts import DigestFacts
    from tests.factories import make_user

    week = prepare_week(session)
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    stranger = make_user(session)
    session.commit()
    readers = [
        Subscription(id=901, name="O", email="o@x.example", user_id=week.officer.id, include_confidential=True),
        Subscription(id=902, name="S", email="s@x.example", user_id=stranger.id, include_confidential=True),
        Subscription(id=903, name="E", email="e@x.example"),
        Subscription(id=904, name="E2", email="e2@x.example"),
    ]
    facts = DigestFacts(session)
    digests = []
    for reader in readers:
        reader.filters = week.subscription.filters
        digests.append(compile_digest(session, reader, period, facts=facts, now=SEND_AT))
    titles = [[lead.title for lead in d.new_leads] for d in digests]
    assert "Secret audit" in titles[0]
    assert all("Secret audit" not in t for t in titles[1:])
    assert [d.subscription_id for d in digests] == [901, 902, 903, 904]
    assert [d.links for d in digests] == [True, True, False, False]
    assert len(facts.compiled) == 3  # the two external stakeholders share one compilation
    assert digests[2].new_leads == digests[3].new_leads and digests[2].figures == digests[3].figures


def test_pipeline_chart_labels_stages_in_the_reader_language_right_to_left_for_arabic() -> None:
    from io import BytesIO

    from PIL import Image, ImageFont, features

    from crm.digests.chart import LABELS, PAD, WIDTH, _font, pipeline_chart

    assert features.check("raqm"), "Arabic shaping needs Pillow's Raqm layout engine"
    assert _font().layout_engine == ImageFont.Layout.RAQM
    counts = [12, 7, 5, 3, 2, 1]
    arabic = Image.open(
        BytesIO(pipeline_chart(counts, ["محدَّدة", "تم التواصل", "عُقد اجتماع", "مقترح", "تفاوض", "اتفاقية"], rtl=True))
    )
    french = Image.open(
        BytesIO(pipeline_chart(counts, ["Identifiée", "Contactée", "Réunion", "Proposition", "Négo", "Accord"]))
    )

    def ink(image: Any, left: int, right: int, row: int) -> tuple[int, int]:
        """(dark text pixels, bar-coloured pixels) between x = left and right on the first row."""
        pixels = image.convert("RGB").load()
        dark = bar = 0
        for x in range(left, right):
            for y in range(PAD + 2 + 28 * row, PAD + 26 + 28 * row):
                r, g, b = pixels[x, y]
                dark += r + g + b < 200
                bar += (r, g, b) == (0x9E, 0xCA, 0xE1)
        return dark, bar

    # Arabic: the name sits on the right, the bar grows leftwards from it.
    assert ink(arabic, WIDTH - PAD - LABELS, WIDTH, 0)[0] > 20
    assert ink(arabic, 0, WIDTH - PAD - LABELS, 0)[1] > 1000
    assert ink(arabic, WIDTH - PAD - LABELS + 1, WIDTH, 0)[1] == 0
    # French: the mirror image.
    assert ink(french, 0, PAD + LABELS, 0)[0] > 20
    assert ink(french, PAD + LABELS, WIDTH, 0)[1] > 1000
    assert ink(french, 0, PAD + LABELS - 1, 0)[1] == 0


def test_pipeline_value_is_compared_with_its_value_at_the_previous_periods_end(app: Any, session: Session) -> None:
    week = prepare_week(session, language="en")
    from crm.leads.operations import update_lead

    with time_machine.travel(SEND_AT + timedelta(days=2)):
        update_lead(session, week.cold, estimated_value="50000", actor=week.officer)
        session.commit()
    following = latest_due_period(SEND_AT + timedelta(days=7), Cadence.WEEKLY, CASA, 0, 8)
    digest = compile_digest(session, week.subscription, following, now=following.due_at)
    assert digest.previous_value == {"USD": "20000.00"} and digest.value == {"USD": "50000.00"}
    text = render_digest(digest, week.subscription).email.text
    assert "Open pipeline value (USD): $50,000 (+$30,000 vs previous week)" in text
    # Week 48, compiled after the change, still tells the value at its own end.
    week_one = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    assert compile_digest(session, week.subscription, week_one, now=following.due_at).value == {"USD": "20000.00"}


def test_a_resubscribed_reader_gets_the_next_digest_not_the_one_missed_while_stopped(session: Session) -> None:
    from crm.digests.operations import resubscribe, unsubscribe

    week = prepare_week(session)
    unsubscribe(session, week.subscription)
    session.commit()
    assert run_schedule(session, SEND_AT) == {}
    with time_machine.travel(SEND_AT + timedelta(days=1)):
        resubscribe(session, week.subscription)
        session.commit()
    assert run_schedule(session, SEND_AT + timedelta(days=2)) == {}  # week 48 fell due while it was stopped
    assert due_subscription_ids(session, SEND_AT + timedelta(days=7)) == [week.subscription.id]
