"""The search page behind the navbar's search box."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup

from crm.core.db import db
from crm.search.labels import organisation_label
from crm.search.queries import LEAD_COUNT_CAP, search

bp = Blueprint("search", __name__)


@bp.route("/search")
@login_required
def index() -> Any:
    query = (request.args.get("q") or "").strip()[:200]
    results = search(db.session, current_user, query)
    return render_template(
        "search/index.html",
        results=results,
        query=query,
        typed=Markup("<bdi>%s</bdi>") % query,
        organisation_label=organisation_label,
        lead_count_cap=LEAD_COUNT_CAP,
    )
