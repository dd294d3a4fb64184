"""No operation commits a change without its event, and no write path bypasses the outbox."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from sqlmodel import Session, func, select

import crm
from crm.accounts import operations as accounts
from crm.accounts.models import Role
from crm.api import operations as api
from crm.core.events import Event, UnrecordedChange
from crm.digests import operations as digests
from crm.followups import operations as followups
from crm.leads import operations as leads
from crm.leads.models import Lead, Stage
from crm.missions import operations as missions
from crm.organisations import operations as organisations
from crm.organisations.models import Country, Organisation
from crm.pipeline import operations as pipeline
from crm.privacy import operations as privacy
from crm.reference import operations as reference
from crm.webhooks import operations as webhooks
from tests.exchange_helpers import one_lead_import
from tests.factories import PASSWORD, make_followup, make_lead, make_organisation, make_user


def all_operations() -> dict[str, Callable[..., Any]]:
    """Every public function defined in a ``crm.<domain>.operations`` module."""
    found: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.iter_modules(crm.__path__):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"crm.{info.name}.operations")
        except ModuleNotFoundError:
            continue
        for name, obj in inspect.getmembers(module, inspect.isfunction):
            if obj.__module__ == module.__name__ and not name.startswith("_"):
                found[f"{info.name}.{name}"] = obj
    return found


# Operations that only read or check, and so record nothing.
READ_ONLY = {
    "accounts.find_user_by_email",
    "accounts.find_user_by_calendar_token",
    "accounts.work_of",
    "digests.may_direct_subscription",
    "exchange.import_author",
}


def _ctx(session: Session) -> dict[str, Any]:
    officer = make_user(session, Role.OFFICER)
    other = make_user(session, Role.OFFICER)
    lead = make_lead(session, owner=officer)
    followup = make_followup(session, lead, datetime(2030, 3, 1, 10, 0))
    session.commit()
    return {"officer": officer, "other": other, "lead": lead, "followup": followup}


def _stopped(subscription: Any, s: Session) -> Any:
    digests.unsubscribe(s, subscription)
    return subscription


def _sector(s: Session, c: dict[str, Any]) -> Any:
    return reference.create_sector(s, code="cloud", name_ar="الحوسبة السحابية", name_fr="Cloud", name_en="Cloud")


def _person(s: Session, c: dict[str, Any]) -> Any:
    """A contact named in an activity, for the personal data rights."""
    contact = organisations.create_contact(
        s, organisation_id=c["lead"].ma_organisation_id, name="Salma Benjelloun", email="salma@add.gov.ma"
    )
    leads.log_activity(s, c["lead"], kind="call", body="Called Salma Benjelloun")
    return contact


def _endpoint(s: Session) -> Any:
    return webhooks.create_webhook_endpoint(s, url="https://93.184.215.14/hook", event_types=["lead.stage_changed"])


def _failed_delivery(s: Session) -> Any:
    """An endpoint with one delivery that gave up (the ledger is written by the consumer)."""
    import sqlalchemy as sa

    from crm.webhooks.ledger import write_deliveries
    from crm.webhooks.models import DeliveryStatus, WebhookDelivery

    endpoint = _endpoint(s)
    ping = webhooks.send_webhook_ping(s, endpoint)
    s.flush()
    write_deliveries(s, ping, [endpoint])
    s.execute(sa.update(WebhookDelivery).values(status=DeliveryStatus.FAILED))
    return endpoint


def _ended_session(s: Session, c: dict[str, Any]) -> Any:
    """A login session of the officer on another device, ended from the settings page."""
    from crm.accounts.session_store import LoginSessionRecord, handle_of, store_for
    from crm.core.time import utcnow

    handle = handle_of("another-device")
    now = utcnow()
    store_for(s).open(LoginSessionRecord(handle, int(c["officer"].id), now, now, "Firefox, Linux", "203.0.113.7"))
    return accounts.log_out_session(s, c["officer"], handle)


def _reminder_link_followed(s: Session, c: dict[str, Any]) -> Any:
    """The owner's "done" link from a reminder, followed."""
    from crm.followups.links import DONE, link_token, read_link

    link = read_link(link_token(c["followup"], int(c["officer"].id), DONE))
    assert link is not None
    return followups.follow_reminder_link(s, c["followup"], link, c["officer"])


