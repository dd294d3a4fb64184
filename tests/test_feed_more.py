"""The feed at work: Today reads it in a constant number of statements whatever the
number of events, right after the request that changed it; entries the rule no longer
admits are skipped, a batch at a time; entries go with their events, their leads and
the window; the commands rebuild and check it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import time_machine
from sqlmodel import Session, col, func, select

from crm.core.events import Event
from crm.core.time import utcnow
from crm.feed.models import FeedEntry
from crm.feed.rebuild import check
from crm.feed.sync import sync_leads
from crm.leads.operations import add_watcher, delete_lead, log_activity, update_lead
from crm.system.retention import DEFAULTS, apply_retention
from tests.factories import make_lead, make_user
from tests.test_feed import from_feed, live_recent
from tests.test_web import count_queries
from tests.web_helpers import login


def _count(session: Session, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(FeedEntry).where(*where)).one())


def test_today_reads_the_feed_in_the_same_statements_whatever_the_events(
    app: Any, session: Session, client: Any
) -> None:
    officer = make_user(session, email="officer@jisr.example", language="en")
    other = make_user(session)
    mine = make_lead(session, owner=officer, title="Mine")
    theirs = make_lead(session, owner=other, title="Theirs")

    def more(n: int) -> None:
        for k in range(n):
            log_activity(session, mine, kind="call", body=f"Their call {k}", actor=other)
            log_activity(session, mine, kind="note", body=f"My note {k}", actor=officer)
            log_activity(session, theirs, kind="note", body=f"Elsewhere {k}", actor=other)
        session.commit()

    more(1)
    login(client, "officer@jisr.example")
    with count_queries(app) as few:
        assert client.get("/today").get_data(as_text=True).count('data-event-type="activity.logged"') == 1
    more(40)
    with count_queries(app) as many:
        page = client.get("/today").get_data(as_text=True)
    assert page.count(f'data-event-type="activity.logged" data-lead-id="{mine.id}"') == 20
    assert f'data-lead-id="{theirs.id}"' not in page
    assert len(many) == len(few)
    # Read from the officer's entries, not by walking the events.
    (read,) = [s for s in many if "feed_entry" in s]
    assert "JOIN event" in read and "ORDER BY event.occurred_at" not in read
    assert from_feed(session, officer) == live_recent(session, officer)


def test_a_change_in_a_request_is_on_today_at_once(app: Any, session: Session, client: Any) -> None:
    """Made a watcher, the colleague's Today lists the lead's recent changes at the next
    page, without waiting for a worker; handed the lead, the new owner's too."""
    owner = make_user(session, email="owner@jisr.example", language="en")
    colleague = make_user(session, email="colleague@jisr.example", language="en")
    lead = make_lead(session, owner=owner, title="Shared")
    log_activity(session, lead, kind="call", body="Called the agency", actor=owner)
    session.commit()
    login(client, "owner@jisr.example")
    response = client.post(f"/leads/{lead.id}/watchers", data={"watcher-user_id": str(colleague.id)})
    assert response.status_code in (200, 302)
    other_client = app.test_client()
    login(other_client, "colleague@jisr.example")
    page = other_client.get("/today").get_data(as_text=True)
    assert "Shared" in page and 'data-testid="today-recent-empty"' not in page
    assert from_feed(session, colleague) == live_recent(session, colleague) != []
    newcomer = make_user(session)
    update_lead(session, lead, actor=owner, owner_id=newcomer.id)
    session.commit()
    assert from_feed(session, newcomer) == live_recent(session, newcomer) != []
    assert from_feed(session, owner) == live_recent(session, owner)


