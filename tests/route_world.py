"""One world of real rows for the tests that walk every route of the app: users of each
role, a confidential lead of officer A (with a follow-up, an activity and a watcher), an
open lead, a mission with a meeting, organisations, a contact, digest subscriptions with
an archived run, an import, a webhook endpoint, a saved filter and API tokens; and the
helpers of the walk: the rules of the URL map, each one's address filled from those rows,
and each request's answer with what it wrote (the forms the pages offer are read by
``tests.route_pages``)."""

from __future__ import annotations

import io
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import session as cookie
from flask_login import login_user
from sqlmodel import Session, SQLModel, select
from werkzeug.routing import Rule

from crm.accounts.login_sessions import open_login_session
from crm.accounts.models import Role, User
from crm.accounts.operations import find_user_by_email, generate_calendar_token
from crm.accounts.session_store import LoginSessionRecord, handle_of, store_for
from crm.accounts.tokens import set_password_url
from crm.api.operations import create_api_token
from crm.checkins.links import answer_token, stop_token
from crm.checkins.models import Checkin
from crm.core.db import db
from crm.core.time import utcnow
from crm.digests.dispatch import send_digest_now
from crm.digests.models import DigestRun
from crm.digests.operations import create_subscription
from crm.digests.periods import parse_period
from crm.digests.render import unsubscribe_token
from crm.documents.operations import add_document
from crm.exchange.operations import upload_import
from crm.followups.links import DONE, link_token
from crm.followups.models import FollowUp
from crm.inbound.addresses import lead_address, user_address
from crm.inbound.operations import file_received, store_inbound
from crm.leads.operations import add_watcher, log_activity, save_filter
from crm.missions.operations import create_mission, log_meeting
from crm.organisations.operations import create_contact
from crm.reference.operations import create_sector
from crm.webhooks.operations import create_webhook_endpoint
from tests import document_files
from tests.exchange_helpers import csv_bytes
from tests.factories import make_followup, make_lead, make_organisation, make_user
from tests.inbound_corpus import plain, with_rfc2231_attachment

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Words that only the confidential lead and what hangs from it contain.
SECRET_TITLE = "Quokka sovereign datacentre"
SECRET_FOLLOWUP = "Quokka term sheet"
SECRET_ACTIVITY = "Quokka board minutes"
SECRET_MARKERS = (SECRET_TITLE, SECRET_FOLLOWUP, SECRET_ACTIVITY)
# URL arguments naming something that belongs to officer A alone (or to A and the lead's
# watchers and the admins): another officer must not reach what they name.
PRIVATE_ARGUMENTS = frozenset(
    {
        "lead_id",
        "followup_id",
        "activity_id",
        "import_id",
        "filter_id",
        "token_id",
        "subscription_id",
        "run_id",
        "handle",
        "document_id",
        "email_id",
        "mail_id",
    }
)


@dataclass
class World:
    emails: dict[str, str]  # by who: admin, a, b (officers), viewer, watcher
    secret: dict[str, Any]  # URL arguments naming A's confidential lead and A's own things
    open: dict[str, Any]  # the same arguments naming rows every user may see
    api_tokens: dict[str, str]  # by who
    public: dict[str, str] = field(default_factory=dict)  # signed links and the calendar token

    def values(self, which: str = "open") -> dict[str, Any]:
        """Every URL argument of the app: the world's rows, and a stranger's token."""
        rows = self.secret if which == "secret" else self.open
        return {
            **rows,
            "token": "not-a-token",
            "package": "bootstrap",
            "filename": "css/bootstrap.min.css",
            "source": "organisations",
        }

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_tokens[who]}"}


