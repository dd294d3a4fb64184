"""Inbound mail in the application: the logging addresses, the ledger (stored once, filed
once), filing by address, participants and thread, the trays, and the pages that show an
email (sanitised, remote images held back, the .eml and attachments to those who see the
lead, nobody else)."""

from __future__ import annotations

import html
from typing import Any

from sqlmodel import Session, col, func, select

from crm.accounts.models import Role, User
from crm.core.consumers import consume
from crm.core.events import Event
from crm.inbound.addresses import lead_address, parse_address, user_address
from crm.inbound.models import EmailMessage, InboundMail, InboundState
from crm.inbound.operations import store_inbound
from crm.leads.models import Lead
from crm.leads.operations import add_watcher
from crm.organisations.operations import create_contact
from tests.api_helpers import bearer, make_token
from tests.factories import make_lead, make_organisation, make_user
from tests.inbound_corpus import plain
from tests.test_spine import relay_and_consume
from tests.web_helpers import login


def _deliver(session: Session, raw: bytes, *addresses: str) -> None:
    for address in addresses:
        store_inbound(session, raw, address)
    session.commit()
    relay_and_consume(session)
    session.expire_all()


def _emails(session: Session, lead: Lead) -> list[EmailMessage]:
    return list(
        session.exec(select(EmailMessage).where(EmailMessage.lead_id == lead.id).order_by(col(EmailMessage.id))).all()
    )


def test_addresses_name_their_owner_and_cannot_be_guessed(app: Any) -> None:
    with app.app_context():
        address = lead_address(311)
        local, domain = address.split("@")
        assert domain == "inbound.localhost" and local.startswith("lead-311.")
        recipient = parse_address(address.upper())
        assert recipient is not None and (recipient.kind, recipient.owner_id) == ("lead", 311)
        token = local.split(".")[1]
        assert len(token) == 10 and token != lead_address(312).split("@")[0].split(".")[1]
        assert parse_address(address.replace("lead-311", "lead-312")) is None
        assert parse_address(address.replace("lead-", "user-")) is None
        assert parse_address(address.replace("inbound.localhost", "inbound.example")) is None
        assert parse_address(user_address(7)) is not None


def test_settings_lead_page_and_api_show_the_addresses(session: Session, client: Any) -> None:
    officer = make_user(session, email="amal@agency.example")
    lead = make_lead(session, owner=officer)
    session.commit()
    login(client, officer.email)
    settings = client.get("/settings").get_data(as_text=True)
    assert user_address(officer) in settings and 'data-copy="my-logging-address"' in settings
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert lead_address(lead) in page and "user-select-all" in page
    token = make_token(session, officer, "read")
    session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["email_address"] == user_address(officer)
    assert client.get(f"/api/v1/leads/{lead.id}", headers=bearer(token)).get_json()["email_address"] == lead_address(
        lead
    )
    listed = client.get("/api/v1/leads", headers=bearer(token)).get_json()["items"]
    assert [i["email_address"] for i in listed] == [lead_address(lead)]


def test_a_message_is_stored_once_per_address_and_filed_once(session: Session) -> None:
    lead = make_lead(session)
    session.commit()
    raw = plain("once@aws.example", "jane@aws.example", "officer@agency.example")
    assert store_inbound(session, raw, lead_address(lead)) is not None
    assert store_inbound(session, raw, lead_address(lead)) is None
    session.commit()
    received = session.exec(select(Event).where(Event.type == "email.received")).one()
    relay_and_consume(session)
    assert consume(session, int(received.id or 0), "inbound") is False  # a redelivery changes nothing
    session.expire_all()
    assert len(_emails(session, lead)) == 1
    assert session.exec(select(func.count()).select_from(Event).where(Event.type == "email.filed")).one() == 1


