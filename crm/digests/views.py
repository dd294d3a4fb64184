"""Digest pages: subscriptions (list, new, edit, deactivate), preview exactly as emailed,
send now, the archive, and the signed one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlmodel import col, select

from crm.accounts.models import Role, User
from crm.core.db import db, pk
from crm.core.errors import PermissionDenied, ValidationError
from crm.core.forms import apply_errors, options, refuse_field
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.i18n import gettext as _
from crm.core.ledger import Attachment
from crm.core.security import csrf
from crm.core.time import utcnow
from crm.digests.compile import compile_digest
from crm.digests.dispatch import due_period, send_digest_now
from crm.digests.forms import FILTER_FIELDS, SubscriptionForm
from crm.digests.models import DigestRun, Subscription
from crm.digests.operations import (
    create_subscription,
    may_direct_subscription,
    resubscribe,
    unsubscribe,
    update_subscription,
)
from crm.digests.periods import Period, parse_period
from crm.digests.render import DigestEmail, chart_attachment, render_digest, subscription_of_token
from crm.leads.labels import PARTNERSHIP_TYPE_LABELS
from crm.organisations.models import Contact, Country, Organisation

bp = Blueprint("digests", __name__, url_prefix="/digests")

# The email's own page, shown inside a sandboxed frame: its inline styles may apply, no script may run.
EMAIL_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"


def _editor() -> None:
    if not current_user.can_edit():
        abort(403)


def _subscription(subscription_id: int) -> Subscription:
    """A subscription the viewer may open: one that carries confidential leads belongs to its
    user and the admins (others would read those leads in its preview and archive)."""
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or not may_open(subscription):
        abort(404)
    return subscription


def may_open(subscription: Subscription) -> bool:
    if not subscription.include_confidential:
        return True
    return bool(current_user.role == Role.ADMIN or current_user.id == subscription.user_id)


def _choices(form: SubscriptionForm) -> None:
    session = db.session
    users = session.exec(select(User).where(col(User.is_active).is_(True)).order_by(col(User.name))).all()
    form.user_id.choices = options(
        [(0, _("External stakeholder (no account)"))] + [(pk(u), u.display_name) for u in users]
    )
    # The organisations, sectors, owners and missions are pickers, which find their own options.
    form.partnership_types.choices = options([(k.value, str(v)) for k, v in PARTNERSHIP_TYPE_LABELS.items()])


@bp.route("/subscriptions")
@login_required
def index() -> Any:
    _editor()
    rows = db.session.exec(
        select(Subscription).order_by(col(Subscription.is_active).desc(), col(Subscription.name))
    ).all()
    ids = {s.organisation_id for s in rows if s.organisation_id}
    organisations = (
        {pk(o): o for o in db.session.exec(select(Organisation).where(col(Organisation.id).in_(ids))).all()}
        if ids
        else {}
    )
    return render_template(
        "digests/index.html",
        subscriptions=rows,
        organisations=organisations,
        language_names=LANGUAGE_NAMES,
        may_open=may_open,
    )


def _fields(form: SubscriptionForm) -> dict[str, Any]:
    return {
        "name": form.name.data or "",
        "email": form.email.data or "",
        "language": form.language.data,
        "timezone": form.timezone.data or "Africa/Casablanca",
        "cadence": form.cadence.data,
        "weekday": int(form.weekday.data or 0),
        "send_hour": int(form.send_hour.data if form.send_hour.data is not None else 8),
        "filters": form.filters(),
        "include_confidential": bool(form.include_confidential.data),
        "send_when_empty": bool(form.send_when_empty.data),
        "organisation_id": form.organisation_id.data or None,
    }


@bp.route("/subscriptions/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    _editor()
    form = SubscriptionForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            subscription = create_subscription(
                db.session, user_id=form.user_id.data or None, actor=current_user, **_fields(form)
            )
            db.session.commit()
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            flash(_("Subscription saved."), "success")
            return redirect(url_for("digests.preview", subscription_id=subscription.id))
    return render_template("digests/form.html", form=form, subscription=None), 200 if not form.errors else 422


@bp.route("/subscriptions/<int:subscription_id>/edit", methods=["GET", "POST"])
@login_required
def edit(subscription_id: int) -> Any:
    _editor()
    subscription = _subscription(subscription_id)
    form = SubscriptionForm(obj=subscription)
    _choices(form)
    if request.method == "GET":
        form.user_id.data = subscription.user_id
        form.organisation_id.data = subscription.organisation_id
        form.language.data = subscription.language.value
        form.cadence.data = subscription.cadence.value
        for name in FILTER_FIELDS:
            getattr(form, name).data = subscription.filters.get(name, [])
    directs = may_direct_subscription(current_user, subscription)
    refused = False
    if form.validate_on_submit():
        fields = _fields(form)
        if not directs:  # the fields shown disabled, which the browser leaves out, stay as they are
            fields.update(_kept(subscription, request.form))
        try:
            update_subscription(db.session, subscription, actor=current_user, **fields)
            db.session.commit()
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        except PermissionDenied as exc:
            db.session.rollback()
            refuse_field(form, exc)
            refused = True
        else:
            flash(_("Subscription saved."), "success")
            return redirect(url_for("digests.index"))
    status = 403 if refused else 422 if form.errors else 200
    return render_template("digests/form.html", form=form, subscription=subscription, directs=directs), status


def _kept(subscription: Subscription, sent: Any) -> dict[str, Any]:
    """The directed fields (address, filters, confidential leads) the form did not send, as they are."""
    kept: dict[str, Any] = {}
    if "email" not in sent:
        kept["email"] = subscription.email
    if "include_confidential" not in sent:
        kept["include_confidential"] = subscription.include_confidential
    if not any(name in sent for name in FILTER_FIELDS):
        kept["filters"] = dict(subscription.filters)
    return kept


@bp.route("/subscriptions/<int:subscription_id>/deactivate", methods=["POST"])
@login_required
def deactivate(subscription_id: int) -> Any:
    _editor()
    if unsubscribe(db.session, _subscription(subscription_id), actor=current_user, via="ui"):
        db.session.commit()
        flash(_("Subscription deactivated."), "success")
    return redirect(url_for("digests.index"))


@bp.route("/subscriptions/<int:subscription_id>/reactivate", methods=["POST"])
@login_required
def reactivate(subscription_id: int) -> Any:
    _editor()
    if resubscribe(db.session, _subscription(subscription_id), actor=current_user):
        db.session.commit()
        flash(_("Subscription active again: the next digest goes out at its next send time."), "success")
    return redirect(url_for("digests.index"))


@bp.route("/subscriptions/from-contact/<int:contact_id>", methods=["POST"])
@login_required
def subscribe_contact(contact_id: int) -> Any:
    """One click from a contact's page: a weekly digest about the contact's organisation."""
    _editor()
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        abort(404)
    org = db.session.get(Organisation, contact.organisation_id)
    key = "ma_organisation_ids" if org is not None and org.country == Country.MA else "us_organisation_ids"
    try:
        subscription = create_subscription(
            db.session, name="", contact_id=contact.id, filters={key: [contact.organisation_id]}, actor=current_user
        )
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        flash(" ".join(str(m) for m in exc.errors.values()), "danger")
        return redirect(url_for("contacts.detail", contact_id=contact_id))
    flash(_("Subscription saved."), "success")
    return redirect(url_for("digests.edit", subscription_id=subscription.id))


def _period(subscription: Subscription) -> Period:
    key = request.values.get("period", "")
    found = parse_period(key, subscription.cadence, subscription.timezone, subscription.weekday, subscription.send_hour)
    return found or due_period(subscription, utcnow())


def _as_page(html: str, chart: Attachment) -> str:
    """An email's HTML with the inline chart as a data: URI (a browser has no cid:)."""
    data = base64.b64encode(chart.data).decode("ascii")
    return html.replace(f"cid:{chart.cid}", f"data:image/png;base64,{data}")


