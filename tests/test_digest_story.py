"""A digest tells one consistent story: a generated fortnight of backdated events (the
week of the digest and the week before), compiled at a sending moment after the week,
and every figure checked against a computation written here in plain Python over the
rows (leads, events, follow-ups), then read back from the Arabic, French and English
renderings (text and HTML).

The moments: the period's moves, signatures and new leads are the period's; the pipeline
and its value are those at the period's end (a lead's stage is the ``to`` of its last
stage change before the end, else the stage it was created in); follow-ups and the leads
needing attention are counted at the moment of sending; each key figure is compared with
the same figure a period earlier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal, get_plus_sign_symbol
from flask_babel import force_locale
from sqlmodel import Session, col, select

from crm.core.emails import format_local, format_locale
from crm.core.events import Event
from crm.core.i18n import gettext
from crm.digests.compile import ATTENTION_LIMIT, QUIET_AFTER, UPCOMING, compile_digest
from crm.digests.content import Digest
from crm.digests.models import Cadence
from crm.digests.periods import Period, period_containing
from crm.digests.render import render_digest
from crm.followups.models import FollowUp, FollowUpStatus
from crm.leads.labels import stage_label
from crm.leads.models import PIPELINE, Lead, Stage
from tests.digest_helpers import SEND_AT, World, build_fortnight

ZONE = "UTC"
SIGNED = Stage.AGREEMENT_SIGNED.value
PIPELINE_STAGES = [s.value for s in PIPELINE]
OPEN_STAGES = [s.value for s in PIPELINE if not s.is_closed]


# --- the independent computation --------------------------------------------------------


class Oracle:
    """The digest's figures computed from the rows, walking each lead's log forwards."""

    def __init__(self, session: Session, world: World) -> None:
        self.world = world
        filters = world.subscription.filters
        leads = session.exec(select(Lead).order_by(col(Lead.id))).all()

        def in_scope(lead: Lead) -> bool:
            if lead.confidential:  # an external stakeholder's digest
                return False
            if "mission_ids" in filters:
                return lead.mission_id in filters["mission_ids"]
            return lead.ma_organisation_id in filters["ma_organisation_ids"]

        self.leads = {int(lead.id or 0): lead for lead in leads if in_scope(lead)}
        events = session.exec(select(Event).where(col(Event.lead_id).in_(self.leads))).all()
        self.events: dict[int, list[Event]] = {}
        for event in sorted(events, key=lambda e: (e.occurred_at, e.id or 0)):
            self.events.setdefault(int(event.lead_id or 0), []).append(event)
        self.followups = session.exec(select(FollowUp).where(col(FollowUp.lead_id).in_(self.leads))).all()

    def of(self, lead_id: int, kind: str) -> list[Event]:
        return [e for e in self.events.get(lead_id, []) if e.type == kind]

    def created(self, lead_id: int) -> Event:
        return self.of(lead_id, "lead.created")[0]

    def stage_at(self, lead_id: int, instant: datetime) -> str | None:
        """``None`` for a lead not yet created at ``instant``."""
        if self.created(lead_id).occurred_at >= instant:
            return None
        before = [e for e in self.of(lead_id, "lead.stage_changed") if e.occurred_at < instant]
        return str(before[-1].payload["to"] if before else self.created(lead_id).payload["stage"])

    def amount_at(self, lead_id: int, instant: datetime, inclusive: bool = False) -> tuple[Any, Any]:
        payload = self.created(lead_id).payload
        value, currency = payload.get("estimated_value"), payload.get("currency")
        for event in self.of(lead_id, "lead.updated"):
            if event.occurred_at < instant or (inclusive and event.occurred_at == instant):
                changes = event.payload["changes"]
                value = changes["estimated_value"][1] if "estimated_value" in changes else value
                currency = changes["currency"][1] if "currency" in changes else currency
        return value, currency

    @staticmethod
    def total(pairs: Iterable[tuple[Any, Any]]) -> dict[str, str]:
        sums: dict[str, Decimal] = {}
        for value, currency in pairs:
            if value is not None and currency is not None:
                sums[str(currency)] = sums.get(str(currency), Decimal(0)) + Decimal(str(value))
        return {code: f"{amount:.2f}" for code, amount in sorted(sums.items()) if amount}

    def pipeline(self, instant: datetime) -> dict[str, int]:
        stages = [self.stage_at(lead_id, instant) for lead_id in self.leads]
        return {stage: stages.count(stage) for stage in PIPELINE_STAGES}

    def open_value(self, instant: datetime) -> dict[str, str]:
        return self.total(
            self.amount_at(lead_id, instant) for lead_id in self.leads if self.stage_at(lead_id, instant) in OPEN_STAGES
        )

    def changes_in(self, period: Period) -> list[Event]:
        found = [
            e
            for events in self.events.values()
            for e in events
            if e.type == "lead.stage_changed" and period.start <= e.occurred_at < period.end
        ]
        return sorted(found, key=lambda e: (e.occurred_at, e.id or 0))

    def signed_value(self, period: Period) -> dict[str, str]:
        signed = [e for e in self.changes_in(period) if e.payload["to"] == SIGNED]
        return self.total(self.amount_at(int(e.lead_id or 0), e.occurred_at, inclusive=True) for e in signed)

    def overdue_at(self, instant: datetime) -> list[FollowUp]:
        def open_at(f: FollowUp) -> bool:
            if f.status == FollowUpStatus.OPEN:
                return True
            closed = f.completed_at or f.updated_at
            return closed > instant

        return [f for f in self.followups if f.created_at <= instant and f.due_at < instant and open_at(f)]

    def figures(self, period: Period, moment: datetime) -> dict[str, int]:
        changes = self.changes_in(period)
        return {
            "new_leads": sum(period.start <= self.created(i).occurred_at < period.end for i in self.leads),
            "moves": len(changes),
            "signed": sum(e.payload["to"] == SIGNED for e in changes),
            "overdue": len(self.overdue_at(moment)),
        }

    def due_lists(self) -> tuple[list[str], list[str]]:
        now = self.world.now
        open_ones = sorted(
            (f for f in self.followups if f.status == FollowUpStatus.OPEN), key=lambda f: (f.due_at, f.id or 0)
        )
        overdue = [f.title for f in open_ones if f.due_at < now]
        upcoming = [f.title for f in open_ones if now <= f.due_at < now + UPCOMING]
        return overdue, upcoming

    def attention(self) -> tuple[list[int], int]:
        """Open leads with follow-ups overdue now (by their longest overdue), then open leads
        whose last own event (created, changed, moved) is older than the quiet limit."""
        now = self.world.now
        open_now = [i for i, lead in self.leads.items() if lead.stage.value in OPEN_STAGES]
        late: list[int] = []
        for f in sorted(self.overdue_at(now), key=lambda f: (f.due_at, f.id or 0)):
            if f.lead_id in open_now and f.status == FollowUpStatus.OPEN and f.lead_id not in late:
                late.append(f.lead_id)
        last_event = {i: max(e.occurred_at for e in self.events[i] if e.type.startswith("lead.")) for i in open_now}
        quiet = sorted((last, i) for i, last in last_event.items() if last < now - QUIET_AFTER and i not in late)
        listed = (late + [i for _last, i in quiet])[:ATTENTION_LIMIT]
        return listed, len(late) + len(quiet)

    def missions(self, session: Session) -> list[dict[str, Any]]:
        from crm.missions.models import Meeting, Mission

        cards = []
        end = self.world.period.end
        for mission_id in self.world.mission_ids:
            mission = session.get(Mission, mission_id)
            assert mission is not None
            ids = [i for i, lead in self.leads.items() if lead.mission_id == mission_id]
            stages = {i: self.stage_at(i, end) for i in ids}
            held = session.exec(select(Meeting).where(Meeting.mission_id == mission_id)).all()
            cards.append(
                {
                    "name": mission.name,
                    "meetings_held": sum(m.starts_at < end for m in held),
                    "leads": sum(stage is not None for stage in stages.values()),
                    "pipeline": {s: list(stages.values()).count(s) for s in PIPELINE_STAGES},
                    "value": self.total(self.amount_at(i, end) for i, s in stages.items() if s in OPEN_STAGES),
                    "signed": list(stages.values()).count(SIGNED),
                    "signed_value": self.total(self.amount_at(i, end) for i, s in stages.items() if s == SIGNED),
                }
            )
        return cards


# --- the test ----------------------------------------------------------------------------

# (seed, the subscription's filter, how long after the period's end it is sent, leads)
CASES = [
    (11, "organisation", timedelta(0), 16),
    (12, "organisation", timedelta(days=2, hours=3), 16),
    (13, "mission", timedelta(0), 16),
    (14, "mission", timedelta(days=2, hours=3), 20),
    (15, "organisation", timedelta(days=4), 40),
]


@pytest.mark.parametrize(("seed", "scope", "late", "count"), CASES)
def test_every_figure_of_a_known_fortnight_matches_an_independent_computation(
    app: Any, session: Session, seed: int, scope: str, late: timedelta, count: int
) -> None:
    world = build_fortnight(session, seed, scope, late, count)
    oracle = Oracle(session, world)
    period, previous, now = world.period, world.previous, world.now
    digest = compile_digest(session, world.subscription, period, now=now)

    a_period_ago = now - (period.end - previous.end)
    assert digest.figures == oracle.figures(period, now)
    assert digest.previous == oracle.figures(previous, a_period_ago)
    assert digest.pipeline == oracle.pipeline(period.end)
    assert digest.value == oracle.open_value(period.end)
    assert digest.previous_value == oracle.open_value(previous.end)
    assert digest.signed_value == oracle.signed_value(period)
    assert digest.previous_signed_value == oracle.signed_value(previous)
    assert [m.lead.lead_id for m in digest.moves] == [e.lead_id for e in oracle.changes_in(period)]
    overdue, upcoming = oracle.due_lists()
    assert [d.title for d in digest.overdue] == overdue
    assert [d.title for d in digest.upcoming] == upcoming
    listed, total = oracle.attention()
    assert [a.lead.lead_id for a in digest.attention] == listed
    assert len(digest.attention) + digest.attention_more == total
    expected_cards = oracle.missions(session)
    assert [
        {
            "name": c.name,
            "meetings_held": c.meetings_held,
            "leads": c.leads,
            "pipeline": c.pipeline,
            "value": c.value,
            "signed": c.signed,
            "signed_value": c.signed_value,
        }
        for c in digest.missions
    ] == expected_cards

    for language in ("ar", "fr", "en"):
        _check_rendering(app, digest, world, language, listed, total, expected_cards)


def _check_rendering(
    app: Any,
    digest: Digest,
    world: World,
    language: str,
    listed: list[int],
    total: int,
    cards: list[dict[str, Any]],
) -> None:
    email = render_digest(digest, world.subscription, language).email
    html, text = email.html, email.text
    locale = format_locale(language)
    colon = "\u00a0:" if language == "fr" else ":"

    def number(n: int) -> str:
        return str(format_decimal(n, locale=locale))

    def amount_text(amount: str | Decimal, currency: str) -> str:
        """Cents only when there are some; a no-break space between letters and digits."""
        value = Decimal(amount)
        if value != value.to_integral_value():
            shown = str(format_currency(value, currency, locale=locale))
        else:
            pattern = locale.currency_formats["standard"].pattern.replace("0.00", "0")
            shown = str(format_currency(value, currency, format=pattern, locale=locale, currency_digits=False))
        return re.sub(r"(?<=[A-Z])(?=\d)|(?<=\d)(?=[A-Z])", "\u00a0", shown)

    def isolated(shown: str) -> str:
        """Arabic keeps an amount left to right: in isolates, without Babel's bidi marks."""
        if language != "ar":
            return shown
        return "\u2066" + shown.translate(dict.fromkeys(map(ord, "\u200e\u200f\u061c"))) + "\u2069"

    def money(amount: str | Decimal, currency: str) -> str:
        return isolated(amount_text(amount, currency))

    with app.app_context(), force_locale(language):

        def versus(difference: int | Decimal, shown: str, amount: bool = False) -> str:
            if not difference:
                return gettext("same as previous week")
            plus = get_plus_sign_symbol(locale) if difference > 0 else ""
            change = isolated(plus + shown) if amount else plus + shown
            return gettext("%(change)s vs previous week", change=change)

        labels = {
            "new_leads": gettext("New leads"),
            "moves": gettext("Stage moves"),
            "signed": gettext("Agreements signed"),
            "overdue": gettext("Overdue follow-ups"),
        }
        hello = gettext("Hello %(name)s,", name="Nadia Focal")
        hello_html = gettext("Hello %(name)s,", name='<span dir="ltr" style="unicode-bidi:isolate;">Nadia Focal</span>')
        as_of = format_skeleton("yMMMd", (world.period.end - timedelta(seconds=1)).date(), locale=locale)
        pipeline_heading = gettext("Pipeline by stage at the end of %(day)s", day=as_of)
        sending = format_local(world.now, ZONE, language, "short", offset=False)  # the reader's own zone
        overdue_heading = gettext("Overdue follow-ups on %(moment)s", moment=sending)
        stages = {stage: stage_label(stage) for stage in PIPELINE_STAGES}
        value_label, signed_label = gettext("Open pipeline value"), gettext("Value signed")
        more = gettext("and %(count)s more", count=number(total - len(listed)))

        # Greeting on its own, then a new paragraph (text and HTML).
        assert f"\n{hello}\n\n" in text
        assert f">{hello_html}</p>\n<p" in html
        for name, label in labels.items():
            n, difference = digest.figures[name], digest.figures[name] - digest.previous[name]
            phrase = versus(difference, number(difference))
            assert f"\n{label}{colon} {number(n)} ({phrase})\n" in text, (language, name)
            row = re.search(rf'data-figure="{name}">(.*?)</tr>', html, re.S)
            # The label, then the figure with its change below it.
            assert row and re.findall(r">([^<>]+)<", row.group(1)) == [label, number(n), phrase]
        for currency in sorted(set(digest.signed_value) | set(digest.previous_signed_value)):
            amount = Decimal(digest.signed_value.get(currency, "0"))
            difference = amount - Decimal(digest.previous_signed_value.get(currency, "0"))
            phrase = versus(difference, amount_text(difference, currency), amount=True)
            assert f"\n{signed_label} ({currency}){colon} {money(amount, currency)} ({phrase})\n" in text
        assert f"== {pipeline_heading} ==" in text and pipeline_heading in html
        for stage, label in stages.items():
            row = re.search(rf'data-stage="{stage}">(.*?)</tr>', html, re.S)
            assert row and re.findall(r">([^<>]*)</td>", row.group(1)) == [label, number(digest.pipeline[stage])]
        for currency in sorted(set(digest.value) | set(digest.previous_value)):
            amount = Decimal(digest.value.get(currency, "0"))
            difference = amount - Decimal(digest.previous_value.get(currency, "0"))
            phrase = versus(difference, amount_text(difference, currency), amount=True)
            assert f"\n{value_label} ({currency}){colon} {money(amount, currency)} ({phrase})\n" in text
        overdue_rows = re.search(r'<table id="overdue"(.*?)</table>', html, re.S)
        assert (overdue_rows is not None) == bool(digest.overdue) == (overdue_heading in text)
        if overdue_rows:
            assert len(re.findall("data-lead=", overdue_rows.group(1))) == len(digest.overdue)
        attention = re.search(r'<table id="attention"(.*?)</table>', html, re.S)
        assert (attention is not None) == bool(listed)
        if attention:
            assert re.findall(r'data-lead="(\d+)"', attention.group(1)) == [str(i) for i in listed]
        assert (more in text) == (total > len(listed))
        for card in cards:
            assert f'data-mission="{world.mission_ids[0]}"' in html and card["name"] in text


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
@pytest.mark.parametrize(
    ("cadence", "phrase", "same"),
    [
        ("daily", "%(change)s vs previous day", "same as previous day"),
        ("weekly", "%(change)s vs previous week", "same as previous week"),
        ("monthly", "%(change)s vs previous month", "same as previous month"),
    ],
)
def test_changes_are_told_against_the_previous_day_week_or_month(
    app: Any, session: Session, cadence: str, phrase: str, same: str, language: str
) -> None:
    from tests.digest_helpers import prepare_week

    week = prepare_week(session, language=language)
    subscription = week.subscription
    subscription.cadence = Cadence(cadence)
    # The day the MoU was signed, the week, or the month: one agreement signed, none before.
    when = datetime(2026, 11, 26, 12, tzinfo=SEND_AT.tzinfo)
    period = period_containing(when, cadence, "Africa/Casablanca", 0, 8)
    digest = compile_digest(session, subscription, period, now=period.end + timedelta(hours=8))
    assert digest.figures["signed"] == 1 and digest.previous["signed"] == 0
    text = render_digest(digest, subscription).email.text
    with force_locale(language):
        signed = gettext("Agreements signed")
        locale = format_locale(language)
        expected = gettext(phrase, change=get_plus_sign_symbol(locale) + str(format_decimal(1, locale=locale)))
        unchanged = gettext(same)
    colon = "\u00a0:" if language == "fr" else ":"
    assert f"\n{signed}{colon} 1 ({expected})\n" in text
    if any(not digest.change(name) for name in digest.figures):
        assert unchanged in text