def test_a_crash_while_filing_loses_nothing(session: Session, monkeypatch: Any) -> None:
    """The filing and the consumer's record commit together: a worker that dies half-way
    leaves the event unconsumed, and the next delivery files the message."""
    from crm.inbound import operations

    lead = make_lead(session)
    session.commit()
    store_inbound(session, plain("crash@aws.example", "jane@aws.example", "x@agency.example"), lead_address(lead))
    session.commit()
    received = session.exec(select(Event).where(Event.type == "email.received")).one()
    real = operations.record_email

    def dies(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise SystemExit("worker killed")

    monkeypatch.setattr(operations, "record_email", dies)
    try:
        consume(session, int(received.id or 0), "inbound")
    except SystemExit:
        session.rollback()
    assert _emails(session, lead) == []
    monkeypatch.setattr(operations, "record_email", real)
    assert consume(session, int(received.id or 0), "inbound") is True
    session.expire_all()
    assert len(_emails(session, lead)) == 1


def test_personal_address_files_by_contact_or_waits_in_the_tray(session: Session, client: Any) -> None:
    officer = make_user(session, email="amal@agency.example")
    aws = make_organisation(session, "US", name_en="AWS")
    oracle = make_organisation(session, "US", name_en="Oracle")
    create_contact(session, organisation_id=aws.id, name="Jane Doe", email="Jane@AWS.example")
    create_contact(session, organisation_id=oracle.id, name="Omar Said", email="omar@oracle.example")
    aws_lead = make_lead(session, owner=officer, us_organisation_id=aws.id, title="AWS skills")
    make_lead(session, owner=officer, us_organisation_id=oracle.id, title="Oracle cloud")
    make_lead(session, owner=officer, us_organisation_id=oracle.id, title="Oracle training")
    session.commit()
    mine = user_address(officer)

    _deliver(session, plain("a1@agency.example", officer.email, "Jane Doe <jane@aws.example>"), mine)
    assert [e.subject for e in _emails(session, aws_lead)] == ["Cloud partnership"]

    _deliver(session, plain("o1@agency.example", officer.email, "omar@oracle.example"), mine)
    waiting = session.exec(select(InboundMail).where(InboundMail.state == InboundState.TO_FILE)).one()
    assert waiting.user_id == officer.id and len(waiting.suggestions) == 2

    stranger = plain("spam@evil.example", "someone@evil.example", mine)
    _deliver(session, stranger, mine)
    assert session.exec(select(InboundMail.state).where(InboundMail.message_id == "spam@evil.example")).one() == (
        InboundState.REVIEW
    )

    login(client, officer.email)
    tray = client.get("/mail/to-file").get_data(as_text=True)
    assert "Oracle training" in tray and "Oracle cloud" in tray and "spam@evil" not in tray
    chosen = waiting.suggestions[1]
    answer = client.post(f"/mail/{waiting.id}/file", data={"lead_id": str(chosen)})
    assert answer.status_code == 303
    session.expire_all()
    assert session.exec(select(EmailMessage.lead_id).where(EmailMessage.message_id == "o1@agency.example")).one() == (
        chosen
    )
    assert client.post(f"/mail/{waiting.id}/file", data={"lead_id": str(chosen)}).status_code == 303
    assert len(session.exec(select(EmailMessage).where(EmailMessage.message_id == "o1@agency.example")).all()) == 1


def test_review_tray_belongs_to_administrators(session: Session, client: Any) -> None:
    officer = make_user(session)
    admin = make_user(session, Role.ADMIN)
    lead = make_lead(session, owner=officer)
    session.commit()
    _deliver(session, plain("spam2@evil.example", "x@evil.example", "y@z.example"), user_address(officer))
    held = session.exec(select(InboundMail)).one()
    assert held.state == InboundState.REVIEW
    login(client, officer.email)
    assert client.post(f"/mail/{held.id}/file", data={"lead_id": str(lead.id)}).status_code == 403
    client.post("/logout")
    login(client, admin.email)
    assert "spam2@evil" not in client.get("/mail/to-file").get_data(as_text=True)  # shown by subject and sender
    assert client.post(f"/mail/{held.id}/set-aside").status_code == 303
    session.expire_all()
    assert session.get(InboundMail, held.id).state == InboundState.DROPPED  # type: ignore[union-attr]


def test_replies_join_their_thread(session: Session) -> None:
    officer = make_user(session)
    lead = make_lead(session, owner=officer)
    other = make_lead(session, owner=officer)
    session.commit()
    _deliver(session, plain("t1@aws.example", "jane@aws.example", officer.email), lead_address(lead))
    reply = plain(
        "t2@agency.example",
        officer.email,
        "jane@aws.example",
        subject="Re: Cloud partnership",
        extra="In-Reply-To: <t1@aws.example>\r\nReferences: <t1@aws.example>\r\n",
    )
    _deliver(session, reply, user_address(officer))
    again = plain(
        "t3@aws.example",
        "jane@aws.example",
        officer.email,
        subject="Re: Re: Cloud partnership",
        extra="In-Reply-To: <t2@agency.example>\r\nReferences: <t1@aws.example> <t2@agency.example>\r\n",
    )
    _deliver(session, again, lead_address(lead))
    emails = _emails(session, lead)
    assert [e.message_id for e in emails] == ["t1@aws.example", "t2@agency.example", "t3@aws.example"]
    assert {e.thread_id for e in emails} == {"t1@aws.example"}
    assert _emails(session, other) == []


def test_confidential_leads_mail_follows_the_lead(session: Session, client: Any) -> None:
    owner = make_user(session)
    watcher = make_user(session)
    outsider = make_user(session)
    lead = make_lead(session, owner=owner, confidential=True)
    add_watcher(session, lead, watcher.id, actor=owner)
    session.commit()
    _deliver(session, plain("secret@aws.example", "jane@aws.example", owner.email), lead_address(lead))
    email = _emails(session, lead)[0]
    page = f"/leads/{lead.id}/emails/{email.id}"
    for user, status in ((outsider, 404), (watcher, 200), (owner, 200)):
        client.post("/logout")
        login(client, user.email)
        assert client.get(page).status_code == status
        assert client.get(f"{page}/original.eml").status_code == status
    eml = client.get(f"{page}/original.eml")
    assert eml.headers["Content-Disposition"].startswith("attachment") and b"secret@aws.example" in eml.data
    assert session.get(User, outsider.id) is not None


def test_writing_from_the_lead_and_the_answer_make_one_thread(session: Session, client: Any) -> None:
    from crm.core.ledger import OutboundMail, build_message
    from crm.inbound.parsing import read_message

    officer = make_user(session, email="amal@agency.example", name="Amal")
    aws = make_organisation(session, "US", name_en="AWS")
    jane = create_contact(session, organisation_id=aws.id, name="Jane Doe", email="jane@aws.example", language="en")
    lead = make_lead(session, owner=officer, us_organisation_id=aws.id)
    session.commit()
    login(client, officer.email)
    form = client.get(f"/leads/{lead.id}/emails/new").get_data(as_text=True)
    key = form.split('name="send_key" value="')[1].split('"')[0]
    data = {"contact_id": str(jane.id), "subject": "Next steps", "body": "Shall we meet on Tuesday?", "send_key": key}
    assert client.post(f"/leads/{lead.id}/emails", data={**data, "subject": ""}).status_code == 400
    assert session.exec(select(func.count()).select_from(OutboundMail)).one() == 0
    assert client.post(f"/leads/{lead.id}/emails", data=data).status_code == 303
    assert client.post(f"/leads/{lead.id}/emails", data=data).status_code == 303  # sent twice: written once
    session.expire_all()
    (row,) = session.exec(select(OutboundMail)).all()
    wire = read_message(build_message(row, "Jisr <jisr@jisr.example>").data)
    assert wire["Reply-To"] == lead_address(lead) and wire["To"] == "Jane Doe <jane@aws.example>"
    assert wire["Auto-Submitted"] == "no"
    (sent,) = _emails(session, lead)
    assert sent.direction.value == "outbound" and sent.outbound_key == row.dedupe_key
    assert session.exec(select(Event.type).where(Event.entity_id == sent.id, Event.type == "email.sent")).one()
    eml = client.get(f"/leads/{lead.id}/emails/{sent.id}/original.eml")
    assert eml.status_code == 200 and b"Shall we meet on Tuesday?" in eml.data

    answer = plain(
        "answer@aws.example",
        "Jane Doe <jane@aws.example>",
        lead_address(lead),
        subject="Re: Next steps",
        extra=f"In-Reply-To: {wire['Message-ID']}\r\nReferences: {wire['Message-ID']}\r\n",
    )
    _deliver(session, answer, lead_address(lead))
    reply_page = client.get(f"/leads/{lead.id}/emails/new?reply_to={_emails(session, lead)[1].id}")
    assert 'value="Re: Next steps"' in reply_page.get_data(as_text=True)
    key = reply_page.get_data(as_text=True).split('name="send_key" value="')[1].split('"')[0]
    answered = _emails(session, lead)[1]
    client.post(
        f"/leads/{lead.id}/emails",
        data={**data, "subject": "Re: Next steps", "send_key": key, "reply_to": str(answered.id)},
    )
    session.expire_all()
    thread = _emails(session, lead)
    assert [e.direction.value for e in thread] == ["outbound", "inbound", "outbound"]
    assert len({e.thread_id for e in thread}) == 1
    page = client.get(f"/leads/{lead.id}/emails/{thread[0].id}").get_data(as_text=True)
    assert page.count("Next steps") >= 3  # the thread lists all three


def test_a_viewer_cannot_write_and_a_stranger_cannot_be_written_to(session: Session, client: Any) -> None:
    viewer = make_user(session, Role.VIEWER)
    officer = make_user(session)
    other = make_organisation(session, "US")
    stranger = create_contact(session, organisation_id=other.id, name="Not on the lead", email="n@x.example")
    lead = make_lead(session, owner=officer)
    session.commit()
    data = {"contact_id": str(stranger.id), "subject": "Hi", "body": "Hello", "send_key": "abc123"}
    login(client, viewer.email)
    assert client.post(f"/leads/{lead.id}/emails", data=data).status_code == 403
    client.post("/logout")
    login(client, officer.email)
    refused = client.post(f"/leads/{lead.id}/emails", data=data)
    assert refused.status_code == 400
    assert session.exec(select(func.count()).select_from(EmailMessage)).one() == 0


def test_email_activities_in_the_api_and_the_timeline(session: Session, client: Any) -> None:
    officer = make_user(session, language="en")
    lead = make_lead(session, owner=officer)
    session.commit()
    _deliver(session, plain("api@aws.example", "Jane Doe <jane@aws.example>", officer.email), lead_address(lead))
    token = make_token(session, officer, "read")
    session.commit()
    listed = client.get(f"/api/v1/activities?lead_id={lead.id}&kind=email", headers=bearer(token)).get_json()
    (item,) = listed["items"]
    assert item["kind"] == "email" and item["body"].startswith("Cloud partnership")
    assert item["email"]["subject"] == "Cloud partnership" and item["email"]["direction"] == "inbound"
    assert item["email"]["sender"] == {"name": "Jane Doe", "email": "jane@aws.example"}
    assert item["email"]["to"] == [{"name": "", "email": officer.email}]
    one = client.get(f"/api/v1/activities/{item['id']}", headers=bearer(token)).get_json()
    assert one["email"]["message_id"] == "api@aws.example"
    login(client, officer.email)
    timeline = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "An email was received." in timeline and "Hello, here is the proposal." in timeline


def test_filing_from_the_tray_can_make_the_stranger_a_contact(session: Session, client: Any) -> None:
    from crm.organisations.models import Contact

    officer = make_user(session)
    lead = make_lead(session, owner=officer)
    session.commit()
    mine = user_address(officer)
    _deliver(session, plain("new-1@agency.example", officer.email, "Sam Lee <sam@newco.example>"), mine)
    waiting = session.exec(select(InboundMail).where(InboundMail.state == InboundState.TO_FILE)).one()
    assert waiting.suggestions == []
    login(client, officer.email)
    answer = client.post(f"/mail/{waiting.id}/file", data={"lead_id": str(lead.id), "add_contact": "1"})
    assert answer.status_code == 303
    session.expire_all()
    (contact,) = session.exec(select(Contact).where(Contact.email == "sam@newco.example")).all()
    assert (contact.name, contact.organisation_id) == ("Sam Lee", lead.us_organisation_id)
    _deliver(session, plain("new-2@agency.example", officer.email, "sam@newco.example"), mine)
    assert [e.message_id for e in _emails(session, lead)] == ["new-1@agency.example", "new-2@agency.example"]


def test_a_template_is_written_in_the_contacts_language_whatever_the_officers(session: Session, client: Any) -> None:
    officer = make_user(session, email="amal@agency.example", name="Amal Benali", language="en")
    aws = make_organisation(session, "US", name_en="AWS", name_fr="AWS", name_ar="أمازون")
    add = make_organisation(
        session, "MA", name_fr="Agence de Développement du Digital", name_ar="وكالة التنمية الرقمية"
    )
    jane = create_contact(session, organisation_id=aws.id, name="Jane Doe", email="jane@aws.example", language="fr")
    salma = create_contact(session, organisation_id=add.id, name="سلمى", email="salma@add.gov.ma", language="ar")
    stranger = create_contact(session, organisation_id=make_organisation(session, "US").id, name="X", email="x@x.us")
    lead = make_lead(session, owner=officer, us_organisation_id=aws.id, ma_organisation_id=add.id, title="Cloud")
    session.commit()
    login(client, officer.email)
    url = f"/leads/{lead.id}/emails/new"

    french = client.get(f"{url}?template=thanks&contact_id={jane.id}")
    assert french.status_code == 200
    page = html.unescape(french.get_data(as_text=True))
    assert 'value="Merci pour notre réunion : Cloud"' in page
    # Jane is on the US side: the template names the Moroccan one, in French.
    assert "Bonjour Jane Doe," in page and "avec Agence de Développement du Digital" in page and "Amal Benali" in page
    assert "Start from a template" in page  # the page itself stays in the officer's language

    arabic = html.unescape(client.get(f"{url}?template=thanks&contact_id={salma.id}").get_data(as_text=True))
    assert "شكرًا على اجتماعنا: Cloud" in arabic and "السيد(ة) سلمى المحترم(ة)" in arabic and "مع AWS" not in arabic
    assert "مع أمازون" in arabic

    for query in (f"template=nothing&contact_id={jane.id}", f"template=thanks&contact_id={stranger.id}"):
        refused = client.get(f"{url}?{query}")
        assert refused.status_code == 400 and 'class="invalid-feedback"' in refused.get_data(as_text=True)
    assert session.exec(select(func.count()).select_from(EmailMessage)).one() == 0  # a template sends nothing