def build_world(session: Session) -> World:
    admin = make_user(session, Role.ADMIN, email="admin@jisr.example")
    officer_a = make_user(session, email="officer.a@jisr.example")
    officer_b = make_user(session, email="officer.b@jisr.example")
    viewer = make_user(session, Role.VIEWER, email="viewer@jisr.example")
    watcher = make_user(session, email="watcher@jisr.example")
    create_sector(session, code="digital", name_ar="الرقمنة", name_fr="Numérique", name_en="Digital", actor=admin)
    ma = make_organisation(session, "MA", name_fr="Agence de Développement du Digital", acronym="ADD")
    us = make_organisation(session, "US", name_en="Cloudera")
    contact = create_contact(
        session, organisation_id=ma.id, name="Salma Idrissi", email="salma@add.gov.ma", actor=admin
    )
    session.flush()
    mission = create_mission(
        session,
        name="Washington trade mission",
        starts_on=datetime(2026, 2, 9).date(),
        ends_on=datetime(2026, 2, 13).date(),
        places=[{"name": "Washington", "timezone": "America/New_York"}],
        organiser_ids=[ma.id],
        delegate_ids=[contact.id],
        actor=admin,
    )
    session.flush()
    meeting = log_meeting(
        session,
        title="Round table with Cloudera",
        starts_local=datetime(2026, 2, 10, 10, 0),
        timezone="America/New_York",
        mission_id=mission.id,
        organisation_ids=[ma.id, us.id],
        contact_ids=[contact.id],
        actor=admin,
    )
    rows: dict[str, dict[str, Any]] = {}
    followups: dict[str, FollowUp] = {}
    for key, title, followup, activity in (
        ("secret", SECRET_TITLE, SECRET_FOLLOWUP, SECRET_ACTIVITY),
        ("open", "Open skills academy", "Send the brochure", "Call with the academy"),
    ):
        lead = make_lead(
            session,
            owner=officer_a,
            title=title,
            confidential=key == "secret",
            ma_organisation_id=ma.id,
            us_organisation_id=us.id,
            mission_id=mission.id,
            meeting_id=meeting.id,
        )
        due = make_followup(session, lead, datetime(2026, 12, 20, 10, 0), title=followup, actor=officer_a)
        note = log_activity(session, lead, kind="note", body=activity, actor=officer_a)
        add_watcher(session, lead, watcher.id, actor=officer_a)
        document = add_document(
            session, lead, file_name=f"{followup}.pdf", content=io.BytesIO(document_files.PDF), actor=officer_a
        )
        session.flush()
        rows[key] = {"lead_id": lead.id, "followup_id": due.id, "activity_id": note.id, "document_id": document.id}
        rows[key]["email_id"] = _email_on(session, lead, f"{title} proposal")
        followups[key] = due
    private_digest = create_subscription(
        session, name="", user_id=officer_a.id, include_confidential=True, send_when_empty=True, actor=officer_a
    )
    open_digest = create_subscription(session, name="", contact_id=contact.id, send_when_empty=True, actor=officer_a)
    session.flush()
    week = parse_period("2026-W47", private_digest.cadence, private_digest.timezone, 0, 8)
    assert week is not None
    send_digest_now(session, private_digest, week)
    data_import = upload_import(
        session,
        kind="organisations",
        filename="organisations.csv",
        content=csv_bytes([["Name (English)", "Country"], ["Google Cloud", "US"]]),
        actor=officer_a,
    )
    saved = save_filter(session, officer_a, name="My confidential pipeline", query="q=Quokka")
    token, _ = create_api_token(session, officer_a, name="A's sync", scope="write", actor=officer_a)
    endpoint = create_webhook_endpoint(
        session, url="https://93.184.215.14/jisr/events", event_types=["lead.stage_changed"], actor=admin
    )
    session.flush()
    run_id = session.exec(select(DigestRun.id)).one()  # A's confidential digest, archived
    a_elsewhere = _login_session_elsewhere(session, officer_a)  # A logged in on another device
    waiting = store_inbound(
        session, plain("tray@jisr.example", officer_a.email, "someone@unknown.example"), user_address(officer_a)
    )
    assert waiting is not None
    file_received(session, waiting)
    shared = {
        "user_id": watcher.id,
        "contact_id": contact.id,
        "org_id": ma.id,
        "organisation_id": ma.id,
        "mission_id": mission.id,
        "meeting_id": meeting.id,
        "endpoint_id": endpoint.id,
        "name": "no-such-message.eml",
        "import_id": data_import.id,
        "filter_id": saved.id,
        "token_id": token.id,
        "handle": a_elsewhere,
        "mail_id": waiting.id,
        "index": 3,  # the attachment of each lead's email
    }
    secret = {**shared, **rows["secret"], "subscription_id": private_digest.id, "run_id": run_id}
    opened = {**shared, **rows["open"], "subscription_id": open_digest.id, "run_id": run_id}
    people = {"admin": admin, "a": officer_a, "b": officer_b, "viewer": viewer, "watcher": watcher}
    api_tokens = {
        who: create_api_token(session, user, name="Walk", scope="read" if who == "viewer" else "write", actor=user)[1]
        for who, user in people.items()
    }
    calendar = generate_calendar_token(session, officer_a)
    # The open lead was asked about in an outcome check-in (what its signed link answers).
    session.add(
        Checkin(
            meeting_id=meeting.id, days=90, contact_id=contact.id, lead_ids=[rows["open"]["lead_id"]], mail_key="walk"
        )
    )
    session.commit()
    emails = {who: user.email for who, user in people.items()}
    public = {
        "calendar": calendar,
        "unsubscribe": unsubscribe_token(open_digest.id or 0),
        "set_password": set_password_url(watcher).rsplit("/", 1)[1],
        "reminder_link": link_token(followups["open"], officer_a.id or 0, DONE),
        "checkin_answer": answer_token(contact.id or 0, rows["open"]["lead_id"], meeting.id or 0, 90),
        "checkin_stop": stop_token(contact.id or 0),
    }
    return World(emails=emails, secret=secret, open=opened, api_tokens=api_tokens, public=public)


