"""A contact's rights over their personal data (law 09-08, GDPR): an administrator exports
everything Jisr holds about them, erases it, or deletes the contact; afterwards no table
holds their name, address or phone number, and only administrators may do any of it."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, func, select

from crm.accounts.models import Role, User
from crm.accounts.operations import update_user_preferences
from crm.checkins.links import AnswerLink
from crm.checkins.models import Checkin
from crm.checkins.operations import answer_checkin, stop_checkins
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.events import Event
from crm.core.ledger import MailStatus, OutboundMail, queue_mail
from crm.digests.models import Subscription
from crm.digests.operations import create_subscription
from crm.exchange import operations as exchange
from crm.exchange.models import ImportFile
from crm.inbound.addresses import lead_address, user_address
from crm.inbound.operations import file_received, store_inbound
from crm.leads.models import Activity
from crm.leads.operations import log_activity, save_filter
from crm.missions.models import MeetingContact
from crm.missions.operations import log_meeting
from crm.organisations.models import Contact
from crm.organisations.operations import create_contact, update_contact
from crm.privacy.operations import delete_contact, erase_contact, export_contact_data
from crm.privacy.scrubbing import rows_mentioning
from crm.privacy.traces import Traces
from crm.search.queries import search
from crm.webhooks.ledger import write_deliveries
from crm.webhooks.models import WebhookDelivery
from crm.webhooks.operations import create_webhook_endpoint
from tests.api_helpers import bearer, make_token
from tests.exchange_helpers import csv_bytes
from tests.factories import make_lead, make_organisation, make_user
from tests.inbound_corpus import plain
from tests.web_helpers import login


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    phone: str  # as people write it
    e164: str
    surname: str
    written: str  # the name as a note writes it

    @property
    def previous_email(self) -> str:
        return "perso." + self.email.split("@")[0] + "@gmail.com"

    @property
    def traces(self) -> tuple[str, ...]:
        """What must not survive an erasure, in any case, with or without separators."""
        return (
            *(self.name, self.email, self.previous_email, self.e164, self.phone, self.e164[-9:]),
            *(self.surname, self.written, quote_plus(self.name), quote(self.name), quote_plus(self.email)),
        )


SALMA = Person(
    "Salma Benjelloun",
    "salma.benjelloun@add.gov.ma",
    "06 12 34 56 78",
    "+212612345678",
    "Benjelloun",
    "salma benjelloun",
)
PEOPLE = {
    "latin": SALMA,
    "accented": Person(
        "Élise Dupré-Lefèvre",
        "elise.dupre@add.gov.ma",
        "05 37 12 34 56",
        "+212537123456",
        "Dupré-Lefèvre",
        "ÉLISE  DUPRÉ-LEFÈVRE",
    ),
    "arabic": Person(
        "سارة العمراني", "s.amrani@add.gov.ma", "+1 (713) 652-0300", "+17136520300", "العمراني", "سارة العمراني"
    ),
}
NAME, EMAIL, PHONE = SALMA.name, SALMA.email, SALMA.e164
TRACES = SALMA.traces
OTHER = ("Karim Idrissi", "karim.idrissi@add.gov.ma")


def _world(session: Session, person: Person = SALMA) -> dict[str, Any]:
    """Salma, with data in every place Jisr keeps people: created through the operations,
    updated by a CSV import, at a meeting, named in activities and meeting notes, mailed,
    subscribed to a digest, in webhook deliveries and in the search index.  Karim, her
    colleague, is in the same places and must come out untouched."""
    admin = make_user(session, Role.ADMIN, email="admin@jisr.example", name="Admin", language="en")
    officer = make_user(session, Role.OFFICER, email="officer@jisr.example", name="Officer", language="en")
    make_user(session, Role.VIEWER, email="viewer@jisr.example", name="Viewer", language="en")
    add = make_organisation(session, "MA", name_en="Digital Development Agency", acronym="ADD")
    salma = create_contact(
        session, organisation_id=add.id, name=person.name, email=person.previous_email, title="SG", actor=officer
    )
    queue_mail(
        session,
        dedupe_key="welcome:old-address",
        kind="digest",
        to=person.previous_email,
        language="fr",
        subject="Bienvenue",
        text="Bienvenue.",
    )
    update_contact(session, salma, email=person.email, actor=officer)  # she changed her address since
    karim = create_contact(session, organisation_id=add.id, name=OTHER[0], email=OTHER[1], actor=officer)
    session.flush()
    content = csv_bytes(
        [
            ["Nom", "Fonction", "Organisme", "Courriel", "Téléphone"],
            [person.name, "Secrétaire générale", "ADD", person.email.upper(), person.phone],
            [OTHER[0], "Chef de projet", "ADD", OTHER[1], ""],
        ]
    )
    data_import = exchange.upload_import(
        session, kind="contacts", filename="contacts-add.csv", content=content, actor=officer
    )
    exchange.map_import_columns(session, data_import, mapping=data_import.mapping, actor=officer)
    exchange.confirm_import(session, data_import, actor=officer, background=False)
    exchange.start_import(session, data_import)
    exchange.apply_import(session, data_import)
    meeting = log_meeting(
        session,
        title="Cloud roadmap with ADD",
        starts_local=datetime(2024, 2, 12, 10),
        timezone="America/Chicago",
        notes=f"{person.name} and {OTHER[0]} will send the RFP.",
        organisation_ids=[add.id],
        contact_ids=[salma.id, karim.id],
        actor=officer,
    )
    lead = make_lead(session, owner=officer, ma_organisation_id=add.id, title="Sovereign cloud pilot")
    named = log_activity(
        session, lead, kind="call", body=f"Called {person.written} on {person.phone} with {OTHER[0]}.", actor=officer
    )
    mailed = log_activity(session, lead, kind="email", body=f"Sent the deck to {person.email}.", actor=officer)
    heard = store_inbound(
        session, plain("from-person@add.example", person.email, lead_address(lead), text=f"Regards, {person.name}"),
        lead_address(lead),
    )  # fmt: skip
    session.flush()
    emails = [file_received(session, heard)]
    waiting = store_inbound(
        session, plain("to-person@jisr.example", officer.email, person.email, text=f"Dear {person.written},"),
        user_address(officer),
    )  # fmt: skip
    session.flush()
    emails.append(file_received(session, waiting))
    asked = AnswerLink(contact_id=salma.id or 0, lead_id=lead.id or 0, meeting_id=meeting.id or 0, days=90)
    session.add(Checkin(meeting_id=asked.meeting_id, days=90, contact_id=asked.contact_id, lead_ids=[asked.lead_id],
                        mail_key="checkin:test"))  # fmt: skip
    answer_checkin(session, asked, lead, outcome="talking", comment=f"{person.written} asked for the pilot's terms.")
    stop_checkins(session, salma, via="email")
    create_subscription(session, name="", contact_id=salma.id, actor=officer)
    save_filter(session, officer, name=f"With {person.name}", query=urlencode({"q": person.name, "stage": "proposal"}))
    save_filter(session, officer, name="Her mail", query="q=" + quote(person.email))
    for n, status in enumerate(("sent", "queued")):
        queue_mail(
            session,
            dedupe_key=f"digest:test:{n}",
            kind="digest",
            to=person.email,
            to_name=person.name,
            language="fr",
            subject="Votre résumé hebdomadaire",
            text=f"Bonjour {person.name},\nVoici les nouvelles de la semaine.",
            html=f"<p>Bonjour {person.name},</p>",
        )
        if status == "sent":
            session.execute(sa.update(OutboundMail).values(status=MailStatus.SENT))
    endpoint = create_webhook_endpoint(session, url="https://93.184.215.14/hook", event_types=["*"], actor=admin)
    session.flush()
    for event in session.exec(select(Event).where(Event.entity_type.in_(["contact", "activity", "meeting"]))):
        write_deliveries(session, event, [endpoint])
    session.commit()
    assert [c.id for c, _ in search(session, admin, person.surname).contacts] == [salma.id]
    return {
        "admin": admin,
        "officer": officer,
        "salma": salma,
        "salma_id": salma.id,
        "karim_id": karim.id,
        "meeting": meeting,
        "lead": lead,
        "import": data_import,
        "activities": (named.id, mailed.id, *(e.activity_id for e in emails if e is not None)),
    }


def _text_columns() -> list[tuple[sa.Table, sa.Column[Any]]]:
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            kind = column.type.impl if isinstance(column.type, sa.types.TypeDecorator) else column.type
            if isinstance(kind, (sa.String, sa.Text, sa.JSON, sa.LargeBinary)):
                found.append((table, column))
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _where_found(session: Session, needles: tuple[str, ...]) -> list[str]:
    """Every ``table.column`` of every table whose value holds one of ``needles`` (any
    case; phone numbers also with their separators taken out)."""
    wanted = [n.lower() for n in needles]
    digits = [n for n in needles if n.isdigit()]
    found = []
    for table, column in _text_columns():
        for (value,) in session.execute(sa.select(column).where(column.is_not(None))):
            text = _as_text(value).lower()
            compact = re.sub(r"[\s.\-()/]", "", text)
            if any(n in text for n in wanted) or any(d in compact for d in digits):
                found.append(f"{table.name}.{column.name}")
    return sorted(set(found))


def _events(session: Session, event_type: str) -> list[Event]:
    return list(session.exec(select(Event).where(Event.type == event_type).order_by(Event.id)))


def test_everything_about_salma_is_somewhere_before_the_erasure(session: Session) -> None:
    """The world is what the other tests say it is: each trace is found in many places."""
    _world(session)
    places = _where_found(session, TRACES)
    for place in (
        "contact.name",
        "contact.email",
        "event.payload",
        "activity.body",
        "meeting.notes",
        "import_row.changes",
        "import_file.content",
        "outbound_mail.recipient_email",
        "outbound_mail.text_body",
        "webhook_delivery.body",
        "subscription.email",
        "contact.search_text",
        "inbound_mail.raw",
        "email_message.text",
    ):
        assert place in places


def test_the_export_holds_everything_jisr_keeps_about_the_contact(session: Session, client: Any) -> None:
    world = _world(session)
    login(client, "admin@jisr.example")
    response = client.get(f"/contacts/{world['salma_id']}/personal-data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    assert data["format"] == "jisr.personal_data" and data["version"] == 1
    contact = data["contact"]
    assert (contact["name"], contact["email"], contact["phone"]) == (NAME, EMAIL, PHONE)
    assert contact["title"] == "Secrétaire générale" and contact["erased"] is False
    assert contact["organisation"]["acronym"] == "ADD"
    assert [m["title"] for m in data["meetings"]] == ["Cloud roadmap with ADD"]
    assert sorted(a["id"] for a in data["activities"]) == sorted(world["activities"])
    assert [lead["id"] for lead in data["leads"]] == [world["lead"].id]
    assert set(data["leads"][0]["linked_by"]) == {"activity"}
    types = [e["type"] for e in data["events"]]
    assert {"contact.created", "contact.updated", "activity.logged"} <= set(types)
    assert [(r["filename"], r["row_number"], r["action"]) for r in data["imports"]] == [
        ("contacts-add.csv", 2, "update")
    ]
    assert sorted((m["recipient_email"], m["status"]) for m in data["mail"]) == [
        (SALMA.previous_email, "sent"),
        (EMAIL, "queued"),
        (EMAIL, "sent"),
    ]
    assert {d["event_id"] for d in data["webhook_deliveries"]} <= {e["id"] for e in data["events"]}
    assert len(data["webhook_deliveries"]) >= 3
    assert [s["email"] for s in data["digest_subscriptions"]] == [EMAIL]
    assert [(c["kind"], c.get("outcome")) for c in data["checkins"]] == [
        ("asked", None),
        ("answer", "talking"),
        ("stopped", None),
    ]
    assert data["checkins"][1]["comment"].endswith(" asked for the pilot's terms.")
    assert {e["from"]["email"] for e in data["emails_on_leads"]} >= {EMAIL}  # what she wrote to the lead
    assert OTHER[1] not in json.dumps(data["contact"])

    page = client.get(f"/contacts/{world['salma_id']}/personal-data")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in (NAME, EMAIL, PHONE, "Cloud roadmap with ADD", "contacts-add.csv", "Sent the deck to", "for the pilot"):
        assert text in html
    exported = _events(session, "contact.data_exported")
    assert [(e.actor_id, e.entity_id, e.payload["format"]) for e in exported] == [
        (world["admin"].id, world["salma_id"], "json"),
        (world["admin"].id, world["salma_id"], "html"),
    ]
    assert NAME not in json.dumps(exported[0].payload) and exported[0].payload["records"]["events"] >= 3


def test_the_export_page_is_in_the_administrators_language(session: Session, client: Any) -> None:
    world = _world(session)
    update_user_preferences(session, world["admin"], language="ar", timezone="Africa/Casablanca")
    session.commit()
    login(client, "admin@jisr.example")
    html = client.get(f"/contacts/{world['salma_id']}/personal-data").get_data(as_text=True)
    assert 'dir="rtl"' in html and "Personal data held about" not in html and NAME in html


@pytest.mark.parametrize("who", sorted(PEOPLE))
@pytest.mark.parametrize("how", ["erase", "delete"])
def test_after_erasure_or_deletion_no_table_holds_the_person(session: Session, client: Any, how: str, who: str) -> None:
    person = PEOPLE[who]
    world = _world(session, person)
    salma_id = world["salma_id"]
    login(client, "admin@jisr.example")
    confirm = client.get(f"/contacts/{salma_id}/{how}")
    assert confirm.status_code == 200
    holdings = re.search(r'data-testid="contact-holdings">(.*?)</ul>', confirm.get_data(as_text=True), re.S)
    assert (
        holdings
        and "1 meeting attended" in holdings.group(1)
        and f"{len(world['activities'])} activities" in holdings.group(1)
    )
    response = client.post(f"/contacts/{salma_id}/{how}")
    assert response.status_code == 302
    session.expire_all()

    assert _where_found(session, person.traces) == []
    # Karim, named alongside her, is still everywhere he was.
    assert {"contact.name", "activity.body", "meeting.notes", "event.payload"} <= set(_where_found(session, OTHER))
    assert search(session, world["admin"], person.surname).total == 0
    assert search(session, world["admin"], "Idrissi").contacts

    event = _events(session, f"contact.{'erased' if how == 'erase' else 'deleted'}")[-1]
    assert (event.actor_id, event.entity_type, event.entity_id) == (world["admin"].id, "contact", salma_id)
    assert event.payload["scrubbed"]["events"] >= 3 and event.payload["scrubbed"]["import_files"] == 1
    assert event.payload["scrubbed"]["inbound_mail"] == 2 and event.payload["scrubbed"]["email_message"] >= 1
    body = session.get(Activity, world["activities"][0]).body
    assert body == f"Called [#{salma_id}] on [#{salma_id}] with {OTHER[0]}."
    assert session.exec(select(func.count()).select_from(Subscription)).one() == 0
    mail = {m.status for m in session.exec(select(OutboundMail))}
    assert mail == {MailStatus.SENT, MailStatus.FAILED}  # the queued one never goes
    assert session.exec(select(func.count()).select_from(ImportFile)).one() == 0
    delivery_bodies = [d.body for d in session.exec(select(WebhookDelivery))]
    assert delivery_bodies and all(person.name not in b and person.email not in b for b in delivery_bodies)

    contact = session.get(Contact, salma_id)
    if how == "erase":
        assert contact is not None and contact.erased_at is not None
        assert (contact.title, contact.email, contact.phone) == ("", None, None)
        assert session.exec(select(func.count()).where(MeetingContact.contact_id == salma_id)).one() == 1
        page = client.get(f"/contacts/{salma_id}").get_data(as_text=True)
        assert f"Erased contact #{salma_id}" in page and 'data-testid="contact-edit"' not in page
    else:
        assert contact is None
        assert session.exec(select(func.count()).where(MeetingContact.contact_id == salma_id)).one() == 0
        assert client.get(f"/contacts/{salma_id}").status_code == 404
        assert session.get(Activity, world["activities"][1]) is not None
    log = client.get(f"/admin/activity?entity=contact:{salma_id}")
    assert log.status_code == 200 and person.name not in log.get_data(as_text=True)


def test_an_erased_contact_stays_erased_and_its_export_says_so(session: Session, client: Any) -> None:
    world = _world(session)
    salma = world["salma"]
    first = erase_contact(session, salma, actor=world["admin"])
    session.commit()
    assert not first.already_erased and first.scrubbed["events"] >= 3
    again = erase_contact(session, salma, actor=world["admin"])
    session.commit()
    assert again.already_erased and len(_events(session, "contact.erased")) == 1
    with pytest.raises(ValidationError):
        update_contact(session, salma, name=NAME, email=EMAIL, actor=world["admin"])
    session.rollback()
    login(client, "admin@jisr.example")
    assert client.get(f"/contacts/{salma.id}/edit").status_code == 302
    refused = client.post(f"/contacts/{salma.id}/edit", data={"name": NAME, "email": EMAIL})
    assert refused.status_code == 302 and session.get(Contact, salma.id).email is None  # type: ignore[union-attr]
    answer = client.post(f"/contacts/{salma.id}/erase")
    assert answer.status_code == 302 and len(_events(session, "contact.erased")) == 1
    data = client.get(f"/contacts/{salma.id}/personal-data.json").get_json()
    contact = data["contact"]
    assert contact["erased"] is True and contact["erased_at"]
    assert (contact["name"], contact["email"], contact["phone"], contact["title"]) == (None, None, None, None)
    created = next(e for e in data["events"] if e["type"] == "contact.created")
    assert created["payload"]["name"] is None and created["payload"]["email"] is None
    assert [m["title"] for m in data["meetings"]] == ["Cloud roadmap with ADD"]
    assert "personal-data-erased" in client.get(f"/contacts/{salma.id}/personal-data").get_data(as_text=True)
    assert _where_found(session, TRACES) == []


ROUTES = [
    ("GET", "personal-data"),
    ("GET", "personal-data.json"),
    ("GET", "erase"),
    ("POST", "erase"),
    ("GET", "delete"),
    ("POST", "delete"),
]


@pytest.mark.parametrize("role", ["officer", "viewer"])
def test_only_administrators_export_erase_or_delete(session: Session, client: Any, role: str) -> None:
    world = _world(session)
    salma_id = world["salma_id"]
    login(client, f"{role}@jisr.example")
    events = session.exec(select(func.count()).select_from(Event)).one()
    page = client.get(f"/contacts/{salma_id}").get_data(as_text=True)
    assert "contact-personal-data" not in page
    for method, route in ROUTES:
        response = client.open(f"/contacts/{salma_id}/{route}", method=method)
        assert response.status_code == 403, (method, route)
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Event)).one() == events
    assert session.get(Contact, salma_id).name == NAME  # type: ignore[union-attr]
    actor = session.exec(select(User).where(User.email == f"{role}@jisr.example")).one()
    for operation in (export_contact_data, erase_contact, delete_contact):
        with pytest.raises(PermissionDenied):
            operation(session, world["salma"], actor=actor)


def test_the_contact_page_offers_the_rights_to_administrators(session: Session, client: Any) -> None:
    world = _world(session)
    login(client, "admin@jisr.example")
    page = client.get(f"/contacts/{world['salma_id']}").get_data(as_text=True)
    for testid in ("contact-export", "contact-erase", "contact-delete"):
        assert f'data-testid="{testid}"' in page
    for route in ("erase", "delete", "personal-data", "personal-data.json"):
        assert client.get(f"/contacts/999999/{route}").status_code == 404


def test_the_api_deletes_a_contact_for_administrators_only(session: Session, client: Any) -> None:
    world = _world(session)
    salma_id = world["salma_id"]
    officer_token = make_token(session, world["officer"])
    admin_token = make_token(session, world["admin"])
    session.commit()
    refused = client.delete(f"/api/v1/contacts/{salma_id}", headers=bearer(officer_token))
    assert refused.status_code == 403 and session.get(Contact, salma_id) is not None
    gone = client.delete(f"/api/v1/contacts/{salma_id}", headers=bearer(admin_token))
    assert gone.status_code == 204
    session.expire_all()
    assert session.get(Contact, salma_id) is None
    assert client.get(f"/api/v1/contacts/{salma_id}", headers=bearer(admin_token)).status_code == 404
    assert client.delete(f"/api/v1/contacts/{salma_id}", headers=bearer(admin_token)).status_code == 404
    assert _where_found(session, TRACES) == []
    deleted = _events(session, "contact.deleted")
    assert [(e.actor_id, e.entity_id) for e in deleted] == [(world["admin"].id, salma_id)]


def _written_forms(person: Person) -> list[str]:
    """The ways a note, an email or a JSON document holds the person, one at a time."""
    name = person.name
    first, _, rest = name.partition(" ")
    return [
        f"Met {name} today.",
        f"MET {name.upper()} TODAY.",
        f"met {name.lower()} today.",
        f"Met {first}\n  {rest} today.",
        f"<p>Bonjour {html.escape(name)},</p>",
        json.dumps({"note": f"Met {name}"}),
        json.dumps({"note": f"Met {name.upper()}"}, ensure_ascii=False),
        f"Write to {person.email.upper()}",
        f"Call {person.phone}",
        f"Call {person.e164}",
        f"Call 00{person.e164[1:]}",
        "/leads?" + urlencode({"q": name, "sort": "title"}),
        f"/leads?q={quote(name)}&stage=proposal",
    ]


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_every_written_form_of_the_person_is_found_by_the_database_and_replaced(session: Session, who: str) -> None:
    """Each form alone in a row: the SQL condition finds it on both databases (SQLite's
    ``lower()`` folds ASCII only, JSON escapes non-ASCII letters), and the replacement
    leaves nothing; text about someone else is neither found nor changed."""
    person = PEOPLE[who]
    officer = make_user(session, Role.OFFICER)
    lead = make_lead(session, owner=officer)
    forms = _written_forms(person)
    written = {log_activity(session, lead, kind="note", body=form, actor=officer).id: form for form in forms}
    bystander = log_activity(session, lead, kind="note", body=f"Met {OTHER[0]}, +212 6 99 88 77 66.", actor=officer)
    session.commit()
    traces = Traces(contact_id=7, names=(person.name,), emails=(person.email,), phones=(person.e164,))
    found = rows_mentioning(session, traces, Activity, ("body",))
    assert sorted(a.id for a in found) == sorted(written)
    for activity in found:
        scrubbed = traces.scrub(activity.body)
        assert "[#7]" in scrubbed or quote_plus("[#7]") in scrubbed  # a link keeps a working address
        assert not [t for t in person.traces if t.lower() in scrubbed.lower()], (written[activity.id], scrubbed)
    assert traces.scrub(bystander.body) == bystander.body


def test_the_api_feed_tells_everyone_of_the_erasure_but_only_administrators_of_exports(
    app: Any, session: Session, client: Any
) -> None:
    app.config["API_EVENT_FEED_SETTLE_SECONDS"] = 0
    world = _world(session)
    export_contact_data(session, world["salma"], actor=world["admin"])
    erase_contact(session, world["salma"], actor=world["admin"])
    tokens = {role: make_token(session, world[role]) for role in ("officer", "admin")}
    session.commit()
    seen = {}
    for role, token in tokens.items():
        answer = client.get("/api/v1/events?limit=100", headers=bearer(token))
        assert answer.status_code == 200, answer.get_json()
        items = answer.get_json()["items"]
        seen[role] = {item["type"] for item in items}
        assert NAME not in json.dumps(items, ensure_ascii=False) and EMAIL not in json.dumps(items)
    assert "contact.erased" in seen["officer"] and "contact.data_exported" not in seen["officer"]
    assert {"contact.erased", "contact.data_exported"} <= seen["admin"]