def _checkin_answered(s: Session, c: dict[str, Any]) -> Any:
    """A meeting contact's answer to an outcome check-in, from its signed link."""
    from crm.checkins import operations as checkins
    from crm.checkins.links import AnswerLink

    contact = _person(s, c)
    meeting = missions.log_meeting(s, title="Cloud", starts_local=datetime(2024, 2, 12, 10), timezone="America/Chicago")
    link = AnswerLink(int(contact.id), int(c["lead"].id), int(meeting.id or 0), 90)
    return checkins.answer_checkin(s, link, c["lead"], outcome="talking", comment="On track")


def _checkins_stopped(s: Session, c: dict[str, Any]) -> Any:
    from crm.checkins import operations as checkins

    return checkins.stop_checkins(s, _person(s, c), via="one-click")


def _document_added(s: Session, c: dict[str, Any]) -> Any:
    import io

    from crm.documents.operations import add_document

    return add_document(s, c["lead"], file_name="MoU.txt", content=io.BytesIO(b"Draft"), actor=c["officer"])


def _document_removed(s: Session, c: dict[str, Any]) -> Any:
    from crm.documents.operations import remove_document

    document = _document_added(s, c)
    s.commit()
    return remove_document(s, document, c["lead"], actor=c["officer"])


def _itinerary_feed_revoked(s: Session, c: dict[str, Any]) -> Any:
    """A delegate's itinerary feed address replaced by an officer."""
    from crm.itineraries import operations as itineraries

    contact = organisations.create_contact(s, organisation_id=c["lead"].ma_organisation_id, name="A")
    mission = missions.create_mission(
        s, name="M", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21), delegate_ids=[int(contact.id or 0)]
    )
    return itineraries.revoke_feed(s, mission, contact, actor=c["officer"])


def _stored_mail(s: Session, c: dict[str, Any], *, personal: bool = False) -> Any:
    """A message delivered to the lead's logging address (or, waiting in the officer's
    tray, to their personal one)."""
    from crm.inbound.addresses import lead_address, user_address
    from crm.inbound.operations import file_received, store_inbound
    from tests.inbound_corpus import plain

    if personal:
        raw = plain("tray@jisr.example", c["officer"].email, "someone@unknown.example")
        mail = store_inbound(s, raw, user_address(c["officer"]))
        s.flush()
        file_received(s, mail)
        return mail
    return store_inbound(s, plain("m@aws.example", "jane@aws.example", "x@jisr.example"), lead_address(c["lead"]))


def _email_recorded(s: Session, c: dict[str, Any]) -> Any:
    from crm.inbound import operations as inbound
    from crm.inbound.models import Direction
    from crm.inbound.parsing import parse_mail
    from tests.inbound_corpus import plain

    parsed = parse_mail(plain("r@aws.example", "jane@aws.example", "x@jisr.example"))
    return inbound.record_email(s, c["lead"], parsed, direction=Direction.INBOUND, author=None, actor=None)


def _inbound(name: str) -> Any:
    from crm.inbound import operations as inbound

    return getattr(inbound, name)


