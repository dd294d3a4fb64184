"""The inbound SMTP service as it runs: its own process (``flask crm inbound-smtp``), spoken
to with smtplib.  It refuses unknown recipients (550) and oversized mail (552), stores an
accepted message once however often it is delivered, and the filing lands it on the lead."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from crm.core.events import Event
from crm.inbound.addresses import lead_address, user_address
from crm.inbound.models import EmailMessage, InboundMail
from crm.leads.models import Activity, ActivityKind
from tests.factories import make_lead
from tests.inbound_corpus import arabic_windows_1256, plain
from tests.processes import ROOT, SERVER_VARIABLES, free_port, stop
from tests.test_spine import relay_and_consume

MAX_BYTES = 64 * 1024


@pytest.fixture
def service(app: Any, database_url: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The service in a process of its own, sharing the test's database and secret key."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    env.update(
        {
            "DATABASE_URL": database_url,
            "JISR_INSTANCE_PATH": str(tmp_path / "instance"),
            "INBOUND_SMTP_BIND": f"127.0.0.1:{port}",
            "INBOUND_MAX_BYTES": str(MAX_BYTES),
            "FLASK_APP": "wsgi",
        }
    )
    log = tmp_path / "inbound-smtp.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "crm", "inbound-smtp"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                pytest.fail(f"the inbound SMTP service did not start:\n{log.read_text()}")
            time.sleep(0.1)
    yield "127.0.0.1", port
    stop(process)
    assert process.returncode == 0, log.read_text()


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_mail_sent_to_the_service_lands_on_the_lead_once(session: Session, service: tuple[str, int]) -> None:
    lead = make_lead(session, title="Nimbus cloud skills")
    session.commit()
    to = lead_address(lead)
    raw = arabic_windows_1256("proposal-1@aws.example", "Jane Doe <jane@aws.example>", "officer@agency.example")
    with smtplib.SMTP(*service, timeout=10) as smtp:
        smtp.sendmail("jane@aws.example", [to], raw)
        smtp.sendmail("jane@aws.example", [to], raw)  # a retry by the sending server
    with smtplib.SMTP(*service, timeout=10) as smtp:
        smtp.sendmail("jane@aws.example", [to.upper()], raw)  # and the same address in capitals
    assert _count(session, InboundMail) == 1
    assert session.exec(select(func.count()).select_from(Event).where(Event.type == "email.received")).one() == 1

    relay_and_consume(session)
    relay_and_consume(session)
    session.expire_all()
    (email,) = session.exec(select(EmailMessage)).all()
    assert email.lead_id == lead.id
    assert email.subject == "مقترح الشراكة السحابية"
    assert "هيوستن" in email.text
    activity = session.get(Activity, email.activity_id)
    assert activity is not None and activity.kind == ActivityKind.EMAIL and activity.lead_id == lead.id
    assert session.exec(select(func.count()).select_from(Event).where(Event.type == "email.filed")).one() == 1


def test_the_service_refuses_unknown_recipients_and_oversized_mail(session: Session, service: tuple[str, int]) -> None:
    lead = make_lead(session)
    session.commit()
    good = lead_address(lead)
    forged = good.replace(good.split(".")[1][:3], "aaa", 1)
    with smtplib.SMTP(*service, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("jane@aws.example")
        code, _reply = smtp.rcpt(forged)
        assert code == 550
        code, _reply = smtp.rcpt(f"lead-{lead.id}.aaaaaaaaaa@elsewhere.example")
        assert code == 550
        code, _reply = smtp.rcpt("lead-999999.aaaaaaaaaa@inbound.localhost")
        assert code == 550
        smtp.rset()
    with smtplib.SMTP(*service, timeout=10) as smtp, pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp.sendmail("jane@aws.example", [forged], plain("x@aws.example", "jane@aws.example", forged))
    big = plain("big@aws.example", "jane@aws.example", good, text="x" * (MAX_BYTES + 10))
    with smtplib.SMTP(*service, timeout=10) as smtp, pytest.raises(smtplib.SMTPException) as refused:
        smtp.sendmail("jane@aws.example", [good], big)
    assert "552" in str(refused.value)
    assert _count(session, InboundMail) == 0


def test_one_delivery_to_a_lead_and_a_personal_address_is_one_email_on_the_lead(
    session: Session, service: tuple[str, int]
) -> None:
    lead = make_lead(session)
    session.commit()
    owner_id = lead.owner_id
    from crm.accounts.models import User

    owner = session.get(User, owner_id)
    assert owner is not None
    raw = plain("sent-1@agency.example", owner.email, "jane@aws.example")
    with smtplib.SMTP(*service, timeout=10) as smtp:
        smtp.sendmail(owner.email, [lead_address(lead), user_address(owner)], raw)
    assert _count(session, InboundMail) == 2
    relay_and_consume(session)
    session.expire_all()
    emails = session.exec(select(EmailMessage)).all()
    assert [e.lead_id for e in emails] == [lead.id]
    assert emails[0].direction.value == "outbound"
    states = session.exec(select(InboundMail.state).order_by(col(InboundMail.id))).all()
    assert [s.value for s in states] == ["filed", "filed"]
