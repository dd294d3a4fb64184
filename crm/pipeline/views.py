"""The administrators' pipeline settings page (each stage's default probability and the
reference MAD/USD rate), and the template helpers the lead pages show economics with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_percent
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from crm.accounts.auth import role_required
from crm.accounts.models import Role
from crm.core.db import db
from crm.core.forms import save_form
from crm.core.i18n import FORMAT_LOCALES, current_language
from crm.core.i18n import gettext as _
from crm.core.i18n import lazy_gettext as _l
from crm.pipeline.operations import set_reference_rate, set_stage_probabilities
from crm.pipeline.queries import (
    BUILTIN_PROBABILITIES,
    current_rate,
    effective_probability,
    probability_field,
    stage_probabilities,
    weighted_value,
)

bp = Blueprint("pipeline_settings", __name__)


class PipelineForm(FlaskForm):
    mad_per_usd = StringField(
        _l("Reference rate: dirhams for one US dollar"),
        validators=[Length(max=20)],
        description=_l("Leave it empty for no converted totals. Totals converted at this rate are approximate."),
    )


def _form_class() -> type[PipelineForm]:
    class Form(PipelineForm):
        pass

    for stage in BUILTIN_PROBABILITIES:
        setattr(Form, probability_field(stage), StringField(validators=[Length(max=10)]))
    return Form


SettingsForm = _form_class()


@bp.route("/admin/pipeline", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def settings() -> Any:
    form: Any = SettingsForm()
    defaults = stage_probabilities(db.session)
    rate = current_rate(db.session)
    if request.method == "GET":
        for stage, percent in defaults.items():
            getattr(form, probability_field(stage)).data = str(percent)
        form.mad_per_usd.data = str(rate.mad_per_usd.normalize()) if rate and rate.mad_per_usd else ""
    elif form.validate_on_submit():
        wanted = {stage: getattr(form, probability_field(stage)).data for stage in BUILTIN_PROBABILITIES}

        def save() -> None:
            set_stage_probabilities(db.session, wanted, actor=current_user)
            set_reference_rate(db.session, form.mad_per_usd.data, actor=current_user)

        if save_form(form, save, _("The pipeline settings are saved.")):
            return redirect(url_for("pipeline_settings.settings"))
    status = 400 if request.method == "POST" else 200
    stages = [(stage, getattr(form, probability_field(stage))) for stage in BUILTIN_PROBABILITIES]
    return render_template("pipeline/settings.html", form=form, stages=stages, rate=rate), status


@bp.app_template_filter("percent")
def format_probability(value: int | None) -> str:
    if value is None:
        return "—"
    return str(format_percent(Decimal(value) / 100, locale=FORMAT_LOCALES[current_language()]))


@bp.app_template_global()
def lead_economics(lead: Any) -> dict[str, Any]:
    """A lead's effective probability (and whether it is its stage's) and weighted value."""
    defaults = stage_probabilities(db.session)
    return {
        "probability": effective_probability(lead, defaults),
        "weighted": weighted_value(lead, defaults),
    }
