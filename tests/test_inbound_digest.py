"""Digests count the mail exchanged in their period, per US organisation, over the leads
they cover (confidential leads stay out of a contact's digest)."""

from __future__ import annotations

from sqlmodel import Session

from crm.digests.compile import compile_digest
from crm.digests.models import Cadence
from crm.digests.periods import latest_due_period
from crm.digests.render import render_digest
from crm.inbound.addresses import lead_address
from crm.inbound.operations import store_inbound
from tests.digest_helpers import SEND_AT, prepare_week
from tests.inbound_corpus import plain
from tests.test_spine import relay_and_consume

CASA = "Africa/Casablanca"
IN_WEEK = "Wed, 25 Nov 2026 11:00:00 +0000"


def test_a_digest_says_how_many_emails_were_exchanged_with_each_us_organisation(session: Session) -> None:
    week = prepare_week(session, language="fr")
    for n, (lead, date) in enumerate(
        [
            (week.in_week, IN_WEEK),
            (week.in_week, IN_WEEK),
            (week.signed, IN_WEEK),
            (week.in_week, "Wed, 04 Nov 2026 11:00:00 +0000"),  # weeks before
            (week.confidential, IN_WEEK),
        ]
    ):
        raw = plain(f"digest-{n}@example.com", "pat@partner.example", "x@jisr.example", date=date)
        store_inbound(session, raw, lead_address(lead))
    session.commit()
    relay_and_consume(session)
    period = latest_due_period(SEND_AT, Cadence.WEEKLY, CASA, 0, 8)
    digest = compile_digest(session, week.subscription, period, now=SEND_AT)
    assert [(t.organisation["en"], t.count) for t in digest.emails] == [("Palo Alto Networks", 2), ("Cisco", 1)]
    assert digest.summary()["emails"] == 3
    text = render_digest(digest, week.subscription).email.text.replace("\u202f", " ").replace("\u00a0", " ")
    assert "2 e-mails échangés avec Palo Alto Networks" in text and "1 e-mail échangé avec Cisco" in text
