"""The pipeline board: one column per stage; a card moves by drag and drop or by the
"move to" form.  The board carries that form once (a ``<template>``), not once per card:
each card has a "Move to…" link, which pipeline.js opens the form under, and which
without JavaScript leads to the lead's own move page with the same form.

Each column shows its newest cards first (``BOARD_CARDS``); its "show more" brings the next
ones (``/pipeline/more``, a keyset on the cards' update time and id).

On a phone the board shows one column at a time: ``?column=<stage>`` names it (a plain
link, so the stage switcher works without JavaScript too); ``stage`` stays a filter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.core.db import db
from crm.core.errors import ValidationError
from crm.core.i18n import gettext as _
from crm.core.time import utcnow
from crm.core.web import id_url
from crm.leads.access import is_htmx, lead_or_404, require_writer
from crm.leads.cards import BOARD_STAGES, BoardColumn, board_columns, parse_card_key
from crm.leads.choices import filter_choices
from crm.leads.filters import LeadFilter, args_from_query, parse_filter
from crm.leads.forms import StageForm
from crm.leads.models import Stage
from crm.leads.operations import move_lead_to_stage
from crm.pipeline.queries import board_totals

bp = Blueprint("pipeline", __name__)
# Cards per column on the board; "show more" brings the next ones.  Ten fill a desk's
# screen: a page of eight columns of twenty spent half its time on cards nobody scrolled to.
BOARD_CARDS = 10


def _is_stage(value: str | None) -> bool:
    return value in {stage.value for stage in Stage}


def shown_column(columns: list[BoardColumn], lead_filter: LeadFilter, asked: str | None) -> str:
    """The stage whose column a phone shows: the one asked for, else the filtered stage,
    else the first column with leads (else the first column)."""
    values = [column.stage.value for column in columns]
    filtered = [stage.value for stage in lead_filter.stages if stage.value in values]
    if asked in values and (not filtered or asked in filtered):
        return str(asked)
    if filtered:
        return filtered[0]
    return next((column.stage.value for column in columns if column.total), values[0])


@dataclass(frozen=True)
class CardParts:
    """What every card of a page shares: its two links' addresses and its words."""

    lead_url: Callable[[int], str]
    move_url: Callable[[int], str]
    due_label: str
    overdue: str
    move: str


def card_parts(query: str, shown: str) -> CardParts:
    return CardParts(
        lead_url=id_url("lead.show", "lead_id"),
        move_url=id_url("pipeline.move_page", "lead_id", filters=query or None, column=shown),
        due_label=_("Next follow-up"),
        overdue=_("Overdue"),
        move=_("Move to…"),
    )


def _render(
    lead_filter: LeadFilter, *, fragment: bool, status: int = 200, error: Any = None, column: str | None = None
) -> Any:
    totals = board_totals(db.session, current_user, lead_filter=lead_filter)
    counts = {stage: totals.of(stage).count for stage in BOARD_STAGES}
    columns = board_columns(db.session, current_user, lead_filter=lead_filter, per_column=BOARD_CARDS, counts=counts)
    query = lead_filter.query_string()
    shown = shown_column(columns, lead_filter, column)
    context = {
        "columns": columns,
        "filter": lead_filter,
        "query": query,
        "shown": shown,
        "parts": card_parts(query, shown),
        "error": error,
        "now": utcnow(),
        "totals": totals,
    }
    if fragment:
        return render_template("leads/_board.html", **context), status
    return render_template("leads/board.html", options=filter_choices(db.session), **context), status


@bp.route("/pipeline")
@login_required
def board() -> Any:
    return _render(parse_filter(request.args, current_user), fragment=is_htmx(), column=request.args.get("column"))


@bp.route("/pipeline/more")
@login_required
def more() -> Any:
    """The next cards of one column (``more=<stage>``) after the keyset ``after``: with
    htmx appended to the column, without JavaScript a page of their own."""
    lead_filter = parse_filter(request.args, current_user)
    asked = request.args.get("more")
    stage = Stage(asked) if asked and _is_stage(asked) else BOARD_STAGES[0]
    after = parse_card_key(request.args.get("after"))
    column = board_columns(
        db.session, current_user, lead_filter=lead_filter, per_column=BOARD_CARDS, stage=stage, after=after
    )[0]
    query = lead_filter.query_string()
    context = {
        "column": column,
        "query": query,
        "shown": stage.value,
        "now": utcnow(),
        "parts": card_parts(query, stage.value),
    }
    if is_htmx():
        return render_template("leads/_board_more_cards.html", **context)
    return render_template("leads/board_more.html", **context)


@bp.route("/pipeline/<int:lead_id>/move", methods=["GET"])
@login_required
def move_page(lead_id: int) -> Any:
    """The "move to" form of one lead, for a board without JavaScript: it comes back to the
    board with the same filters and shown column."""
    require_writer()
    lead = lead_or_404(lead_id)
    lead_filter = parse_filter(args_from_query(request.args.get("filters", "")), current_user)
    query = lead_filter.query_string()
    column = request.args.get("column") if _is_stage(request.args.get("column")) else None
    back = url_for("pipeline.board") + "?" + "&".join(p for p in (query, f"column={column}" if column else "") if p)
    return render_template(
        "leads/move.html",
        lead=lead,
        query=query,
        column=column,
        back=back.rstrip("?") + f"#card-{lead.id}",
    )


@bp.route("/pipeline/<int:lead_id>/move", methods=["POST"])
@login_required
def move(lead_id: int) -> Any:
    require_writer()
    lead = lead_or_404(lead_id)
    query = request.form.get("filters", "")
    lead_filter = parse_filter(args_from_query(query), current_user)
    # The column a phone showed stays in view after the move (htmx sends it with the form).
    column = request.form.get("column")
    form = StageForm()
    if not form.validate_on_submit():
        return _render(lead_filter, fragment=is_htmx(), status=400, error=form.stage.errors[0], column=column)
    try:
        move_lead_to_stage(db.session, lead, form.stage.data or "", actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        error = next(iter(exc.errors.values()))
        return _render(lead_filter, fragment=is_htmx(), status=400, error=error, column=column)
    db.session.commit()
    if is_htmx():
        return _render(lead_filter, fragment=True, column=column)
    canonical = "&".join(p for p in (lead_filter.query_string(), f"column={column}" if _is_stage(column) else "") if p)
    return redirect(url_for("pipeline.board") + (f"?{canonical}" if canonical else "") + f"#card-{lead.id}")
