"""The post-mission report: a page and a PDF, in the language the reader picks.

The report's language is its own (``?lang=ar|fr|en``, else the reader's): it is written for
whoever the Commercial Service sends it to, so the page keeps the reader's menus and shows
the report inside them in the chosen language and direction, and the PDF is wholly in it.
Both show the same figures, counted as the reader may see them (crm.reports.queries)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import force_locale
from flask_login import current_user, login_required
from markupsafe import Markup

from crm.checkins.outcomes import outcome_label
from crm.core.db import db
from crm.core.i18n import LANGUAGES, current_language, gettext, text_direction
from crm.core.pdf import pdf_response, render_pdf
from crm.leads.labels import partnership_type_label, stage_label
from crm.missions.models import Mission
from crm.reports.charts import bar
from crm.reports.queries import Leg, MissionReport, mission_report

bp = Blueprint("reports", __name__)


def _mission(mission_id: int) -> Mission:
    mission = db.session.get(Mission, mission_id)
    if mission is None:
        abort(404)
    return mission


def report_language() -> str:
    """The language asked for in the address, else the reader's own."""
    chosen = request.args.get("lang")
    return chosen if chosen in LANGUAGES else current_language()


def _report(mission_id: int) -> MissionReport:
    return mission_report(db.session, current_user, _mission(mission_id))


@bp.route("/missions/<int:mission_id>/report")
@login_required
def mission(mission_id: int) -> Any:
    report = _report(mission_id)
    language = report_language()
    with force_locale(language):
        body = render_template("reports/_mission.html", report=report)
    return render_template(
        "reports/mission.html",
        report=report,
        body=Markup(body),  # noqa: S704 - a template's output, escaped by Jinja
        report_lang=language,
        report_dir=text_direction(language),
    )


@bp.route("/missions/<int:mission_id>/report.pdf")
@login_required
def mission_pdf(mission_id: int) -> Any:
    report = _report(mission_id)
    with force_locale(report_language()):
        data = render_pdf("pdf/mission_report.html", report=report)
        filename = gettext("Mission report – %(name)s", name=report.mission.local_name()) + ".pdf"
    return pdf_response(data, filename)


@bp.app_template_global()
def report_bar(value: int | Decimal, values: Iterable[int | Decimal]) -> Markup:
    """The bar of ``value`` among ``values`` (the longest is the largest), in the current
    direction."""
    return bar(value, max(values, default=0), text_direction())


@bp.app_template_global()
def report_rows(report: MissionReport) -> dict[str, list[tuple[str, int]]]:
    """Each chart's (label, count) rows, labelled in the current language."""
    keeping = report.followups
    return {
        "sectors": [(sector.name() if sector else gettext("No sector"), n) for sector, n in report.leads.by_sector],
        "types": [(partnership_type_label(kind), n) for kind, n in report.leads.by_type],
        "stages": [(stage_label(stage), n) for stage, n in report.leads.by_stage],
        "followups": [
            (gettext("Done by the deadline"), keeping.done_on_time),
            (gettext("Done after the deadline"), keeping.done_late),
            (gettext("Open and overdue"), keeping.open_overdue),
            (gettext("Open, not yet due"), keeping.open_pending),
        ],
        "outcomes": [(outcome_label(outcome), n) for outcome, n in report.outcomes],
    }


@bp.app_template_global()
def leg_days(leg: Leg) -> tuple[Any, Any]:
    """The leg's first and last day (for the meetings on no leg, their own days)."""
    return leg.starts_on, leg.ends_on
