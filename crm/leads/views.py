"""Lead pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from crm.core.db import db
from crm.core.time import utcnow
from crm.leads.queries import lead_page

bp = Blueprint("leads", __name__)


@bp.route("/leads")
@login_required
def index() -> Any:
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
    result = lead_page(db.session, current_user, page=number)
    return render_template("leads/index.html", result=result, now=utcnow())


@bp.app_template_global()
def stage_label(stage: Any) -> str:
    from crm.leads.labels import stage_label as label

    return label(stage)