SCENARIOS: dict[str, tuple[Callable[[Session, dict[str, Any]], Any], set[str]]] = {
    "documents.add_document": (_document_added, {"document.added"}),
    "documents.remove_document": (_document_removed, {"document.added", "document.removed"}),
    "inbound.store_inbound": (_stored_mail, {"email.received"}),
    "inbound.file_received": (
        lambda s, c: _inbound("file_received")(s, _stored_mail(s, c)),
        {"email.received", "email.filed"},
    ),
    "inbound.file_on_lead": (
        lambda s, c: _inbound("file_on_lead")(s, _stored_mail(s, c), c["lead"]),
        {"email.received", "email.filed"},
    ),
    "inbound.record_email": (_email_recorded, {"email.filed"}),
    "inbound.file_from_tray": (
        lambda s, c: _inbound("file_from_tray")(s, _stored_mail(s, c, personal=True), c["lead"], actor=c["officer"]),
        {"email.received", "email.filed"},
    ),
    "inbound.set_aside": (
        lambda s, c: _inbound("set_aside")(s, _stored_mail(s, c, personal=True), actor=c["officer"]),
        {"email.received", "email.set_aside"},
    ),
    "checkins.answer_checkin": (
        _checkin_answered,
        {"contact.created", "activity.logged", "meeting.logged", "lead.checkin_answered"},
    ),
    "checkins.stop_checkins": (_checkins_stopped, {"contact.created", "activity.logged", "contact.checkins_stopped"}),
    "itineraries.revoke_feed": (
        _itinerary_feed_revoked,
        {"contact.created", "mission.created", "mission.itinerary_feed_revoked"},
    ),
    "accounts.log_out_other_sessions": (
        lambda s, c: accounts.log_out_other_sessions(s, c["officer"], keep_session=None),
        {"user.other_sessions_ended"},
    ),
    "accounts.log_out_session": (_ended_session, {"user.session_ended"}),
    "accounts.record_login_throttled": (
        lambda s, c: accounts.record_login_throttled(
            s,
            c["officer"],
            email=c["officer"].email,
            address="203.0.113.7",
            scope="account",
            failures=5,
            wait_seconds=2,
        ),
        {"user.login_throttled"},
    ),
    "followups.follow_reminder_link": (_reminder_link_followed, {"followup.done"}),
    "accounts.create_user": (
        lambda s, c: accounts.create_user(s, email="new@jisr.example", password="Another-Secret-9"),
        {"user.created"},
    ),
    "accounts.update_user_preferences": (
        lambda s, c: accounts.update_user_preferences(s, c["officer"], language="ar", timezone="America/Chicago"),
        {"user.preferences_changed"},
    ),
    "accounts.set_user_role": (
        lambda s, c: accounts.set_user_role(s, c["other"], "viewer", actor=c["officer"]),
        {"user.role_changed"},
    ),
    "accounts.set_user_supervisor": (
        lambda s, c: accounts.set_user_supervisor(s, c["officer"], c["other"].id, actor=None),
        {"user.supervisor_changed"},
    ),
    "accounts.set_user_password": (
        lambda s, c: accounts.set_user_password(s, c["officer"], "A-New-Secret-77", actor=c["officer"]),
        {"user.password_changed"},
    ),
    "organisations.merge_organisations": (
        lambda s, c: organisations.merge_organisations(
            s,
            s.get(Organisation, c["lead"].ma_organisation_id),
            make_organisation(s, Country.MA),
            actor=make_user(s, Role.ADMIN),
        ),
        {"user.created", "organisation.created", "organisation.merged"},
    ),
    "leads.delete_lead": (
        lambda s, c: leads.delete_lead(s, c["lead"], actor=c["officer"]),
        {"lead.deleted"},
    ),
    "accounts.hand_over_work": (
        lambda s, c: accounts.hand_over_work(s, c["officer"], c["other"].id, actor=None),
        {"lead.updated", "followup.reassigned"},
    ),
    "accounts.change_own_password": (
        lambda s, c: accounts.change_own_password(s, c["officer"], current=PASSWORD, new="A-New-Secret-77"),
        {"user.password_changed"},
    ),
    "accounts.request_password_link": (
        lambda s, c: accounts.request_password_link(s, c["officer"], accounts.PasswordLinkReason.FORGOTTEN, actor=None),
        {"user.password_link_requested"},
    ),
    "accounts.deactivate_user": (
        lambda s, c: accounts.deactivate_user(s, c["other"], actor=c["officer"]),
        {"user.deactivated"},
    ),
    "accounts.reactivate_user": (
        lambda s, c: (
            accounts.deactivate_user(s, c["other"], actor=None),
            accounts.reactivate_user(s, c["other"], actor=None),
        ),
        {"user.deactivated", "user.reactivated"},
    ),
    "accounts.record_login": (lambda s, c: accounts.record_login(s, c["officer"]), {"user.logged_in"}),
    "accounts.generate_calendar_token": (
        lambda s, c: accounts.generate_calendar_token(s, c["officer"]),
        {"user.calendar_token_generated"},
    ),
    "reference.create_sector": (_sector, {"sector.created"}),
    "reference.update_sector": (
        lambda s, c: reference.update_sector(s, _sector(s, c), name_fr="Informatique en nuage"),
        {"sector.created", "sector.updated"},
    ),
    "organisations.create_organisation": (
        lambda s, c: organisations.create_organisation(s, country="MA", kind="agency", name_fr="Agence X"),
        {"organisation.created"},
    ),
    "organisations.update_organisation": (
        lambda s, c: organisations.update_organisation(
            s, s.get(Organisation, c["lead"].ma_organisation_id), acronym="AX", sector_ids=[_sector(s, c).id]
        ),
        {"sector.created", "organisation.updated"},
    ),
    "organisations.create_contact": (
        lambda s, c: organisations.create_contact(
            s, organisation_id=c["lead"].ma_organisation_id, name="سارة العمراني", phone="0612345678"
        ),
        {"contact.created"},
    ),
    "organisations.update_contact": (
        lambda s, c: organisations.update_contact(
            s,
            organisations.create_contact(s, organisation_id=c["lead"].ma_organisation_id, name="A"),
            title="Directrice",
        ),
        {"contact.created", "contact.updated"},
    ),
    "missions.create_mission": (
        lambda s, c: missions.create_mission(s, name="M", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21)),
        {"mission.created"},
    ),
    "missions.set_mission_delegates": (
        lambda s, c: missions.set_mission_delegates(
            s,
            missions.create_mission(s, name="M", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21)),
            [organisations.create_contact(s, organisation_id=c["lead"].ma_organisation_id, name="A").id],
        ),
        {"mission.created", "contact.created", "mission.updated"},
    ),
    "missions.update_mission": (
        lambda s, c: missions.update_mission(
            s,
            missions.create_mission(s, name="M", starts_on=date(2024, 2, 11), ends_on=date(2024, 2, 21)),
            name="Digital trade mission",
            organiser_ids=[c["lead"].us_organisation_id],
        ),
        {"mission.created", "mission.updated"},
    ),
    "missions.log_meeting": (
        lambda s, c: missions.log_meeting(
            s,
            title="Cloud",
            starts_local=datetime(2024, 2, 12, 10),
            timezone="America/Chicago",
            organisation_ids=[c["lead"].us_organisation_id],
        ),
        {"meeting.logged"},
    ),
    "missions.update_meeting": (
        lambda s, c: missions.update_meeting(
            s,
            missions.log_meeting(s, title="Cloud", starts_local=datetime(2024, 2, 12, 10), timezone="America/Chicago"),
            starts_local=datetime(2024, 2, 12, 11),
        ),
        {"meeting.logged", "meeting.updated"},
    ),
    "missions.log_meeting_with_leads": (
        lambda s, c: missions.log_meeting_with_leads(
            s,
            meeting={"title": "Cloud", "starts_local": datetime(2024, 2, 12, 10), "timezone": "America/Chicago"},
            leads=[
                {
                    "title": "Cloud pilot",
                    "ma_organisation_id": c["lead"].ma_organisation_id,
                    "us_organisation_id": c["lead"].us_organisation_id,
                    "partnership_type": "pilot",
                    "owner_id": c["officer"].id,
                }
            ],
            actor=c["officer"],
        ),
        {"meeting.logged", "lead.created"},
    ),
    "leads.create_lead": (
        lambda s, c: leads.create_lead(
            s,
            title="AI pilot",
            ma_organisation_id=c["lead"].ma_organisation_id,
            us_organisation_id=c["lead"].us_organisation_id,
            partnership_type="pilot",
            owner_id=c["officer"].id,
            watcher_ids=[c["other"].id],
        ),
        {"lead.created", "lead.watcher_added"},
    ),
    "leads.create_leads": (
        lambda s, c: leads.create_leads(
            s,
            [
                {
                    "title": f"Imported pilot {n}",
                    "ma_organisation_id": c["lead"].ma_organisation_id,
                    "us_organisation_id": c["lead"].us_organisation_id,
                    "partnership_type": "pilot",
                    "owner_id": c["officer"].id,
                    "stage": "contacted",
                }
                for n in range(3)
            ],
            actor=c["officer"],
        ),
        {"lead.created"},
    ),
    "leads.update_lead": (
        lambda s, c: leads.update_lead(s, c["lead"], title="Renamed", estimated_value="1000", currency="USD"),
        {"lead.updated"},
    ),
    "leads.move_lead_to_stage": (
        lambda s, c: leads.move_lead_to_stage(s, c["lead"], Stage.PROPOSAL),
        {"lead.stage_changed"},
    ),
    "leads.add_watcher": (lambda s, c: leads.add_watcher(s, c["lead"], c["other"].id), {"lead.watcher_added"}),
    "leads.remove_watcher": (
        lambda s, c: (
            leads.add_watcher(s, c["lead"], c["other"].id),
            leads.remove_watcher(s, c["lead"], c["other"].id),
        ),
        {"lead.watcher_added", "lead.watcher_removed"},
    ),
    "leads.save_filter": (
        lambda s, c: leads.save_filter(s, c["officer"], name="Overdue cloud", query="overdue=1&sector=2"),
        {"saved_filter.created"},
    ),
    "leads.delete_saved_filter": (
        lambda s, c: leads.delete_saved_filter(
            s, leads.save_filter(s, c["officer"], name="Mine", query="owner=me"), actor=c["officer"]
        ),
        {"saved_filter.created", "saved_filter.deleted"},
    ),
    "leads.log_activity": (
        lambda s, c: leads.log_activity(s, c["lead"], kind="call", body="Called the CISO"),
        {"activity.logged"},
    ),
    "followups.schedule_followup": (
        lambda s, c: followups.schedule_followup(
            s, c["lead"], title="Call", due_local=datetime(2030, 1, 1, 9), timezone="Africa/Casablanca"
        ),
        {"followup.scheduled"},
    ),
    "followups.reschedule_followup": (
        lambda s, c: followups.reschedule_followup(s, c["followup"], due_local=datetime(2030, 4, 1, 9)),
        {"followup.rescheduled"},
    ),
    "followups.reassign_followup": (
        lambda s, c: followups.reassign_followup(s, c["followup"], c["other"].id),
        {"followup.reassigned"},
    ),
    "followups.complete_followup": (lambda s, c: followups.complete_followup(s, c["followup"]), {"followup.done"}),
    "followups.cancel_followup": (
        lambda s, c: followups.cancel_followup(s, c["followup"], reason="Dropped"),
        {"followup.cancelled"},
    ),
    "followups.close_followup": (
        lambda s, c: followups.close_followup(s, c["followup"], next_due_local=datetime(2030, 3, 8, 10, 0)),
        {"followup.done", "followup.scheduled"},
    ),
    "followups.snooze_followup": (
        lambda s, c: followups.snooze_followup(s, c["followup"], by="date", on=date(2030, 3, 5)),
        {"followup.rescheduled"},
    ),
    "digests.create_subscription": (
        lambda s, c: digests.create_subscription(s, name="", user_id=c["officer"].id),
        {"subscription.created"},
    ),
    "digests.unsubscribe": (
        lambda s, c: digests.unsubscribe(s, digests.create_subscription(s, name="X", email="x@jisr.example")),
        {"subscription.created", "subscription.unsubscribed"},
    ),
    "digests.resubscribe": (
        lambda s, c: digests.resubscribe(
            s, _stopped(digests.create_subscription(s, name="X", email="x@jisr.example"), s)
        ),
        {"subscription.created", "subscription.unsubscribed", "subscription.resubscribed"},
    ),
    "digests.update_subscription": (
        lambda s, c: digests.update_subscription(
            s,
            digests.create_subscription(s, name="X", email="x@jisr.example"),
            name="Y",
            email="y@jisr.example",
            language="ar",
            timezone="Africa/Casablanca",
            cadence="daily",
            weekday=0,
            send_hour=7,
            filters={"sector_ids": [1]},
            include_confidential=False,
            send_when_empty=True,
            organisation_id=None,
        ),
        {"subscription.created", "subscription.updated"},
    ),
    "webhooks.create_webhook_endpoint": (lambda s, c: _endpoint(s), {"webhook.endpoint_created"}),
    "webhooks.update_webhook_endpoint": (
        lambda s, c: webhooks.update_webhook_endpoint(
            s,
            _endpoint(s),
            url="https://93.184.215.14/jisr",
            event_types=["*"],
            description="Ministry CRM",
            include_confidential=True,
        ),
        {"webhook.endpoint_created", "webhook.endpoint_updated"},
    ),
    "webhooks.disable_webhook_endpoint": (
        lambda s, c: webhooks.disable_webhook_endpoint(s, _endpoint(s)),
        {"webhook.endpoint_created", "webhook.endpoint_disabled"},
    ),
    "webhooks.enable_webhook_endpoint": (
        lambda s, c: (
            endpoint := _endpoint(s),
            webhooks.disable_webhook_endpoint(s, endpoint),
            webhooks.enable_webhook_endpoint(s, endpoint),
        ),
        {"webhook.endpoint_created", "webhook.endpoint_disabled", "webhook.endpoint_enabled"},
    ),
    "webhooks.rotate_webhook_secret": (
        lambda s, c: webhooks.rotate_webhook_secret(s, _endpoint(s)),
        {"webhook.endpoint_created", "webhook.secret_rotated"},
    ),
    "webhooks.reveal_webhook_secret": (
        lambda s, c: webhooks.reveal_webhook_secret(s, _endpoint(s), actor=None),
        {"webhook.endpoint_created", "webhook.secret_revealed"},
    ),
    "webhooks.delete_webhook_endpoint": (
        lambda s, c: webhooks.delete_webhook_endpoint(s, _endpoint(s)),
        {"webhook.endpoint_created", "webhook.endpoint_deleted"},
    ),
    "webhooks.send_webhook_ping": (
        lambda s, c: webhooks.send_webhook_ping(s, _endpoint(s)),
        {"webhook.endpoint_created", "webhook.ping"},
    ),
    "webhooks.redeliver_webhook_deliveries": (
        lambda s, c: webhooks.redeliver_webhook_deliveries(s, _failed_delivery(s)),
        {"webhook.endpoint_created", "webhook.ping", "webhook.redelivery_requested"},
    ),
    "api.create_api_token": (
        lambda s, c: api.create_api_token(s, c["officer"], name="Ministry CRM", scope="write", actor=c["officer"]),
        {"api_token.created"},
    ),
    "api.revoke_api_token": (
        lambda s, c: api.revoke_api_token(
            s, api.create_api_token(s, c["officer"], name="Old sync", scope="read")[0], actor=c["officer"]
        ),
        {"api_token.created", "api_token.revoked"},
    ),
    "exchange.upload_import": (lambda s, c: one_lead_import(s, c, "uploaded"), {"import.uploaded"}),
    "exchange.reread_import": (lambda s, c: one_lead_import(s, c, "reread"), {"import.uploaded", "import.reread"}),
    "exchange.cancel_import": (
        lambda s, c: one_lead_import(s, c, "cancelled"),
        {"import.uploaded", "import.cancelled"},
    ),
    "exchange.map_import_columns": (
        lambda s, c: one_lead_import(s, c, "mapped"),
        {"import.uploaded", "import.mapped"},
    ),
    "exchange.start_planning": (
        lambda s, c: one_lead_import(s, c, "planning_started"),
        {"import.uploaded", "import.mapped", "import.planning_started"},
    ),
    "exchange.store_plan": (
        lambda s, c: one_lead_import(s, c, "planned"),
        {"import.uploaded", "import.mapped", "import.planned"},
    ),
    "exchange.fail_planning": (
        lambda s, c: one_lead_import(s, c, "planning_failed"),
        {"import.uploaded", "import.mapped", "import.planning_failed"},
    ),
    "exchange.confirm_import": (
        lambda s, c: one_lead_import(s, c, "confirmed"),
        {"import.uploaded", "import.mapped", "import.confirmed"},
    ),
    "exchange.start_import": (
        lambda s, c: one_lead_import(s, c, "started"),
        {"import.uploaded", "import.mapped", "import.confirmed", "import.started"},
    ),
    "exchange.fail_import": (
        lambda s, c: one_lead_import(s, c, "failed"),
        {"import.uploaded", "import.mapped", "import.confirmed", "import.started", "import.failed"},
    ),
    "exchange.apply_import": (
        lambda s, c: one_lead_import(s, c, "applied"),
        {"import.uploaded", "import.mapped", "import.confirmed", "import.started", "lead.created", "import.completed"},
    ),
    "exchange.revert_import": (
        lambda s, c: one_lead_import(s, c, "reverted"),
        {
            *("import.uploaded", "import.mapped", "import.confirmed", "import.started", "lead.created"),
            *("import.completed", "lead.deleted", "import.reverted"),
        },
    ),
    "privacy.export_contact_data": (
        lambda s, c: privacy.export_contact_data(s, _person(s, c), actor=make_user(s, Role.ADMIN)),
        {"contact.created", "activity.logged", "user.created", "contact.data_exported"},
    ),
    "privacy.erase_contact": (
        lambda s, c: privacy.erase_contact(s, _person(s, c), actor=make_user(s, Role.ADMIN)),
        {"contact.created", "activity.logged", "user.created", "contact.erased"},
    ),
    "privacy.delete_contact": (
        lambda s, c: privacy.delete_contact(s, _person(s, c), actor=make_user(s, Role.ADMIN)),
        {"contact.created", "activity.logged", "user.created", "contact.deleted"},
    ),
    "pipeline.set_stage_probabilities": (
        lambda s, c: pipeline.set_stage_probabilities(s, {"proposal": 45, "negotiation": 65}),
        {"pipeline.stage_probability_changed"},
    ),
    "pipeline.set_reference_rate": (
        lambda s, c: pipeline.set_reference_rate(s, "10.05", actor=make_user(s, Role.ADMIN)),
        {"user.created", "pipeline.reference_rate_set"},
    ),
}


