"""Administrators' webhook pages: endpoints (list, register, edit, disable / enable,
delete), the signing secret (shown once; rotate; show again on purpose), a test event,
and each endpoint's delivery log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.accounts.auth import role_required
from crm.accounts.models import Role
from crm.core.db import db, parse_id, pk
from crm.core.forms import save_form
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.core.i18n import ngettext
from crm.core.paging import page_arg
from crm.core.text import isolate
from crm.webhooks.catalogue import ALL_EVENTS, GROUPS, event_label
from crm.webhooks.forms import EndpointForm
from crm.webhooks.models import DeliveryStatus, DisabledReason, WebhookEndpoint, WebhookEndpointHealth
from crm.webhooks.operations import (
    create_webhook_endpoint,
    delete_webhook_endpoint,
    disable_webhook_endpoint,
    enable_webhook_endpoint,
    redeliver_webhook_deliveries,
    reveal_webhook_secret,
    rotate_webhook_secret,
    send_webhook_ping,
    update_webhook_endpoint,
)
from crm.webhooks.queries import delivery_page, endpoint_rows, status_counts
from crm.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")

STATUS_LABELS = {
    DeliveryStatus.PENDING: _l("Waiting"),
    DeliveryStatus.SENDING: _l("Sending"),
    DeliveryStatus.DELIVERED: _l("Delivered"),
    DeliveryStatus.RETRY: _l("Waiting to retry"),
    DeliveryStatus.FAILED: _l("Failed"),
}
DISABLED_LABELS = {
    DisabledReason.ADMIN: _l("Disabled by an administrator"),
    DisabledReason.FAILING: _l("Disabled after repeated failures"),
}


@bp.app_template_global()
def delivery_status_label(status: Any) -> str:
    return str(STATUS_LABELS[DeliveryStatus(getattr(status, "value", status))])


@bp.app_template_global()
def webhook_event_label(event_type: str) -> str:
    return event_label(event_type)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _page_number() -> int:
    return page_arg(request.args.get("page"))


def _form_page(form: EndpointForm, endpoint: WebhookEndpoint | None, status: int = 200) -> Any:
    chosen = set(form.event_types.data or [])
    return render_template("webhooks/form.html", form=form, endpoint=endpoint, groups=GROUPS, chosen=chosen), status


def _secret_page(endpoint: WebhookEndpoint, secret: str, *, why: str) -> Any:
    return render_template(
        "webhooks/secret.html",
        endpoint=endpoint,
        secret=secret,
        why=why,
        headers={"signature": SIGNATURE_HEADER, "event": EVENT_HEADER, "delivery": DELIVERY_HEADER},
    )


@bp.route("")
@role_required(Role.ADMIN)
def index() -> Any:
    return render_template("webhooks/index.html", rows=endpoint_rows(db.session), disabled_labels=DISABLED_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new() -> Any:
    form = EndpointForm()
    if request.method == "GET":
        form.all_events.data = True
        return _form_page(form, None)
    if form.validate():
        saved = save_form(
            form,
            lambda: create_webhook_endpoint(
                db.session,
                url=form.url.data or "",
                description=form.description.data or "",
                event_types=form.chosen_event_types(),
                include_confidential=bool(form.include_confidential.data),
                actor=current_user,
            ),
        )
        if saved:
            return _secret_page(saved.value, saved.value.secret, why="created")
    return _form_page(form, None, 400)


@bp.route("/<int:endpoint_id>")
@role_required(Role.ADMIN)
def detail(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    raw_status = request.args.get("status", "")
    status = DeliveryStatus(raw_status) if raw_status in {s.value for s in DeliveryStatus} else None
    return render_template(
        "webhooks/detail.html",
        endpoint=endpoint,
        health=db.session.get(WebhookEndpointHealth, pk(endpoint)),
        result=delivery_page(db.session, pk(endpoint), status=status, page=_page_number()),
        status=status,
        statuses=list(DeliveryStatus),
        counts=status_counts(db.session, pk(endpoint)),
        disabled_labels=DISABLED_LABELS,
        all_events=ALL_EVENTS,
    )


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    form = EndpointForm(obj=endpoint)
    if request.method == "GET":
        form.all_events.data = ALL_EVENTS in endpoint.event_types
        form.event_types.data = [t for t in endpoint.event_types if t != ALL_EVENTS]
        return _form_page(form, endpoint)
    if form.validate():
        saved = save_form(
            form,
            lambda: update_webhook_endpoint(
                db.session,
                endpoint,
                url=form.url.data or "",
                description=form.description.data or "",
                event_types=form.chosen_event_types(),
                include_confidential=bool(form.include_confidential.data),
                actor=current_user,
            ),
            _("Endpoint saved."),
        )
        if saved:
            return redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))
    return _form_page(form, endpoint, 400)


@bp.route("/<int:endpoint_id>/disable", methods=["POST"])
@role_required(Role.ADMIN)
def disable(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    disable_webhook_endpoint(db.session, endpoint, actor=current_user)
    db.session.commit()
    flash(_("The endpoint is disabled: Jisr sends it nothing until it is enabled again."), "success")
    return redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))


@bp.route("/<int:endpoint_id>/enable", methods=["POST"])
@role_required(Role.ADMIN)
def enable(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    enable_webhook_endpoint(db.session, endpoint, actor=current_user)
    db.session.commit()
    flash(_("The endpoint is enabled: new events are sent to it again."), "success")
    return redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))


@bp.route("/<int:endpoint_id>/rotate", methods=["POST"])
@role_required(Role.ADMIN)
def rotate(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    secret = rotate_webhook_secret(db.session, endpoint, actor=current_user)
    db.session.commit()
    return _secret_page(endpoint, secret, why="rotated")


@bp.route("/<int:endpoint_id>/secret", methods=["POST"])
@role_required(Role.ADMIN)
def reveal(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    secret = reveal_webhook_secret(db.session, endpoint, actor=current_user)
    db.session.commit()
    return _secret_page(endpoint, secret, why="revealed")


@bp.route("/<int:endpoint_id>/ping", methods=["POST"])
@role_required(Role.ADMIN)
def ping(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    send_webhook_ping(db.session, endpoint, actor=current_user)
    db.session.commit()
    flash(_("A test event is on its way; its delivery appears in the log in a few seconds."), "success")
    return redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))


@bp.route("/<int:endpoint_id>/redeliver", methods=["POST"])
@role_required(Role.ADMIN)
def redeliver(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    raw = request.form.get("delivery_id", "")
    delivery_id = parse_id(raw)
    ids = [delivery_id] if delivery_id is not None else None
    count = redeliver_webhook_deliveries(db.session, endpoint, delivery_ids=ids, actor=current_user)
    db.session.commit()
    if count:
        from crm.webhooks.consumers import kick_sender

        kick_sender()
    flash(ngettext("%(num)d delivery queued again.", "%(num)d deliveries queued again.", count), "success")
    return redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))


@bp.route("/<int:endpoint_id>/delete", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def delete(endpoint_id: int) -> Any:
    endpoint = _endpoint(endpoint_id)
    if request.method == "GET":
        return render_template("webhooks/delete.html", endpoint=endpoint)
    url = endpoint.url
    delete_webhook_endpoint(db.session, endpoint, actor=current_user)
    db.session.commit()
    flash(_("The endpoint %(url)s is deleted, with its delivery log.", url=isolate(url)), "success")
    return redirect(url_for("webhooks.index"))