def _email_page(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _preview_email(subscription: Subscription) -> tuple[Period, str, DigestEmail]:
    period = _period(subscription)
    language = request.args.get("lang") or subscription.language.value
    if language not in LANGUAGE_NAMES:
        language = subscription.language.value
    digest = compile_digest(db.session, subscription, period)
    return period, language, render_digest(digest, subscription, language)


@bp.route("/subscriptions/<int:subscription_id>/preview")
@login_required
def preview(subscription_id: int) -> Any:
    _editor()
    subscription = _subscription(subscription_id)
    period, language, email = _preview_email(subscription)
    return render_template(
        "digests/preview.html",
        subscription=subscription,
        period=period,
        language=language,
        email=email.email,
        language_names=LANGUAGE_NAMES,
    )


@bp.route("/subscriptions/<int:subscription_id>/preview/email")
@login_required
def preview_email(subscription_id: int) -> Any:
    _editor()
    email = _preview_email(_subscription(subscription_id))[2]
    return _email_page(_as_page(email.email.html, email.chart))


@bp.route("/subscriptions/<int:subscription_id>/send-now", methods=["POST"])
@login_required
def send_now(subscription_id: int) -> Any:
    """Send the digest of a finished period now (see :func:`crm.digests.dispatch.send_digest_now`);
    an already sent one again only with "again" (the archive's button)."""
    _editor()
    subscription = _subscription(subscription_id)
    period = _period(subscription)
    try:
        outcome = send_digest_now(db.session, subscription, period, again=request.form.get("again") == "1")
    except ValidationError:
        flash(_("This period is not over yet."), "warning")
        return redirect(url_for("digests.preview", subscription_id=subscription_id, period=period.key))
    if outcome == "already_sent":
        db.session.rollback()
        flash(_("This digest was already sent."), "info")
        return redirect(url_for("digests.archive", subscription_id=subscription_id))
    db.session.commit()
    from workers.mail import enqueue_due_mail

    try:
        enqueue_due_mail()
    except Exception:  # the broker is down: the mail sweeper sends it
        db.session.rollback()
    flash(_("The digest is on its way."), "success")
    return redirect(url_for("digests.archive", subscription_id=subscription_id))


@bp.route("/subscriptions/<int:subscription_id>/archive")
@login_required
def archive(subscription_id: int) -> Any:
    _editor()
    subscription = _subscription(subscription_id)
    runs = db.session.exec(
        select(DigestRun)
        .where(DigestRun.subscription_id == subscription.id)
        .order_by(col(DigestRun.period_start).desc())
    ).all()
    return render_template("digests/archive.html", subscription=subscription, runs=runs)


@bp.route("/runs/<int:run_id>")
@login_required
def run_email(run_id: int) -> Any:
    _editor()
    run = db.session.get(DigestRun, run_id)
    if run is None or not run.html_body:
        abort(404)
    _subscription(run.subscription_id)
    chart = chart_attachment(run.figures.get("pipeline", {}), run.language)
    return _email_page(_as_page(run.html_body, chart))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_link(token: str) -> Any:
    """No login and no CSRF token: a mail client's RFC 8058 one-click POST must work.
    The signed token names the one subscription it may stop."""
    subscription_id = subscription_of_token(token)
    subscription = db.session.get(Subscription, subscription_id) if subscription_id else None
    if subscription is None:
        abort(404)
    done = False
    if request.method == "POST":
        if unsubscribe(db.session, subscription, via="email"):
            db.session.commit()
        done = True
    return render_template(
        "digests/unsubscribe.html", subscription=subscription, done=done or not subscription.is_active
    )
