"""The notification bell and the list behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlmodel import col, func, select

from crm.accounts.models import User
from crm.core.db import db
from crm.core.time import to_local, utcnow
from crm.notifications.models import Notification
from crm.notifications.wording import describe

bp = Blueprint("notifications", __name__)


@dataclass
class LeadGroup:
    """The notifications of one day about one lead (or one about no lead), newest first."""

    lead_id: int | None
    lead_title: str
    rows: list[tuple[Notification, Markup]] = field(default_factory=list)


@dataclass
class Day:
    day: date
    groups: list[LeadGroup] = field(default_factory=list)


def by_day_and_lead(rows: list[tuple[Notification, Markup]], zone_name: str) -> list[Day]:
    """Rows (newest first) grouped by the reader's local day of what they tell, then by lead."""
    days: list[Day] = []
    groups: dict[tuple[date, Any], LeadGroup] = {}
    for notification, text in rows:
        day = to_local(notification.occurred_at, zone_name).date()
        if not days or days[-1].day != day:
            days.append(Day(day))
        key = (day, notification.lead_id if notification.lead_id is not None else f"n{notification.id}")
        if key not in groups:
            groups[key] = LeadGroup(notification.lead_id, str(notification.params.get("lead_title", "")))
            days[-1].groups.append(groups[key])
        groups[key].rows.append((notification, text))
    return days


@bp.route("/notifications")
@login_required
def index() -> Any:
    items = db.session.exec(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(col(Notification.occurred_at).desc(), col(Notification.id).desc())
        .limit(100)
    ).all()
    actor_ids = {int(n.params.get("actor_id") or 0) for n in items} - {0}
    actors = (
        {u.id: u.display_name for u in db.session.exec(select(User).where(col(User.id).in_(actor_ids))).all()}
        if actor_ids
        else {}
    )
    rows = [(n, describe(n, actors)) for n in items]  # type: ignore[arg-type]
    return render_template("notifications/index.html", rows=rows, days=by_day_and_lead(rows, current_user.timezone))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read() -> Any:
    # Notifications are not domain rows: reading them is not an audited change.
    db.session.execute(
        sa.update(Notification)
        .where(col(Notification.user_id) == current_user.id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return redirect(url_for("notifications.index"))


def _unread_count() -> dict[str, Any]:
    if not current_user or not current_user.is_authenticated:
        return {}

    def count() -> int:
        return int(
            db.session.exec(
                select(func.count())
                .select_from(Notification)
                .where(Notification.user_id == current_user.id, col(Notification.read_at).is_(None))
            ).one()
        )

    return {"unread_notifications": count}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(_unread_count)