def test_a_mission_digest_reads_as_many_statements_for_seven_leads_as_for_forty(app: Any, session: Session) -> None:
    """The scorecard comes out of the same lead scan: more leads, no more statements."""
    from crm.accounts.models import User
    from tests.digest_helpers import backdate
    from tests.factories import make_lead
    from tests.test_digests import count_statements

    world = build_fortnight(session, 21, "mission", timedelta(hours=8), 10)
    period = world.period
    small = count_statements(session, lambda: compile_digest(session, world.subscription, period, now=world.now))
    mission_id = world.mission_ids[0]
    some = session.exec(select(Lead).where(Lead.mission_id == mission_id)).first()
    assert some is not None
    owner = session.get(User, some.owner_id)
    for n in range(33):
        lead = make_lead(
            session,
            title=f"Another lead {n}",
            owner=owner,
            ma_organisation_id=some.ma_organisation_id,
            us_organisation_id=some.us_organisation_id,
            meeting_id=some.meeting_id,
            estimated_value="1000",
            currency="USD",
        )
        backdate(session, lead, period.start + timedelta(days=1, minutes=n))
    session.commit()
    found: list[Digest] = []
    big = count_statements(
        session, lambda: found.append(compile_digest(session, world.subscription, period, now=world.now))
    )
    assert big == small
    card = found[0].missions[0]
    expected = Oracle(session, world).missions(session)[0]
    assert (card.leads, card.value) == (expected["leads"], expected["value"])
    assert found[0].figures["new_leads"] >= 33


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
def test_a_preview_of_a_week_not_over_tells_the_pipeline_at_that_moment(
    app: Any, session: Session, language: str
) -> None:
    from tests.digest_helpers import prepare_week

    week = prepare_week(session, language=language)
    moment = datetime(2026, 11, 28, 12, tzinfo=SEND_AT.tzinfo)  # Saturday of week 48
    period = period_containing(moment, "weekly", "Africa/Casablanca", 0, 8)
    digest = compile_digest(session, week.subscription, period, now=moment)
    assert (digest.as_of, digest.finished) == (moment, False)
    assert digest.pipeline == {"identified": 1, "contacted": 1, **dict.fromkeys(PIPELINE_STAGES[2:5], 0), SIGNED: 1}
    assert [d.title for d in digest.overdue] == ["Send the workshop agenda"]
    assert [d.title for d in digest.upcoming] == ["Confirm the trainers"]
    text = render_digest(digest, week.subscription).email.text
    with force_locale(language):
        shown = format_local(moment, "Africa/Casablanca", language, "short", offset=False)
        heading = gettext("Pipeline by stage on %(moment)s", moment=shown)
        overdue = gettext("Overdue follow-ups on %(moment)s", moment=shown)
    assert f"== {heading} ==" in text and f"== {overdue} ==" in text
