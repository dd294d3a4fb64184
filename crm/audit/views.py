"""The administrators' activity log page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlmodel import col, select

from crm.accounts.auth import role_required
from crm.accounts.models import Role, User
from crm.audit.labels import type_choices
from crm.audit.queries import audit_page, parse_audit_filter
from crm.core.db import db, parse_id

bp = Blueprint("audit", __name__)


@bp.route("/admin/activity")
@role_required(Role.ADMIN)
def index() -> Any:
    audit_filter = parse_audit_filter(request.args)
    page = audit_page(db.session, audit_filter, zone=current_user.timezone, before=parse_id(request.args.get("before")))
    users = db.session.exec(select(User).order_by(col(User.name), col(User.email))).all()
    return render_template("audit/index.html", page=page, filter=audit_filter, users=users, types=type_choices())