def test_entries_the_rule_no_longer_admits_are_skipped_a_batch_at_a_time(app: Any, session: Session) -> None:
    """A watcher removed while another transaction wrote the lead's entries leaves
    entries behind until the consumer syncs the lead: the read skips them."""
    officer, other = make_user(session), make_user(session)
    mine = make_lead(session, owner=officer)
    log_activity(session, mine, kind="call", body="Older, on my lead", actor=other)
    session.commit()
    elsewhere = make_lead(session, owner=other)
    for k in range(45):
        log_activity(session, elsewhere, kind="note", body=f"Not mine {k}", actor=other)
    session.commit()
    stale = session.exec(select(Event.id, Event.occurred_at).where(Event.lead_id == elsewhere.id)).all()
    session.execute(
        sa.insert(FeedEntry),
        [{"event_id": i, "user_id": officer.id, "lead_id": elsewhere.id, "occurred_at": at} for i, at in stale],
    )
    session.commit()
    result = check(session.connection())
    assert len(result.extra) == len(stale) and not result.missing
    with app.test_request_context(), count_queries(app) as statements:
        assert from_feed(session, officer, limit=5) == live_recent(session, officer, limit=5) != []
    assert len([s for s in statements if "feed_entry" in s]) == 5  # 46 entries, 10 a batch
    sync_leads(session, [elsewhere.id])
    session.commit()
    assert check(session.connection()).ok and _count(session, FeedEntry.lead_id == elsewhere.id) == 0


def test_entries_go_with_their_events_their_leads_and_the_window(session: Session) -> None:
    officer, other = make_user(session), make_user(session)
    lead = make_lead(session, owner=officer)
    with time_machine.travel(utcnow() - timedelta(days=20), tick=True):
        log_activity(session, lead, kind="call", body="Long ago", actor=other)
        session.commit()
    log_activity(session, lead, kind="call", body="Lately", actor=other)
    add_watcher(session, lead, other.id, actor=officer)
    session.commit()
    assert _count(session, FeedEntry.user_id == officer.id) == 2  # the two calls
    assert _count(session, FeedEntry.user_id == other.id) == 2  # the lead's creation, made a watcher
    removed = apply_retention(session, DEFAULTS)
    assert removed["feed_entries"] == 1 and _count(session) == 3
    assert "feed_entries" not in apply_retention(session, DEFAULTS)
    # An event deleted (the event retention) takes its entries with it.
    watched = session.exec(select(FeedEntry.event_id).where(FeedEntry.user_id == officer.id)).first()
    session.execute(sa.delete(Event).where(col(Event.id) == watched))
    session.commit()
    assert _count(session, FeedEntry.event_id == watched) == 0
    delete_lead(session, lead, actor=officer)
    session.commit()
    assert _count(session) == 0 and check(session.connection()).ok


def test_the_commands_rebuild_and_check(app: Any, session: Session) -> None:
    officer, other = make_user(session), make_user(session)
    lead = make_lead(session, owner=officer)
    log_activity(session, lead, kind="call", body="Called", actor=other)
    session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "feed", "check"])
    assert result.exit_code == 0 and result.output.strip() == "ok: feed_entry 1 rows"
    session.execute(sa.delete(FeedEntry))
    session.commit()
    result = runner.invoke(args=["crm", "feed", "check"])
    assert result.exit_code == 1 and "missing: event" in result.output and "1 differences" in result.output
    result = runner.invoke(args=["crm", "feed", "rebuild"])
    assert result.exit_code == 0 and result.output.strip() == "ok: feed_entry 1 rows"
    assert runner.invoke(args=["crm", "feed", "check"]).exit_code == 0


def test_the_migration_fills_the_feed_from_the_events_there(database_url: str, session: Session) -> None:
    from alembic import command

    from crm.core.migrate import alembic_config, upgrade

    officer, other = make_user(session), make_user(session)
    lead = make_lead(session, owner=other)
    add_watcher(session, lead, officer.id, actor=other)
    log_activity(session, lead, kind="call", body="Called", actor=other)
    log_activity(session, make_lead(session, owner=officer), kind="call", body="Called", actor=other)
    session.commit()
    kept = sorted(session.execute(sa.select(FeedEntry.event_id, FeedEntry.user_id)).all())
    assert len(kept) == 4
    session.close()
    command.downgrade(alembic_config(database_url), "3f9a2c7e1b64")
    upgrade(database_url)
    assert sorted(session.execute(sa.select(FeedEntry.event_id, FeedEntry.user_id)).all()) == kept
    assert check(session.connection()).ok