def test_every_operation_has_a_scenario() -> None:
    """A new operation must be added to SCENARIOS, which proves that it records its event."""
    missing = set(all_operations()) - set(SCENARIOS) - READ_ONLY
    assert not missing, f"operations without an event scenario: {sorted(missing)}"
    stale = set(SCENARIOS) - set(all_operations())
    assert not stale


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_operation_commits_its_change_with_its_event(session: Session, name: str) -> None:
    ctx = _ctx(session)
    before = session.exec(select(func.max(Event.id))).one() or 0
    run, expected = SCENARIOS[name]
    run(session, ctx)
    session.commit()  # the guard would raise if a change had no event
    recorded = set(session.exec(select(Event.type).where(Event.id > before)).all())
    assert recorded == expected


def test_a_write_without_an_event_is_refused(session: Session) -> None:
    lead = make_lead(session)
    session.commit()
    lead.title = "Changed behind the operations' back"
    with pytest.raises(UnrecordedChange):
        session.commit()
    session.rollback()
    assert session.get(Lead, lead.id).title != "Changed behind the operations' back"


def test_an_insert_without_an_event_is_refused(session: Session) -> None:
    session.add(Organisation(country=Country.US, kind="company", name_en="Shadow Inc"))
    with pytest.raises(UnrecordedChange):
        session.commit()
    session.rollback()
    assert session.exec(select(Organisation).where(Organisation.name_en == "Shadow Inc")).first() is None


