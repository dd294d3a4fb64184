"""The dashboard page: each chart's numbers go to the page once, as JSON for Chart.js and
as an accessible table below the chart."""

from __future__ import annotations

from typing import Any

from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import Blueprint, render_template
from flask_babel import get_timezone
from flask_login import current_user, login_required

from crm.core.db import db
from crm.core.i18n import FORMAT_LOCALES, current_language, text_direction
from crm.core.i18n import gettext as _
from crm.dashboard.queries import dashboard
from crm.leads.labels import stage_label

bp = Blueprint("dashboard", __name__)


def chart_data(figures: dict[str, Any]) -> dict[str, Any]:
    """What dashboard.js draws: labels already in the viewer's language."""
    locale = FORMAT_LOCALES[current_language()]
    stages = figures["stages"]
    weeks = figures["movements"].weeks
    stage_labels = [stage_label(s.stage) for s in stages]
    return {
        "locale": locale.replace("_", "-"),
        # The tables' separators (Babel's CLDR), so that the charts' numbers read the same
        # whatever locale data the browser has.
        "numbers": {"group": get_group_symbol(locale), "decimal": get_decimal_symbol(locale)},
        "rtl": text_direction() == "rtl",
        "charts": {
            "pipeline": {
                "type": "bar",
                "horizontal": True,
                "labels": stage_labels,
                "datasets": [{"label": _("Leads"), "data": [s.count for s in stages]}],
            },
            # One chart per currency: never converted, never on one scale, and each chart's
            # stage axis has only one value axis to share the height with.
            "pipeline-value": {
                "type": "bar",
                "horizontal": True,
                "labels": stage_labels,
                "datasets": [{"label": _("Value in MAD"), "data": [float(s.value_mad) for s in stages]}],
            },
            "pipeline-value-usd": {
                "type": "bar",
                "horizontal": True,
                "labels": stage_labels,
                "datasets": [{"label": _("Value in USD"), "data": [float(s.value_usd) for s in stages]}],
            },
            "sectors": {
                "type": "bar",
                "labels": [sector.name() if sector else _("No sector") for sector, _n in figures["sectors"]],
                "datasets": [{"label": _("Leads"), "data": [n for _s, n in figures["sectors"]]}],
            },
            "institutions": {
                "type": "bar",
                "labels": [org.short_name() for org, _n in figures["institutions"]],
                "datasets": [{"label": _("Leads"), "data": [n for _o, n in figures["institutions"]]}],
            },
            "overdue": {
                "type": "bar",
                "labels": [owner.display_name for owner, _n in figures["overdue"]],
                "datasets": [{"label": _("Overdue follow-ups"), "data": [n for _u, n in figures["overdue"]]}],
            },
            "movements": {
                "type": "bar",
                "stacked": True,
                "labels": [format_date(w.week_start, "d MMM", locale=locale) for w in weeks],
                "datasets": [
                    {"label": _("Moves forward"), "data": [w.advanced for w in weeks]},
                    {"label": _("Other moves"), "data": [w.other for w in weeks]},
                ],
            },
        },
    }


@bp.route("/dashboard")
@login_required
def index() -> Any:
    figures = dashboard(db.session, current_user, str(get_timezone()))
    return render_template("dashboard/index.html", figures=figures, data=chart_data(figures))
