"""Helpers for event-spine tests: a real SMTP sink and follow-ups falling due."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from crm.core.time import utcnow, wall_time
from tests.processes import free_port


class Sink:
    """An aiosmtpd server that keeps what it receives and answers as ``script`` says."""

    def __init__(self, script: Callable[[int], str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.attempts = 0
        self.lock = threading.Lock()
        self.script = script or (lambda attempt: "250 OK")
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        with self.lock:
            self.attempts += 1
            answer = self.script(self.attempts)
            if answer.startswith("250"):
                message = message_from_bytes(envelope.content, policy=default_policy)  # type: ignore[arg-type]
                assert isinstance(message, EmailMessage)
                self.messages.append(message)
        return answer

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def due_soon(zone: str, minutes: int = 10) -> datetime:
    """A wall time ``minutes`` from now in ``zone`` (naive, as forms give it)."""
    return wall_time(utcnow() + timedelta(minutes=minutes), zone).replace(second=0, microsecond=0)


def awake(zone: str, minutes_ahead: int = 0) -> bool:
    from crm.core.time import to_local

    return 7 <= to_local(utcnow() + timedelta(minutes=minutes_ahead), zone).hour < 21


def before_send_hour(zone: str, minutes_ahead: int, send_hour: int = 9) -> bool:
    """Whether the default send hour comes within the next ``minutes_ahead`` minutes: a
    follow-up due just after it is then reminded at the send hour, not at once."""
    from crm.core.time import to_local

    now, later = to_local(utcnow(), zone), to_local(utcnow() + timedelta(minutes=minutes_ahead), zone)
    return now.hour < send_hour <= later.hour


def waking_zone() -> str:
    """A zone where it is daytime now and in 15 minutes (reminders are never sent at night),
    and not just before the send hour (a follow-up due in ten minutes is reminded at once)."""
    for zone in ("Africa/Casablanca", "America/Chicago", "Asia/Tokyo", "Pacific/Auckland", "Asia/Kolkata"):
        if awake(zone) and awake(zone, 15) and not before_send_hour(zone, 15):
            return zone
    raise AssertionError("no candidate zone is awake")


def wait_for(condition: Callable[[], bool], timeout: float, what: str, tick: Callable[[], None] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if tick is not None:
            tick()
        time.sleep(0.5)
