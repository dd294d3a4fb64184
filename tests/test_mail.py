"""Mail goes to a real SMTP server when MAIL_URL is set, else to the local outbox."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlmodel import select

from crm.config import parse_mail_url
from crm.core.mail import deliver, list_outbox
from crm.core.wire import WireMessage, compose
from tests.factories import make_user
from tests.web_helpers import login


class Collect(Message):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Collect, int]]:
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def arabic_message() -> WireMessage:
    return compose(
        sender="Jisr <jisr@localhost>",
        recipient="dgssi@jisr.example",
        recipient_name="",
        subject="تذكير: ورشة الأمن السيبراني",
        message_id="<1@jisr.test>",
        date=datetime.now(UTC),
        language="ar",
        text="موعد المتابعة غدًا.",
    )


def test_smtp_delivery_to_a_real_server(app: Any, smtp_sink: tuple[Collect, int]) -> None:
    handler, port = smtp_sink
    app.config["MAIL"] = parse_mail_url(f"smtp://127.0.0.1:{port}")
    with app.app_context():
        deliver(arabic_message())
    assert len(handler.messages) == 1
    received = handler.messages[0]
    assert received["To"] == "dgssi@jisr.example"
    assert "jisr@localhost" in received["From"]
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(received["Subject"]))) == "تذكير: ورشة الأمن السيبراني"


def test_local_outbox_keeps_mail_and_admins_can_read_it(app: Any, session: Any, client: Any) -> None:
    deliver(arabic_message())
    stored = list_outbox()
    assert len(stored) == 1 and stored[0].subject == "تذكير: ورشة الأمن السيبراني"
    make_user(session, role="admin", email="admin@jisr.example")
    session.commit()
    login(client, "admin@jisr.example")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "تذكير: ورشة الأمن السيبراني" in page
    detail = client.get(f"/admin/outbox/{stored[0].name}").get_data(as_text=True)
    assert "موعد المتابعة غدًا." in detail
    assert client.get("/admin/outbox/..%2Fsecret_key").status_code == 404


def test_header_injection_is_impossible() -> None:
    msg = EmailMessage()
    with pytest.raises(ValueError):
        msg["Subject"] = "Lead\r\nBcc: victim@example.org"


def test_queue_mail_says_whether_it_wrote_the_row(session: Any) -> None:
    """A second mail with the same key is not written, and the caller is told so (the
    counts of reminders, digests and check-ins queued rely on it), on both databases."""
    from crm.core.ledger import OutboundMail, queue_mail

    def queue() -> bool:
        return queue_mail(session, dedupe_key="once:1", kind="reminder", to="a@example.org", language="fr",
                          subject="Objet", text="Texte")  # fmt: skip

    assert queue() is True
    session.commit()
    assert queue() is False
    session.commit()
    assert len(session.exec(select(OutboundMail)).all()) == 1
