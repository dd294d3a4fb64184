"""Every email reaches exactly its ledger recipient, whatever the names and titles in it.

Display names and the texts that go into subjects are drawn from hostile alphabets (line
breaks, controls, ``<>,;:"@``, bidi controls, zero-width characters, encoded-word
look-alikes, second addresses, very long names).  Each kind of mail is made by the code
that really makes it, sent by the ledger through a real SMTP server in this process, and
checked on the wire: the envelope, and the raw bytes of the headers — not only what a
parser gives back.
"""

from __future__ import annotations

import itertools
import re
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from crm.accounts.models import Role
from crm.accounts.operations import PasswordLinkReason, request_password_link
from crm.config import parse_mail_url
from crm.core.events import Event, record_event
from crm.core.ledger import MailStatus, OutboundMail, queue_mail, send_one
from crm.core.time import utcnow
from crm.core.wire import compose, one_line, strip_name
from crm.digests.dispatch import send_digest
from crm.digests.operations import create_subscription
from crm.digests.periods import latest_due_period
from crm.exchange.models import DataImport, ImportKind, ImportStatus
from crm.followups.dispatch import dispatch_due_reminders
from crm.followups.ladder import Rung
from crm.followups.reminders import add_rungs
from tests.factories import make_followup, make_lead, make_user
from tests.spine_helpers import due_soon

HOSTILE = [
    "\r",
    "\n",
    "\r\n",
    "\r\n ",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\t",
    "\x0b",
    "\x0c",
    "<",
    ">",
    ",",
    ";",
    ":",
    '"',
    "@",
    "(",
    ")",
    "\\",
    "[",
    "]",
    "'",
    "=?",
    "?=",
    "=?utf-8?q?x?=",
    "=?utf-8?b?c3B5QGV2aWwuZXhhbXBsZQ==?=",
    *[chr(c) for c in range(0x202A, 0x202F)],
    *[chr(c) for c in range(0x2066, 0x206A)],
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\ufeff",
    "\u2028",
    "\u2029",
    " ",
    "   ",
    "spy@evil.example",
    "<spy@evil.example>",
    "a@b.example, c@d.example",
    "\r\nBcc: spy@evil.example",
    "\nTo: spy@evil.example",
    "سارة العمراني",
    "تأكيد لائحة",
    "وكالة التنمية الرقمية",
    "Élodie Dupont-Léger",
    "O'Brien",
    "😀",
    "Sara Amrani",
]
pieces = st.sampled_from(HOSTILE) | st.text(max_size=6)
hostile_text = st.one_of(
    st.lists(pieces, max_size=30).map("".join),
    st.text(min_size=150, max_size=260),  # very long names
    st.lists(st.sampled_from(["سارة", "العمراني", "(Sara Amrani)", "Élodie", ","]), min_size=20, max_size=60).map(
        " ".join
    ),
)
SENDER = "Jisr <jisr@localhost>"
UNSUBSCRIBE = re.compile(rb"^<https?://[^>]+>$")
_n = itertools.count(1)


def stored(text: str, limit: int = 200) -> str:
    """What a database column can hold (PostgreSQL refuses NUL)."""
    return text.replace("\x00", "")[:limit]


