"""The inbound SMTP service (aiosmtpd), a process of its own: the office's mail server
relays the inbound domain to it.

It refuses an unknown recipient during the dialogue (550), so nothing is accepted that
cannot be filed and no bounce is ever sent from here; a message over the size limit is
refused (552).  An accepted message is only stored (the raw bytes and an
``email.received`` event, in one transaction per recipient) before the 250: filing
happens in a worker, so a slow or failing filing never loses mail."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from crm.config import parse_bind
from crm.core.db import db
from crm.inbound.addresses import resolve
from crm.inbound.operations import store_inbound

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 25 * 1024 * 1024


class InboundHandler:
    def __init__(self, app: Flask) -> None:
        self.app = app

    def _known(self, address: str) -> bool:
        with self.app.app_context():
            return resolve(db.session, address) is not None

    def _store(self, raw: bytes, mail_from: str, recipients: list[str]) -> int:
        stored = 0
        with self.app.app_context():
            for address in recipients:
                with db.transaction() as session:
                    if store_inbound(session, raw, address, via="smtp", envelope_from=mail_from) is not None:
                        stored += 1
        return stored

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            known = await loop.run_in_executor(None, self._known, address)
        except Exception:  # the database does not answer: the sender's server retries
            log.exception("could not check the recipient %s", address)
            return "451 4.3.0 Temporary failure, try again later"
        if not known:
            return "550 5.1.1 No such logging address here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", errors="replace")
        loop = asyncio.get_running_loop()
        try:
            stored = await loop.run_in_executor(
                None, self._store, data, str(envelope.mail_from or ""), list(envelope.rcpt_tos)
            )
        except Exception:
            log.exception("could not store an inbound message")
            return "451 4.3.0 Temporary failure, try again later"
        log.info("inbound message for %d recipient(s), %d stored", len(envelope.rcpt_tos), stored)
        return "250 Message accepted"


def make_controller(app: Flask, bind: str | None = None) -> Controller:
    host, port = parse_bind(bind or str(app.config.get("INBOUND_SMTP_BIND") or "127.0.0.1:2525"), "INBOUND_SMTP_BIND")
    limit = int(app.config.get("INBOUND_MAX_BYTES") or DEFAULT_MAX_BYTES)
    return Controller(
        InboundHandler(app),
        hostname=host,
        port=port,
        data_size_limit=limit,
        ident="Jisr inbound",
        server_hostname=str(app.config.get("INBOUND_DOMAIN") or "inbound.localhost"),
    )


def serve(app: Flask, bind: str | None = None, *, say: Any = print) -> None:
    """Run until SIGTERM or SIGINT."""
    controller = make_controller(app, bind)
    controller.start()
    say(f"Inbound SMTP listening on {controller.hostname}:{controller.port} for *@{app.config['INBOUND_DOMAIN']}")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()
