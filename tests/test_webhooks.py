"""Webhook deliveries end to end in this process: the consumer writes one row per
endpoint, the sender posts it signed to a real receiver on 127.0.0.1, retries with
backoff (checked with explicit instants, no sleeping), never follows a redirect, refuses
internal addresses at delivery, and disables an endpoint that keeps failing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from crm.accounts.models import Role
from crm.core.events import Event
from crm.core.time import utcnow
from crm.leads.models import Stage
from crm.leads.operations import move_lead_to_stage, update_lead
from crm.notifications.models import Notification
from crm.webhooks.addresses import AddressPolicy
from crm.webhooks.consumers import on_event
from crm.webhooks.delivery import send_delivery
from crm.webhooks.ledger import purge_finished, requeue_expired_leases
from crm.webhooks.models import DeliveryStatus, DisabledReason, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crm.webhooks.operations import (
    disable_webhook_endpoint,
    enable_webhook_endpoint,
    redeliver_webhook_deliveries,
    rotate_webhook_secret,
    send_webhook_ping,
)
from crm.webhooks.signing import verify_signature
from tests.factories import make_lead, make_user
from tests.web_helpers import login
from tests.webhook_helpers import (
    Receiver,
    Reply,
    deliveries,
    endpoint_for,
    relay_and_consume,
    self_signed,
    settings,
)


def stage_change(session: Session, stage: Stage = Stage.CONTACTED, **lead: Any) -> Any:
    """A lead moved to ``stage`` by its owner (one owner per test), relayed and consumed."""
    owner = session.info.get("test_owner")
    if owner is None:
        owner = session.info["test_owner"] = make_user(session)
    made = make_lead(session, owner=owner, **lead)
    session.commit()
    move_lead_to_stage(session, made, stage, actor=owner)
    session.commit()
    relay_and_consume(session)
    return made


def attempts(session: Session, delivery_id: int) -> list[WebhookAttempt]:
    return list(session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)).all())


def test_each_event_gives_one_delivery_per_endpoint_that_wants_it(session: Session) -> None:
    url = "https://93.184.215.14/hook"
    everything = endpoint_for(session, url, policy=AddressPolicy())
    stages = endpoint_for(session, url, policy=AddressPolicy(), event_types=["lead.stage_changed"])
    followups = endpoint_for(session, url, policy=AddressPolicy(), event_types=["followup.done"])
    switched_off = endpoint_for(session, url, policy=AddressPolicy())
    disable_webhook_endpoint(session, switched_off, actor=None)
    session.commit()
    lead = stage_change(session)
    rows = deliveries(session, "lead.stage_changed")
    assert sorted(d.endpoint_id for d in rows) == sorted([everything.id, stages.id])
    assert {d.endpoint_id for d in deliveries(session)} <= {everything.id, stages.id}
    assert followups.id not in {d.endpoint_id for d in deliveries(session)}
    body = json.loads(rows[0].body)
    event = session.exec(select(Event).where(Event.type == "lead.stage_changed")).one()
    assert body == {
        "id": event.id,
        "type": "lead.stage_changed",
        "occurred_at": body["occurred_at"],
        "actor_id": lead.owner_id,
        "entity_type": "lead",
        "entity_id": lead.id,
        "lead_id": lead.id,
        "payload": event.payload,
    }
    assert body["occurred_at"].endswith("Z") and body["payload"]["to"] == "contacted"
    # Consumed again (a redelivered task): still one row per endpoint.
    on_event(session, event)
    session.commit()
    assert len(deliveries(session, "lead.stage_changed")) == 2


def test_confidential_leads_and_earlier_events_are_not_sent(session: Session) -> None:
    """Events of a confidential lead go only to endpoints that opted in; an endpoint never
    receives what happened before it was registered."""
    owner = session.info["test_owner"] = make_user(session)
    earlier = make_lead(session, owner=owner)
    session.commit()
    url = "https://93.184.215.14/hook"
    default = endpoint_for(session, url, policy=AddressPolicy())
    opted_in = endpoint_for(session, url, policy=AddressPolicy(), include_confidential=True)
    lead = stage_change(session, confidential=True)
    update_lead(session, earlier, title="Renamed after registration", actor=owner)
    session.commit()
    relay_and_consume(session)
    about_the_lead = [d for d in deliveries(session) if json.loads(d.body)["lead_id"] == lead.id]
    assert {d.event_type for d in about_the_lead} == {"lead.created", "lead.stage_changed"}
    assert {d.endpoint_id for d in about_the_lead} == {opted_in.id}
    about_earlier = [d for d in deliveries(session) if json.loads(d.body)["lead_id"] == earlier.id]
    assert sorted((d.event_type, d.endpoint_id) for d in about_earlier) == sorted(
        [("lead.updated", default.id), ("lead.updated", opted_in.id)]
    )
    # Organisations are not confidential: both endpoints hear about the new ones.
    assert {d.endpoint_id for d in deliveries(session, "organisation.created")} == {default.id, opted_in.id}


def test_500_twice_then_200_takes_three_attempts_with_backoff_and_the_log_shows_them(
    session: Session, client: Any
) -> None:
    script = {1: Reply(500, b"database down"), 2: Reply(503, b"busy")}
    with Receiver(lambda n: script.get(n, Reply(200, b"thanks"))) as receiver:
        endpoint = endpoint_for(session, receiver.url(), event_types=["lead.stage_changed"])
        stage_change(session)
        (delivery,) = deliveries(session)
        base = 30.0
        t0 = utcnow()
        first = send_delivery(session, delivery.id, settings(retry_base=base), now=t0)
        assert first is not None and first.status == DeliveryStatus.RETRY and first.retry_in is not None
        assert timedelta(seconds=base * 0.5) <= first.retry_in <= timedelta(seconds=base)
        t1 = t0 + first.retry_in
        assert send_delivery(session, delivery.id, settings(), now=t1 - timedelta(seconds=1)) is None  # not yet due
        second = send_delivery(session, delivery.id, settings(retry_base=base), now=t1)
        assert second is not None and second.status == DeliveryStatus.RETRY and second.retry_in is not None
        assert timedelta(seconds=base) <= second.retry_in <= timedelta(seconds=2 * base)
        t2 = t1 + second.retry_in
        assert send_delivery(session, delivery.id, settings(), now=t2 - timedelta(seconds=1)) is None
        third = send_delivery(session, delivery.id, settings(retry_base=base), now=t2)
        assert third is not None and third.status == DeliveryStatus.DELIVERED
        assert len(receiver.requests) == 3
        assert {r.headers["Jisr-Delivery"] for r in receiver.requests} == {delivery.public_id}
        assert {r.headers["Jisr-Event"] for r in receiver.requests} == {"lead.stage_changed"}
        assert {r.headers["Content-Type"] for r in receiver.requests} == {"application/json; charset=utf-8"}
        assert {r.body for r in receiver.requests} == {delivery.body.encode()}
        assert receiver.requests[0].headers["Jisr-Signature"].startswith(f"t={int(t0.timestamp())},v1=")
        assert not verify_signature(
            "whsec_wrong", receiver.requests[0].headers["Jisr-Signature"], receiver.requests[0].body
        )
        assert send_delivery(session, delivery.id, settings(), now=t2 + timedelta(days=1)) is None  # never again
        assert [r.headers["Jisr-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
        for request, at in zip(receiver.requests, (t0, t1, t2), strict=True):
            assert verify_signature(
                endpoint.secret, request.headers["Jisr-Signature"], request.body, now=at.timestamp()
            )
        log = attempts(session, delivery.id)
        assert [(a.number, a.status_code, a.outcome) for a in log] == [
            (1, 500, DeliveryStatus.RETRY),
            (2, 503, DeliveryStatus.RETRY),
            (3, 200, DeliveryStatus.DELIVERED),
        ]
        assert log[0].response_excerpt == "database down" and all(a.duration_ms is not None for a in log)
        make_user(session, Role.ADMIN, email="admin@jisr.example", language="en")
        session.commit()
        login(client, "admin@jisr.example")
        page = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
        assert page.count('data-testid="webhook-attempt"') == 3
        assert "database down" in page and "Delivered" in page


def test_answers_other_than_2xx_redirects_included(session: Session) -> None:
    """A redirect is not followed and fails the delivery; other 4xx fail at once; 429
    waits at least its Retry-After; a receiver slower than the timeout is retried."""
    routes = {
        "/moved": Reply(302, headers={"Location": "/elsewhere"}),
        "/missing": Reply(404),
        "/busy": Reply(429, headers={"Retry-After": "900"}),
        "/slow": Reply(200, delay=1.5),
    }
    with Receiver(routes=routes) as receiver:
        for path in routes:
            endpoint_for(session, receiver.url(path), event_types=["lead.stage_changed"])
        stage_change(session)
        moved, missing, busy, slow = deliveries(session)
        fast = settings(timeout=0.5, retry_base=1.0)
        outcomes = [send_delivery(session, d.id, fast) for d in (moved, missing, busy, slow)]
        assert [o.status for o in outcomes if o] == [
            DeliveryStatus.FAILED,
            DeliveryStatus.FAILED,
            DeliveryStatus.RETRY,
            DeliveryStatus.RETRY,
        ]
        assert sorted(r.path for r in receiver.requests) == sorted(routes)  # nothing at /elsewhere
        session.expire_all()
        assert (moved.attempts, moved.last_status_code, missing.last_status_code) == (1, 302, 404)
        assert outcomes[2] is not None and outcomes[2].retry_in is not None
        assert outcomes[2].retry_in >= timedelta(seconds=900)
        (timed_out,) = attempts(session, slow.id)
        assert timed_out.status_code is None and (timed_out.error or "").startswith("timeout")


def test_a_name_that_resolves_to_loopback_at_delivery_is_refused_there(session: Session) -> None:
    """Registered while public; at delivery the same name points at a receiver on this
    machine: nothing is sent, the delivery fails at once."""
    with Receiver() as receiver:
        answers = {"hooks.partner.example": ["93.184.215.14"]}
        policy = AddressPolicy(resolve=lambda host, port: answers[host])
        endpoint_for(session, f"https://hooks.partner.example:{receiver.port}/hook", policy=policy)
        stage_change(session)
        answers["hooks.partner.example"] = ["93.184.215.14", "127.0.0.1"]
        (delivery,) = deliveries(session, "lead.stage_changed")
        outcome = send_delivery(session, delivery.id, settings(policy=policy))
        assert outcome is not None and outcome.status == DeliveryStatus.FAILED
        assert receiver.requests == []
        (attempt,) = attempts(session, delivery.id)
        assert "address refused" in (attempt.error or "") and "loopback" in (attempt.error or "")


def test_disguised_loopback_urls_are_refused_at_delivery_too(session: Session) -> None:
    """A URL stored before the check (or changed behind its back) is checked again: the
    receiver listens at each of these addresses and hears nothing."""
    with Receiver() as receiver:
        hosts = ["0177.0.0.1", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"]
        for host in hosts:
            endpoint = endpoint_for(session, receiver.url(), event_types=["lead.stage_changed"])
            session.execute(
                sa.update(WebhookEndpoint)
                .where(col(WebhookEndpoint.id) == endpoint.id)
                .values(url=f"https://{host}:{receiver.port}/hook")
            )
        session.commit()
        stage_change(session)
        rows = deliveries(session)
        outcomes = [send_delivery(session, d.id, settings(policy=AddressPolicy())) for d in rows]
        assert [o.status for o in outcomes if o] == [DeliveryStatus.FAILED] * len(hosts)
        assert receiver.requests == []
        assert all("loopback" in (a.error or "") for d in rows for a in attempts(session, d.id))


def test_tls_is_verified_against_the_host_name_over_the_checked_address(session: Session, tmp_path: Path) -> None:
    """The name is resolved once (by the check) and the socket goes to that address;
    the certificate must still match the name in the URL."""
    server_tls, client_tls = self_signed(tmp_path, "receiver.test")
    with Receiver(tls=server_tls) as receiver:
        names = {"receiver.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]}
        policy = AddressPolicy(allow_loopback=True, resolve=lambda host, port: names[host])
        endpoint_for(session, receiver.url(host="receiver.test"), policy=policy, event_types=["lead.stage_changed"])
        endpoint_for(session, receiver.url(host="impostor.test"), policy=policy, event_types=["lead.stage_changed"])
        stage_change(session)
        good, bad = deliveries(session)
        ok = send_delivery(session, good.id, settings(policy=policy, tls=client_tls))
        assert ok is not None and ok.status == DeliveryStatus.DELIVERED
        assert receiver.requests[0].headers["Host"] == f"receiver.test:{receiver.port}"
        refused = send_delivery(session, bad.id, settings(policy=policy, tls=client_tls))
        assert refused is not None and refused.status == DeliveryStatus.RETRY
        (attempt,) = attempts(session, bad.id)
        assert (attempt.error or "").startswith("tls") and len(receiver.requests) == 1


def test_repeated_failures_disable_the_endpoint_and_tell_the_admins(session: Session) -> None:
    """Three failed deliveries in a row disable it; a success in between resets the count."""
    admin = make_user(session, Role.ADMIN)
    replies = iter([Reply(500), Reply(200), Reply(500), Reply(500), Reply(500)])
    with Receiver(lambda n: next(replies)) as receiver:
        endpoint = endpoint_for(session, receiver.url(), event_types=["lead.stage_changed"])
        for _ in range(6):
            stage_change(session)
        rows = deliveries(session)
        quick = settings(max_attempts=1, disable_after_failures=3)
        outcomes = [send_delivery(session, d.id, quick) for d in rows[:5]]
        assert [o.status for o in outcomes if o] == [DeliveryStatus.FAILED, DeliveryStatus.DELIVERED] + [
            DeliveryStatus.FAILED
        ] * 3
        session.expire_all()
        endpoint = session.get(WebhookEndpoint, endpoint.id)
        assert not endpoint.is_active and endpoint.disabled_reason == DisabledReason.FAILING
        # The sixth delivery, still waiting, is given up rather than sent to a dead endpoint.
        assert deliveries(session)[5].status == DeliveryStatus.FAILED and len(receiver.requests) == 5
        disabled = session.exec(select(Event).where(Event.type == "webhook.endpoint_disabled")).one()
        assert disabled.actor_id is None and disabled.payload["reason"] == "failing"
        assert disabled.payload["consecutive_failures"] == 3
        relay_and_consume(session)
        (note,) = session.exec(select(Notification).where(Notification.kind == "webhook.endpoint_disabled")).all()
        assert note.user_id == admin.id and note.params["endpoint_id"] == endpoint.id
        # Enabled again, the count starts from zero and new events flow.
        enable_webhook_endpoint(session, endpoint, actor=admin)
        session.commit()
        stage_change(session)
        assert deliveries(session)[-1].status == DeliveryStatus.PENDING


def test_failing_for_more_than_a_day_disables_the_endpoint(session: Session) -> None:
    with Receiver(lambda n: Reply(502)) as receiver:
        endpoint = endpoint_for(session, receiver.url(), event_types=["lead.stage_changed"])
        stage_change(session)
        (delivery,) = deliveries(session)
        patient = settings(max_attempts=50, disable_after_failures=100, retry_base=3600.0)
        t0 = utcnow()
        assert send_delivery(session, delivery.id, patient, now=t0).status == DeliveryStatus.RETRY
        session.expire_all()
        assert session.get(WebhookEndpoint, endpoint.id).is_active
        later = t0 + timedelta(days=1, seconds=1)
        assert send_delivery(session, delivery.id, patient, now=later) is not None
        session.expire_all()
        endpoint = session.get(WebhookEndpoint, endpoint.id)
        assert not endpoint.is_active and endpoint.disabled_reason == DisabledReason.FAILING
        assert len(receiver.requests) == 2


def test_a_sender_that_died_leaves_a_log_line_and_the_delivery_is_retried(session: Session) -> None:
    from crm.webhooks.ledger import claim

    with Receiver() as receiver:
        endpoint_for(session, receiver.url(), event_types=["lead.stage_changed"])
        stage_change(session)
        (delivery,) = deliveries(session)
        t0 = utcnow()
        assert claim(session, delivery.id, now=t0, lease=timedelta(seconds=60)) is not None  # then the process dies
        assert requeue_expired_leases(session, max_attempts=10, now=t0 + timedelta(seconds=30)) == 0
        assert requeue_expired_leases(session, max_attempts=10, now=t0 + timedelta(seconds=61)) == 1
        outcome = send_delivery(session, delivery.id, settings(), now=t0 + timedelta(seconds=62))
        assert outcome is not None and outcome.status == DeliveryStatus.DELIVERED
        log = attempts(session, delivery.id)
        assert [(a.number, a.outcome) for a in log] == [(1, DeliveryStatus.RETRY), (2, DeliveryStatus.DELIVERED)]
        assert "lease expired" in (log[0].error or "")
        assert receiver.requests[0].headers["Jisr-Delivery"] == delivery.public_id


def test_failed_deliveries_can_be_sent_again_with_the_same_delivery_id(session: Session) -> None:
    admin = make_user(session, Role.ADMIN)
    replies = iter([Reply(500), Reply(204, b"")])
    with Receiver(lambda n: next(replies)) as receiver:
        endpoint = endpoint_for(session, receiver.url(), event_types=["lead.stage_changed"])
        stage_change(session)
        (delivery,) = deliveries(session)
        assert send_delivery(session, delivery.id, settings(max_attempts=1)).status == DeliveryStatus.FAILED
        assert redeliver_webhook_deliveries(session, endpoint, actor=admin) == 1
        session.commit()
        again = send_delivery(session, delivery.id, settings(max_attempts=1))
        assert again is not None and again.status == DeliveryStatus.DELIVERED
        assert [r.headers["Jisr-Delivery"] for r in receiver.requests] == [delivery.public_id] * 2
        assert [a.number for a in attempts(session, delivery.id)] == [1, 2]


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(session: Session) -> None:
    with Receiver() as receiver:
        endpoint = endpoint_for(session, receiver.url(), event_types=["lead.stage_changed"])
        old = endpoint.secret
        new = rotate_webhook_secret(session, endpoint, actor=None)
        session.commit()
        assert new != old and new.startswith("whsec_")
        stage_change(session)
        stage_change(session)
        first, second = deliveries(session)
        now = utcnow()
        send_delivery(session, first.id, settings(), now=now)
        send_delivery(session, second.id, settings(), now=now + timedelta(hours=25))
        during, after = receiver.requests
        assert verify_signature(new, during.headers["Jisr-Signature"], during.body, now=now.timestamp())
        assert verify_signature(old, during.headers["Jisr-Signature"], during.body, now=now.timestamp())
        later = (now + timedelta(hours=25)).timestamp()
        assert verify_signature(new, after.headers["Jisr-Signature"], after.body, now=later)
        assert not verify_signature(old, after.headers["Jisr-Signature"], after.body, now=later)
        events = session.exec(select(Event).where(Event.type.startswith("webhook."))).all()  # type: ignore[attr-defined]
        assert all(old not in json.dumps(e.payload) and new not in json.dumps(e.payload) for e in events)


def test_a_ping_reaches_a_disabled_endpoint_but_other_events_do_not(session: Session) -> None:
    with Receiver() as receiver:
        endpoint = endpoint_for(session, receiver.url(), event_types=["lead.stage_changed"])
        stage_change(session)
        (waiting,) = deliveries(session)
        disable_webhook_endpoint(session, endpoint, actor=None)
        session.commit()
        assert (deliveries(session)[0].status, deliveries(session)[0].last_error) == (
            DeliveryStatus.FAILED,
            "endpoint disabled",
        )
        # A consumer that ran while the endpoint was being disabled wrote a pending row.
        session.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == waiting.id)
            .values(status=DeliveryStatus.PENDING)
        )
        session.commit()
        dropped = send_delivery(session, waiting.id, settings())
        assert dropped is not None and dropped.status == DeliveryStatus.FAILED
        assert receiver.requests == [] and attempts(session, waiting.id) == []
        send_webhook_ping(session, endpoint, actor=None)
        session.commit()
        relay_and_consume(session)
        (ping,) = deliveries(session, "webhook.ping")
        assert send_delivery(session, ping.id, settings()).status == DeliveryStatus.DELIVERED
        (received,) = receiver.requests
        assert received.headers["Jisr-Event"] == "webhook.ping"
        assert received.json["payload"] == {"endpoint_id": endpoint.id}
        # The log keeps finished deliveries for a while, then forgets them with their attempts.
        assert purge_finished(session, older_than=timedelta(days=30)) == 0
        assert purge_finished(session, older_than=timedelta(0)) == 2
        assert deliveries(session) == [] and session.exec(select(WebhookAttempt)).all() == []
