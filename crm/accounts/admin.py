"""Administrators' user pages: list, invite, change role, deactivate / reactivate, reset
password; and the public page where a user sets a password from a signed link."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import col, select
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Length

from crm.accounts.auth import role_required
from crm.accounts.models import Role, User
from crm.accounts.operations import (
    PasswordLinkReason,
    create_user,
    deactivate_user,
    hand_over_work,
    reactivate_user,
    request_password_link,
    set_user_password,
    set_user_role,
    set_user_supervisor,
    work_of,
)
from crm.accounts.tokens import set_password_url, unusable_password, user_for_token
from crm.core.db import db, parse_id
from crm.core.errors import ValidationError
from crm.core.forms import apply_errors, options, save_form
from crm.core.i18n import LANGUAGE_NAMES
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.core.security import limiter
from crm.core.time import available_zones

bp = Blueprint("admin_users", __name__)

ROLE_LABELS = {Role.ADMIN: _l("Administrator"), Role.OFFICER: _l("Officer"), Role.VIEWER: _l("Viewer")}


def role_choices() -> list[tuple[str, str]]:
    return [(r.value, str(label)) for r, label in ROLE_LABELS.items()]


@bp.app_template_global()
def role_label(role: Any) -> str:
    return str(ROLE_LABELS[Role(getattr(role, "value", role))])


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=[], validate_choice=False)
    language = SelectField(_l("Language"), choices=options(list(LANGUAGE_NAMES.items())), validate_choice=False)
    timezone = StringField(_l("Time zone"), validators=[Length(max=64)], default="Africa/Casablanca")


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[Length(max=1024)])
    confirm = PasswordField(_l("Repeat the password"), validators=[Length(max=1024)])


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/admin/users")
@role_required(Role.ADMIN)
def index() -> Any:
    users = db.session.exec(select(User).order_by(col(User.is_active).desc(), col(User.email))).all()
    return render_template("admin/users.html", users=users, roles=role_choices())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def invite() -> Any:
    form = InviteForm()
    form.role.choices = options(role_choices())
    if request.method == "GET":
        form.role.data = Role.OFFICER.value
        return render_template("admin/invite.html", form=form, zones=available_zones())
    if form.validate():
        try:
            user = create_user(
                db.session,
                email=form.email.data or "",
                password=unusable_password(),
                role=form.role.data or "",
                name=form.name.data or "",
                language=form.language.data or "",
                timezone=(form.timezone.data or "").strip(),
                actor=current_user,
            )
            request_password_link(db.session, user, PasswordLinkReason.INVITATION, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            return render_template("admin/link.html", user=user, link=set_password_url(user), invited=True)
    return render_template("admin/invite.html", form=form, zones=available_zones()), 400


@bp.route("/admin/users/<int:user_id>/role", methods=["POST"])
@role_required(Role.ADMIN)
def change_role(user_id: int) -> Any:
    user = _user(user_id)
    try:
        set_user_role(db.session, user, request.form.get("role", ""), actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    flash(_("%(user)s is now: %(role)s.", user=user.display_name, role=role_label(user.role)), "success")
    return redirect(url_for("admin_users.index"))


@bp.route("/admin/users/<int:user_id>/supervisor", methods=["POST"])
@role_required(Role.ADMIN)
def change_supervisor(user_id: int) -> Any:
    user = _user(user_id)
    try:
        set_user_supervisor(db.session, user, parse_id(request.form.get("supervisor_id")), actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    flash(_("The supervisor of %(user)s is saved.", user=user.display_name), "success")
    return redirect(url_for("admin_users.index"))


def _refused(exc: ValidationError) -> Any:
    users = db.session.exec(select(User).order_by(col(User.is_active).desc(), col(User.email))).all()
    errors = [str(message) for message in exc.errors.values()]
    return render_template("admin/users.html", users=users, roles=role_choices(), errors=errors), 400


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def deactivate(user_id: int) -> Any:
    """Before someone leaves: what they hold, and who takes it over; then no more logins."""
    user = _user(user_id)
    errors: list[str] = []
    if request.method == "POST" and FlaskForm().validate_on_submit():
        raw = request.form.get("successor_id", "")
        try:
            if raw:
                successor_id = parse_id(raw)
                if successor_id is None:
                    raise ValidationError.single("successor_id", _l("Choose another active officer or administrator."))
                hand_over_work(db.session, user, successor_id, actor=current_user)
            deactivate_user(db.session, user, actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            errors = [str(message) for message in exc.errors.values()]
        else:
            db.session.commit()
            flash(_("%(user)s can no longer log in.", user=user.display_name), "success")
            return redirect(url_for("admin_users.index"))
    elif request.method == "POST":
        errors = [_("The form has expired. Reload the page and try again.")]
    successors = db.session.exec(
        select(User)
        .where(col(User.is_active).is_(True), User.id != user.id, col(User.role).in_([Role.ADMIN, Role.OFFICER]))
        .order_by(col(User.name), col(User.email))
    ).all()
    page = render_template(
        "admin/deactivate.html", user=user, work=work_of(db.session, user), successors=successors, errors=errors
    )
    return page, 400 if errors else 200


@bp.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@role_required(Role.ADMIN)
def reactivate(user_id: int) -> Any:
    user = _user(user_id)
    reactivate_user(db.session, user, actor=current_user)
    db.session.commit()
    flash(_("%(user)s can log in again.", user=user.display_name), "success")
    return redirect(url_for("admin_users.index"))


@bp.route("/admin/users/<int:user_id>/reset-password", methods=["POST"])
@role_required(Role.ADMIN)
def reset_password(user_id: int) -> Any:
    """The old password stops working at once; the user sets a new one from the link."""
    user = _user(user_id)
    set_user_password(db.session, user, unusable_password(), actor=current_user)
    request_password_link(db.session, user, PasswordLinkReason.RESET, actor=current_user)
    db.session.commit()
    return render_template("admin/link.html", user=user, link=set_password_url(user), invited=False)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def set_password(token: str) -> Any:
    user = user_for_token(db.session, token)
    if user is None:
        return render_template("admin/link_invalid.html"), 404
    form = SetPasswordForm()
    if request.method == "GET":
        return render_template("admin/set_password.html", form=form, user=user)
    if form.validate():
        if (form.password.data or "") != (form.confirm.data or ""):
            form.confirm.errors = [_("The two passwords differ.")]
        else:
            saved = save_form(
                form,
                lambda: set_user_password(db.session, user, form.password.data or "", actor=user),
                _("Your password is set. You can log in now."),
            )
            if saved:
                return redirect(url_for("accounts.login"))
    return render_template("admin/set_password.html", form=form, user=user), 400
