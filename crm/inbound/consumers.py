"""The "inbound" consumer: files each stored message once (the consumer's record and the
filing commit together, so a worker killed half-way files it on the next delivery)."""

from __future__ import annotations

from sqlmodel import Session

from crm.core.consumers import consumer
from crm.core.events import Event
from crm.inbound.models import InboundMail
from crm.inbound.operations import file_received


@consumer("inbound", "email.received")
def on_email_received(session: Session, event: Event) -> None:
    mail = session.get(InboundMail, event.entity_id) if event.entity_id else None
    if mail is not None:
        file_received(session, mail)