def test_a_failed_operation_writes_nothing(session: Session) -> None:
    """Validation happens before any row changes: a bad input leaves no partial write."""
    from crm.core.errors import ValidationError

    lead = make_lead(session)
    session.commit()
    before = session.exec(select(func.count()).select_from(Event)).one()
    with pytest.raises(ValidationError):
        leads.update_lead(session, lead, title="Fine", estimated_value="lots")
    session.rollback()
    session.refresh(lead)
    assert lead.title != "Fine"
    assert session.exec(select(func.count()).select_from(Event)).one() == before


def test_event_carries_actor_lead_and_changed_fields(session: Session) -> None:
    officer = make_user(session)
    lead = make_lead(session, owner=officer)
    leads.update_lead(session, lead, title="Cloud migration proposal for ADD", actor=officer)
    session.commit()
    event = session.exec(select(Event).where(Event.type == "lead.updated")).one()
    assert event.actor_id == officer.id
    assert event.lead_id == lead.id
    assert event.payload["changes"]["title"][1] == "Cloud migration proposal for ADD"
    assert event.published_at is None
    assert event.occurred_at.tzinfo is not None


def test_organisation_factory_keeps_country(session: Session) -> None:
    org = make_organisation(session, Country.US)
    session.commit()
    assert session.get(Organisation, org.id).country == Country.US
