"""Small helpers shared by the lead, pipeline and follow-up pages."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from crm.core.db import db
from crm.leads.models import Lead
from crm.leads.queries import visible_lead


def is_htmx() -> bool:
    """Whether htmx asked for a fragment (a plain form post gets a full page or a redirect)."""
    return request.headers.get("HX-Request") == "true"


def require_writer() -> None:
    """Viewers read only: any write answers 403."""
    if not current_user.can_edit():
        abort(403)


def lead_or_404(lead_id: int) -> Lead:
    """The lead if the viewer may see it; a confidential lead is as absent as a missing one."""
    lead = visible_lead(db.session, current_user, lead_id)
    if lead is None:
        abort(404)
    return lead