class Sink:
    """An SMTP server's view: the envelope and the bytes of each message."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def sink(app: Any) -> Iterator[Sink]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config["MAIL"] = parse_mail_url(f"smtp://127.0.0.1:{port}")
    yield handler
    controller.stop()


def _persist(session: Session, *rows: Any) -> None:
    """Write hostile values as old data or another path might have left them."""
    for row in rows:
        session.add(row)
        record_event(session, "user.updated", row, payload={})
    session.commit()


# --- how each kind of mail is made ---------------------------------------------------


def reminder(session: Session, name: str, text: str, rung: str = "due") -> list[int]:
    n = next(_n)
    owner = make_user(session, email=f"owner{n}@jisr.example", language=["ar", "fr", "en"][n % 3])
    lead = make_lead(session, owner=owner)
    followup = make_followup(session, lead, due_soon("Africa/Casablanca", 60))
    recipient = owner
    if rung == "escalation":
        recipient = make_user(session, email=f"chief{n}@jisr.example", language=["ar", "fr", "en"][n % 3])
    recipient.name = stored(name)
    lead.title = stored(text, 300)
    followup.title = stored(text, 300)
    _persist(session, recipient, lead, followup)
    add_rungs(session, followup, int(recipient.id or 0), [Rung(rung, utcnow() - timedelta(minutes=1))])
    session.commit()
    dispatch_due_reminders(session)
    return _ids(session, OutboundMail.dedupe_key.startswith(f"reminder:{followup.id}:"))  # type: ignore[attr-defined]


def escalation(session: Session, name: str, text: str) -> list[int]:
    return reminder(session, name, text, rung="escalation")


def digest(session: Session, name: str, text: str) -> list[int]:
    n = next(_n)
    subscription = create_subscription(
        session, name="Focal point", email=f"focal{n}@partner.example", language=["ar", "fr", "en"][n % 3]
    )
    subscription.name = stored(name)
    _persist(session, subscription)
    period = latest_due_period(utcnow(), subscription.cadence, subscription.timezone, 0, 8)
    send_digest(session, subscription, period, force=True)
    session.commit()
    return _ids(session, OutboundMail.dedupe_key.startswith(f"digest:{subscription.id}:"))  # type: ignore[attr-defined]


def _password_link(session: Session, name: str, reason: PasswordLinkReason) -> list[int]:
    from crm.accounts.consumers import on_password_link_requested

    n = next(_n)
    user = make_user(session, email=f"invited{n}@jisr.example", language=["ar", "fr", "en"][n % 3])
    user.name = stored(name)
    _persist(session, user)
    request_password_link(session, user, reason, actor=None)
    session.flush()
    event = session.exec(select(Event).where(Event.type == "user.password_link_requested").order_by(Event.id)).all()[-1]
    on_password_link_requested(session, event)
    session.commit()
    return _ids(session, OutboundMail.dedupe_key == f"password-link:{event.id}")


def password_link(session: Session, name: str, text: str) -> list[int]:
    return _password_link(session, name, PasswordLinkReason.FORGOTTEN)


def invitation(session: Session, name: str, text: str) -> list[int]:
    return _password_link(session, name, PasswordLinkReason.INVITATION)


def import_report(session: Session, name: str, text: str) -> list[int]:
    from crm.exchange.consumers import on_import_finished

    n = next(_n)
    author = make_user(session, email=f"importer{n}@jisr.example", language=["ar", "fr", "en"][n % 3])
    author.name = stored(name)
    data_import = DataImport(
        kind=ImportKind.LEADS,
        author_id=int(author.id or 0),
        filename=stored(text, 255),
        file_format="csv",
        status=ImportStatus.COMPLETED,
        task_id=f"task{n}",
    )
    _persist(session, author, data_import)
    event = record_event(
        session, "import.completed", data_import, actor=author, payload={"create": 3, "update": 1, "error": 2}
    )
    session.flush()
    on_import_finished(session, event)
    session.commit()
    return _ids(session, OutboundMail.dedupe_key == f"import-report:{event.id}")


def webhook_disabled(session: Session, name: str, text: str) -> list[int]:
    from crm.webhooks.consumers import on_endpoint_disabled

    n = next(_n)
    admin = make_user(session, role=Role.ADMIN, email=f"admin{n}@jisr.example", language=["ar", "fr", "en"][n % 3])
    admin.name = stored(name)
    _persist(session, admin)
    event = Event(
        type="webhook.endpoint_disabled",
        entity_type="webhook_endpoint",
        entity_id=n,
        payload={"reason": "failing", "url": f"https://hooks.example/{n}", "consecutive_failures": 5},
    )
    session.add(event)
    session.flush()
    on_endpoint_disabled(session, event)
    session.commit()
    return _ids(session, OutboundMail.dedupe_key.startswith(f"webhook-disabled:{event.id}:"))  # type: ignore[attr-defined]


def checkin(session: Session, name: str, text: str) -> list[int]:
    """An outcome check-in to a meeting's contact named ``name``, about a lead titled ``text``."""
    from datetime import date, datetime

    from crm.checkins.dispatch import dispatch_due_checkins
    from crm.missions.operations import log_meeting
    from crm.organisations.operations import create_contact

    n = next(_n)
    lead = make_lead(session)
    contact = create_contact(
        session,
        organisation_id=lead.us_organisation_id,
        name="Contact",
        email=f"contact{n}@partner.example",
        language=["ar", "fr", "en"][n % 3],
        timezone="UTC",
    )
    meeting = log_meeting(
        session,
        title="Meeting",
        starts_local=datetime(2026, 1, 5, 10, 0),
        timezone="UTC",
        contact_ids=[contact.id or 0],
    )
    lead.meeting_id = meeting.id
    contact.name = stored(name) or "x"
    meeting.title = stored(text, 300) or "x"
    lead.title = stored(text, 300) or "x"
    _persist(session, contact, meeting, lead)
    dispatch_due_checkins(
        session, now=datetime.combine(date(2026, 4, 5), datetime.min.time(), UTC) + timedelta(hours=12)
    )
    key = f"checkin:{meeting.id}:90:{contact.id}"
    return _ids(session, OutboundMail.dedupe_key == key)


