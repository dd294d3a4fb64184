"""API token pages: a user makes and revokes their own tokens on the settings page; the
administrators see and revoke everyone's.  A new token is shown once, on the page that
answers its creation (never stored in the session: the cookie is signed, not secret)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from crm.accounts.auth import role_required
from crm.accounts.models import Role, User
from crm.api.models import ApiToken, TokenScope
from crm.api.operations import create_api_token, revoke_api_token
from crm.api.tokens import TokenRow, token_rows
from crm.core.db import db
from crm.core.errors import ValidationError
from crm.core.forms import apply_errors, options
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.core.time import utcnow

bp = Blueprint("api_tokens", __name__)

SCOPE_LABELS = {TokenScope.READ: _l("Read"), TokenScope.WRITE: _l("Read and write")}
EXPIRY_CHOICES = options(
    [
        ("30", _l("In 30 days")),
        ("90", _l("In 90 days")),
        ("365", _l("In a year")),
        ("never", _l("Never")),
    ]
)


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        description=_l("What the token is for, e.g. “Ministry CRM sync”."),
        validators=[DataRequired(), Length(max=100)],
    )
    scope = SelectField(_l("Access"), choices=[], validate_choice=False)
    expires_in = SelectField(_l("Expires"), choices=EXPIRY_CHOICES, default="90")


def token_form(user: User) -> TokenForm:
    submitted = request.method == "POST" and request.endpoint == "api_tokens.create"
    form = TokenForm(prefix="token", formdata=request.form if submitted else None)
    scopes = [TokenScope.READ, TokenScope.WRITE] if user.can_edit() else [TokenScope.READ]
    form.scope.choices = options((s.value, str(SCOPE_LABELS[s])) for s in scopes)
    return form


def _tokens_of(user: User) -> list[TokenRow]:
    return token_rows(db.session, user)


@bp.route("/settings/api-tokens", methods=["POST"])
@login_required
def create() -> Any:
    form = token_form(current_user)
    if form.validate_on_submit():
        days = form.expires_in.data
        expires_at = utcnow() + timedelta(days=int(days)) if days and days.isdecimal() and len(days) < 5 else None
        try:
            token, secret = create_api_token(
                db.session,
                current_user,
                name=form.name.data or "",
                scope=form.scope.data or "",
                expires_at=expires_at,
                actor=current_user,
            )
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            response = render_template("api/token_created.html", token=token, secret=secret)
            return response, 200, {"Cache-Control": "no-store"}
    return render_template("api/new_token.html", form=form), 400


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default


@bp.route("/settings/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int) -> Any:
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != current_user.id and current_user.role != Role.ADMIN):
        abort(404)
    if revoke_api_token(db.session, token, actor=current_user):
        db.session.commit()
        flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(_back(url_for("accounts.settings") + "#api-tokens"))


@bp.route("/admin/api-tokens")
@role_required(Role.ADMIN)
def admin_index() -> Any:
    return render_template("api/admin_tokens.html", rows=token_rows(db.session))


def init_templates(app: Flask) -> None:
    app.jinja_env.globals.update(
        api_tokens_of=_tokens_of,
        api_token_form=token_form,
        api_scope_label=lambda scope: str(SCOPE_LABELS[TokenScope(scope)]),
        api_now=utcnow,
    )
