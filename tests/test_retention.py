"""The nightly retention job removes what its settings no longer keep, and nothing else:
old mail loses its bodies but keeps its row, old import files and plans go while their
logs stay, old notifications and finished webhook deliveries go, and the event log is
kept unless an administrator sets its retention — then only events every consumer has
handled go.  Each run is recorded as an event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crm.core.consumers import ConsumedEvent, consumers_for
from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail, queue_mail
from crm.core.time import utcnow
from crm.exchange import operations as exchange
from crm.exchange.models import DataImport, ImportFile, ImportStatus
from crm.notifications.consumers import notify
from crm.notifications.models import Notification
from crm.system.retention import DEFAULTS, apply_retention
from crm.webhooks.ledger import write_deliveries
from crm.webhooks.models import DeliveryStatus, WebhookDelivery
from crm.webhooks.operations import create_webhook_endpoint
from tests.exchange_helpers import csv_bytes
from tests.factories import make_lead, make_user
from tests.test_spine import relay_and_consume
from workers.schedule import BEAT_SCHEDULE

NOW = utcnow()
LONG_AGO = NOW - timedelta(days=400)


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def _old_and_new_mail(session: Session) -> dict[str, int]:
    ids = {}
    for name, status in [
        ("old-sent", MailStatus.SENT),
        ("old-queued", MailStatus.QUEUED),
        ("new-sent", MailStatus.SENT),
    ]:
        queue_mail(session, dedupe_key=name, kind="reminder", to=f"{name}@example.org", language="fr",
                   subject=f"Objet {name}", text="Corps du message", html="<p>Corps</p>")  # fmt: skip
        session.flush()
        mail = session.exec(select(OutboundMail).where(OutboundMail.dedupe_key == name)).one()
        mail.status = status
        if name.startswith("old"):
            mail.created_at = LONG_AGO
            mail.sent_at = LONG_AGO if status == MailStatus.SENT else None
        else:
            mail.sent_at = NOW
        ids[name] = mail.id or 0
    session.commit()
    return ids


def _imports(session: Session, officer: Any) -> dict[str, int]:
    ids = {}
    for name, status in [
        ("old-done", ImportStatus.COMPLETED),
        ("old-open", ImportStatus.MAPPED),
        ("new-done", ImportStatus.COMPLETED),
    ]:
        data_import = exchange.upload_import(
            session, kind="contacts", filename=f"{name}.csv", content=csv_bytes([["Nom"], ["Salma"]]), actor=officer
        )
        session.flush()
        when = LONG_AGO if name.startswith("old") else NOW
        session.execute(
            sa.update(DataImport)
            .where(DataImport.id == data_import.id)
            .values(status=status, created_at=when, finished_at=when)
        )
        ids[name] = data_import.id or 0
    session.commit()
    return ids


def test_the_nightly_job_removes_only_what_the_settings_no_longer_keep(session: Session) -> None:
    admin = make_user(session, role="admin")
    officer = make_user(session)
    mail = _old_and_new_mail(session)
    imports = _imports(session, officer)
    notify(session, {officer.id or 0}, source="old", kind="lead.updated", lead_id=None, params={})
    notify(session, {officer.id or 0}, source="new", kind="lead.updated", lead_id=None, params={})
    session.execute(sa.update(Notification).where(Notification.source == "old").values(created_at=LONG_AGO))
    endpoint = create_webhook_endpoint(session, url="https://93.184.215.14/hook", event_types=["*"], actor=admin)
    make_lead(session, owner=officer)
    session.commit()
    events = session.exec(select(Event).order_by(col(Event.id))).all()
    for event in events[:2]:
        write_deliveries(session, event, [endpoint])
    session.flush()
    first, second = session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))).all()[:2]
    first.status, first.finished_at = DeliveryStatus.DELIVERED, LONG_AGO
    second.status, second.finished_at = DeliveryStatus.DELIVERED, NOW
    session.commit()
    relay_and_consume(session)
    events_before = _count(session, Event)

    removed = apply_retention(session, DEFAULTS)

    assert removed == {"mail_bodies": 1, "import_files": 1, "notifications": 1, "webhook_deliveries": 1}
    old = session.get(OutboundMail, mail["old-sent"])
    assert (old.text_body, old.html_body, old.attachments) == ("", "", [])
    assert old.subject == "Objet old-sent" and old.status == MailStatus.SENT  # the ledger row stays
    assert session.get(OutboundMail, mail["old-queued"]).text_body == "Corps du message"  # not sent yet
    assert session.get(OutboundMail, mail["new-sent"]).text_body == "Corps du message"
    assert session.get(ImportFile, imports["old-done"]) is None and session.get(DataImport, imports["old-done"])
    assert session.get(ImportFile, imports["old-open"]) is not None  # still being prepared
    assert session.get(ImportFile, imports["new-done"]) is not None
    assert [n.source for n in session.exec(select(Notification))] == ["new"]
    assert session.get(WebhookDelivery, first.id) is None and session.get(WebhookDelivery, second.id) is not None
    # The event log is the audit trail: kept by default, and this run is in it.
    assert _count(session, Event) == events_before + 1
    (run,) = session.exec(select(Event).where(Event.type == "retention.applied")).all()
    assert run.payload == {"removed": {"mail_bodies": 1, "import_files": 1, "notifications": 1}}
    # A second run finds nothing more.
    assert apply_retention(session, DEFAULTS) == {
        "mail_bodies": 0,
        "import_files": 0,
        "notifications": 0,
        "webhook_deliveries": 0,
    }


def test_zero_keeps_for_ever(session: Session) -> None:
    _old_and_new_mail(session)
    keep = {name: 0 for name in DEFAULTS}
    assert apply_retention(session, keep) == {}
    assert _count(session, OutboundMail, OutboundMail.text_body == "") == 0


def test_an_event_retention_removes_only_old_events_that_every_consumer_handled(session: Session) -> None:
    officer = make_user(session)
    leads = [make_lead(session, owner=officer, title=f"Lead {n}") for n in range(3)]
    session.commit()
    relay_and_consume(session)
    created = session.exec(select(Event).where(Event.type == "lead.created").order_by(col(Event.id))).all()
    assert len(created) == 3 and consumers_for("lead.created")
    session.execute(sa.update(Event).where(col(Event.id).in_([e.id for e in created[:2]])).values(occurred_at=LONG_AGO))
    # One consumer has not handled the second one yet (a worker was down): it stays.
    session.execute(
        sa.delete(ConsumedEvent).where(
            ConsumedEvent.event_id == created[1].id, ConsumedEvent.consumer == consumers_for("lead.created")[0]
        )
    )
    session.commit()

    removed = apply_retention(session, {**DEFAULTS, "EVENT_RETENTION_DAYS": 365})

    assert removed["events"] == 1
    assert session.get(Event, created[0].id) is None
    assert session.get(Event, created[1].id) is not None and session.get(Event, created[2].id) is not None
    assert _count(session, ConsumedEvent, ConsumedEvent.event_id == created[0].id) == 0
    assert all(session.get(type(lead), lead.id) for lead in leads)


def test_beat_applies_the_retention_every_night() -> None:
    job = BEAT_SCHEDULE["apply-retention"]
    assert job["task"] == "crm.core.apply_retention"
    assert job["schedule"].hour == {2} and job["schedule"].minute == {30}
