"""Signatures as a receiver checks them, and which answers are retried (no database)."""

from __future__ import annotations

import pytest

from crm.webhooks.ledger import Result, verdict
from crm.webhooks.models import DeliveryStatus
from crm.webhooks.signing import sign, signature_header, verify_signature


def test_a_receiver_verifies_the_signature_and_its_freshness() -> None:
    body = b'{"type":"lead.stage_changed"}'
    header = signature_header(["whsec_new", "whsec_old"], 1_800_000_000, body)
    assert (
        header
        == f"t=1800000000,v1={sign('whsec_new', 1_800_000_000, body)},v1={sign('whsec_old', 1_800_000_000, body)}"
    )
    assert verify_signature("whsec_new", header, body, now=1_800_000_100)
    assert verify_signature("whsec_old", header, body.decode(), now=1_800_000_100)
    assert not verify_signature("whsec_other", header, body, now=1_800_000_100)
    assert not verify_signature("whsec_new", header, body + b" ", now=1_800_000_100)
    assert not verify_signature("whsec_new", header, body, now=1_800_000_301)  # replayed later
    assert not verify_signature("whsec_new", header, body, tolerance=60, now=1_800_000_100)
    assert not verify_signature("whsec_new", header.replace("t=1800000000", "t=1800000050"), body, now=1_800_000_050)
    assert not verify_signature("whsec_new", "v1=abc", body)
    assert not verify_signature("whsec_new", None, body)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (Result(status_code=200), DeliveryStatus.DELIVERED),
        (Result(status_code=204), DeliveryStatus.DELIVERED),
        (Result(status_code=301), DeliveryStatus.FAILED),
        (Result(status_code=302), DeliveryStatus.FAILED),
        (Result(status_code=307), DeliveryStatus.FAILED),
        (Result(status_code=400), DeliveryStatus.FAILED),
        (Result(status_code=401), DeliveryStatus.FAILED),
        (Result(status_code=404), DeliveryStatus.FAILED),
        (Result(status_code=410), DeliveryStatus.FAILED),
        (Result(status_code=408), DeliveryStatus.RETRY),
        (Result(status_code=429), DeliveryStatus.RETRY),
        (Result(status_code=500), DeliveryStatus.RETRY),
        (Result(status_code=503), DeliveryStatus.RETRY),
        (Result(status_code=101), DeliveryStatus.FAILED),
        (Result(error="timeout: timed out"), DeliveryStatus.RETRY),
        (Result(error="connection: refused"), DeliveryStatus.RETRY),
        (Result(error="address refused: loopback", retryable=False), DeliveryStatus.FAILED),
    ],
)
def test_which_answers_are_delivered_retried_or_failed(result: Result, expected: DeliveryStatus) -> None:
    assert verdict(result) == expected