def _email_on(session: Session, lead: Any, subject: str) -> int:
    """An email with an attachment filed on ``lead`` through its address."""
    raw = with_rfc2231_attachment(f"lead-{lead.id}@cloudera.example", "pat@cloudera.example", "a@jisr.example")
    stored = store_inbound(session, raw.replace(b"Proposal attached", subject.encode()), lead_address(lead))
    assert stored is not None
    email = file_received(session, stored)
    assert email is not None
    return int(email.id or 0)


def _login_session_elsewhere(session: Session, user: User) -> str:
    """The handle of a login session of ``user`` opened on some other device."""
    now = utcnow()
    handle = handle_of(secrets.token_urlsafe(32))
    store_for(session).open(LoginSessionRecord(handle, int(user.id or 0), now, now, "Firefox, Linux", "192.0.2.7"))
    return handle


def client_of(app: Any, email: str | None) -> Any:
    """A test client, logged in as ``email`` (through Flask-Login, without the password check
    the login page makes, which the login tests cover) or anonymous."""
    client = app.test_client()
    if email is not None:
        with app.test_request_context(environ_base=client.environ_base):
            user = find_user_by_email(db.session, email)
            assert user is not None, email
            open_login_session(db.session, user)
            assert login_user(user), email
            db.session.commit()
            logged_in = dict(cookie)
        with client.session_transaction() as kept:
            kept.update(logged_in)
    return client


def web_rules(app: Any) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def fill(rule: Rule, values: dict[str, Any]) -> str:
    """The rule's address with each of its arguments taken from ``values``."""
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: no row to fill {sorted(missing)}; add one to the world"
    return rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]  # type: ignore[index]


def is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


def snapshot(session: Session) -> dict[str, int]:
    """The number of rows of every table, read in one statement (but the API's record of
    each token's use, which every API request writes, and the login sessions, which every
    login writes)."""
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name not in ("api_token_use", "login_session")]
    counts = [sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables]
    session.rollback()
    row = session.execute(sa.select(*counts)).one()
    return dict(zip([t.name for t in tables], row, strict=True))


def changes(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


class _Errors(logging.Handler):
    """The last line of each error the app logged (what a 5xx was)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            self.seen.append(f"{type(error).__name__}: {str(error).splitlines()[0][:160]}")


class Walk:
    """Requests of one client: after each, what it wrote (the row counts of every table
    that changed) and, for a 5xx, the error the app logged; ``wrong`` collects complaints."""

    def __init__(self, session: Session, client: Any, headers: dict[str, str] | None = None) -> None:
        self.session, self.client, self.headers = session, client, headers or {}
        self.counts = snapshot(session)
        self.written: dict[str, tuple[int, int]] = {}
        self.wrong: list[tuple[Any, ...]] = []
        self.sent = 0
        self.errors = _Errors()
        client.application.logger.addHandler(self.errors)

    def send(self, method: str, url: str, label: str = "", *, client: Any = None, **kwargs: Any) -> Any:
        """One request, by this walk's client or by ``client`` (the counts are the walk's)."""
        self.errors.seen.clear()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if method in WRITE_METHODS and not {"data", "json"} & set(kwargs):
            kwargs["data"] = {}
        response = (client or self.client).open(url, method=method, headers=headers, **kwargs)
        self.sent += 1
        after = snapshot(self.session)
        self.written, self.counts = changes(self.counts, after), after
        if response.status_code >= 500:
            self.complain("5xx", method, url, label, response, *self.errors.seen)
        return response

    def complain(self, why: str, method: str, url: str, label: str, response: Any, *more: Any) -> None:
        self.wrong.append((why, method, url[:120], label, response.status_code, *more))


def report(wrong: list[Any]) -> str:
    """The wrong answers, one a line."""
    return f"{len(wrong)} wrong answers:\n" + "\n".join(repr(entry) for entry in wrong)