def _ids(session: Session, where: Any) -> list[int]:
    return [int(i) for i in session.exec(select(OutboundMail.id).where(where).order_by(col(OutboundMail.id))).all()]


KINDS: dict[str, Callable[[Session, str, str], list[int]]] = {
    "reminder": reminder,
    "escalation": escalation,
    "digest": digest,
    "password_link": password_link,
    "invitation": invitation,
    "import_report": import_report,
    "webhook_disabled": webhook_disabled,
    "checkin": checkin,
}


LEDGER_KIND = {"escalation": "reminder", "invitation": "password_link"}


# --- what goes over the wire ---------------------------------------------------------


def header_lines(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n")), "a header line over 998 octets"
    unfolded = re.sub(rb"\r\n(?=[ \t])", b"", head)
    return unfolded.split(b"\r\n")


def assert_on_the_wire(mail: OutboundMail, rcpt_tos: list[str], raw: bytes) -> None:
    # The envelope: exactly the ledger's recipient.
    assert rcpt_tos == [mail.recipient_email]
    lines = header_lines(raw)
    names = [line.split(b":", 1)[0].lower() for line in lines]
    assert names.count(b"to") == 1 and names.count(b"from") == 1 and names.count(b"subject") == 1
    assert b"cc" not in names and b"bcc" not in names
    assert all(re.fullmatch(rb"[A-Za-z][A-Za-z0-9-]*", n) for n in names), names
    parsed = message_from_bytes(raw, policy=email_policy.default)
    to = parsed["To"]
    assert not to.defects, to.defects
    assert len(to.addresses) == 1
    assert to.addresses[0].addr_spec == mail.recipient_email
    expected_name = strip_name(mail.recipient_name)
    shown = to.addresses[0].display_name
    assert shown == expected_name or (shown and expected_name.startswith(shown)), (shown, expected_name)
    assert not parsed["Subject"].defects
    assert str(parsed["Subject"]) == mail.subject
    assert str(parsed["Message-ID"]) == mail.message_id
    if mail.kind in ("digest", "checkin"):
        (line,) = [line for line in lines if line.lower().startswith(b"list-unsubscribe:")]
        assert UNSUBSCRIBE.match(line.split(b":", 1)[1].strip()), line
        assert str(parsed["List-Unsubscribe"]) == mail.headers["List-Unsubscribe"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_mail_reaches_exactly_its_ledger_recipient(
    app: Any, session: Session, sink: Sink, kind: str
) -> None:
    make = KINDS[kind]

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
        phases=[Phase.explicit, Phase.generate],  # each example writes rows: report it, do not shrink
    )
    @given(name=hostile_text, text=hostile_text)
    def check(name: str, text: str) -> None:
        ids = make(session, name, text)
        assert ids, f"no {kind} mail was made"
        for mail_id in ids:
            before = len(sink.received)
            outcome = send_one(session, mail_id, sender=SENDER, lease=timedelta(seconds=30), base=0.0, max_attempts=3)
            assert outcome is not None and outcome.status == MailStatus.SENT
            assert len(sink.received) == before + 1
            mail = session.get(OutboundMail, mail_id, populate_existing=True)
            assert mail is not None and mail.kind == LEDGER_KIND.get(kind, kind)
            _sender, rcpt_tos, raw = sink.received[-1]
            assert_on_the_wire(mail, rcpt_tos, raw)

    check()


@settings(max_examples=400, deadline=None, database=None)
@given(
    name=hostile_text,
    subject=hostile_text,
    url_path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~%", min_size=1, max_size=300),
)
def test_composed_headers_round_trip_on_the_raw_bytes(name: str, subject: str, url_path: str) -> None:
    unsubscribe = f"<https://jisr.example.org/digests/unsubscribe/{url_path}>"
    subject = one_line(subject)
    message = compose(
        sender='"Jisr \\"Ops\\", Casablanca" <jisr@jisr.example>',
        recipient="focal.point@partner.example",
        recipient_name=name,
        subject=subject,
        message_id="<42.1@jisr.example>",
        date=utcnow(),
        language="ar",
        text="نص",
        headers={"List-Unsubscribe": unsubscribe, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    assert message.envelope_to == "focal.point@partner.example"
    lines = header_lines(message.data)
    (line,) = [line for line in lines if line.startswith(b"List-Unsubscribe:")]
    assert UNSUBSCRIBE.match(line.split(b":", 1)[1].strip())
    assert line == b"List-Unsubscribe: " + unsubscribe.encode()
    parsed = message_from_bytes(message.data, policy=email_policy.default)
    assert str(parsed["Subject"]) == subject and not parsed["Subject"].defects
    (address,) = parsed["To"].addresses
    assert address.addr_spec == "focal.point@partner.example" and not parsed["To"].defects
    expected = strip_name(name)
    assert address.display_name == expected or (address.display_name and expected.startswith(address.display_name))
    (sender,) = parsed["From"].addresses
    assert sender.display_name == 'Jisr "Ops", Casablanca' and sender.addr_spec == "jisr@jisr.example"


@pytest.mark.parametrize(
    "text",
    ["تأكيد لائحة الشركاء المحتملين في مجال الأمن السيبراني والحوسبة السحابية قبل نهاية الأسبوع", "Réunion — suivi"],
)
def test_a_long_arabic_subject_keeps_every_space(text: str) -> None:
    message = compose(
        sender="Jisr <jisr@localhost>",
        recipient="a@b.example",
        recipient_name="",
        subject=text,
        message_id="<1@x>",
        date=utcnow(),
        language="ar",
        text="x",
    )
    assert str(message_from_bytes(message.data, policy=email_policy.default)["Subject"]) == text


def test_a_latin_name_beside_an_arabic_one_stays_in_the_display_name() -> None:
    message = compose(
        sender="Jisr <jisr@localhost>",
        recipient="sara@mtnra.example",
        recipient_name="سارة العمراني (Sara Amrani)",
        subject="x",
        message_id="<1@x>",
        date=utcnow(),
        language="ar",
        text="x",
    )
    (address,) = message_from_bytes(message.data, policy=email_policy.default)["To"].addresses
    assert address.display_name == "سارة العمراني (Sara Amrani)"


@pytest.mark.parametrize(
    "address",
    [
        "a@b.example, spy@evil.example",
        "Spy <spy@evil.example>",
        "a@b.example\r\nBcc: spy@evil.example",
        "a@b.example>",
        "",
        "no-at-sign",
        '"quoted"@b.example',
    ],
)
def test_a_ledger_row_without_one_plain_address_is_failed_and_never_sent(
    app: Any, session: Session, sink: Sink, address: str
) -> None:
    queue_mail(
        session,
        dedupe_key=f"test:{address!r}",
        kind="reminder",
        to=address,
        language="fr",
        subject="Sujet",
        text="Corps",
    )
    session.commit()
    mail = session.exec(select(OutboundMail)).one()
    assert mail.status == MailStatus.FAILED and mail.last_error
    assert (
        send_one(session, int(mail.id or 0), sender=SENDER, lease=timedelta(seconds=30), base=0, max_attempts=3) is None
    )
    assert sink.received == []


def test_a_user_is_never_the_recipient_of_another_address_in_their_name(app: Any, session: Session, sink: Sink) -> None:
    """The review's case: a name that carries a second address sends nothing there."""
    ids = password_link(session, "Officer <spy@evil.example>, x@evil.example", "")
    send_one(session, ids[0], sender=SENDER, lease=timedelta(seconds=30), base=0, max_attempts=3)
    (_, rcpt_tos, _raw) = sink.received[-1]
    assert rcpt_tos == [session.get(OutboundMail, ids[0]).recipient_email]  # type: ignore[union-attr]
    assert all("evil" not in r for r in rcpt_tos)


def test_user_typed_names_with_line_breaks_are_refused_and_controls_removed(session: Session) -> None:
    from crm.core.errors import ValidationError
    from crm.core.validation import clean_name

    for value in ["Sara\r\nBcc: spy@evil.example", "a\nb", "a\u2028b", "a\x85b"]:
        with pytest.raises(ValidationError):
            clean_name(value, "name", max_length=200)
    assert clean_name("\u202eSara\u200b  Amrani\x07", "name", max_length=200) == "Sara Amrani"
    assert clean_name("سارة\u200cالعمراني", "name", max_length=200) == "سارة\u200cالعمراني"
