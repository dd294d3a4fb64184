"""Notifications worded in the reader's language when shown: a sentence of ours with each
user value (a lead's or follow-up's title, a name, an address) in its own ``<bdi>``, so an
English title keeps its full stop inside an Arabic sentence and an Arabic name its place
inside a French one."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from crm.core.i18n import gettext as _
from crm.core.i18n import ngettext
from crm.core.web import bdi
from crm.leads.labels import stage_label
from crm.notifications.models import Notification


def describe(notification: Notification, actors: dict[int, str]) -> Markup:
    # The values are escaped by ``bdi``; the sentence is our own translation.
    return Markup(_sentence(notification, actors))  # noqa: S704


def _sentence(notification: Notification, actors: dict[int, str]) -> str:
    p: dict[str, Any] = notification.params
    lead = bdi(p.get("lead_title", ""))
    who = bdi(actors.get(int(p.get("actor_id") or 0), _("Someone")))
    kind = notification.kind
    days = int(p.get("days", 0) or 0)
    followup = bdi(p.get("followup_title", p.get("title", "")))
    if kind == "reminder.before":
        return ngettext(
            "“%(followup)s” is due in %(num)d day (%(lead)s).",
            "“%(followup)s” is due in %(num)d days (%(lead)s).",
            days,
            followup=followup,
            lead=lead,
        )
    if kind == "reminder.due":
        return _("“%(followup)s” is due today (%(lead)s).", followup=followup, lead=lead)
    if kind == "reminder.overdue":
        return ngettext(
            "“%(followup)s” is %(num)d day overdue (%(lead)s).",
            "“%(followup)s” is %(num)d days overdue (%(lead)s).",
            max(days, 1),
            followup=followup,
            lead=lead,
        )
    if kind == "reminder.escalation":
        return ngettext(
            "Escalation: “%(followup)s” is %(num)d day overdue (%(lead)s).",
            "Escalation: “%(followup)s” is %(num)d days overdue (%(lead)s).",
            max(days, 1),
            followup=followup,
            lead=lead,
        )
    if kind == "lead.stage_changed":
        return _(
            "%(who)s moved “%(lead)s” from %(old)s to %(new)s.",
            who=who,
            lead=lead,
            old=stage_label(p.get("from")),
            new=stage_label(p.get("to")),
        )
    if kind == "lead.updated":
        return _("%(who)s updated “%(lead)s”.", who=who, lead=lead)
    if kind == "activity.logged":
        return _("%(who)s logged an activity on “%(lead)s”.", who=who, lead=lead)
    if kind in ("followup.scheduled", "followup.rescheduled"):
        return _("%(who)s scheduled “%(followup)s” on “%(lead)s”.", who=who, followup=followup, lead=lead)
    if kind == "followup.done":
        return _("%(who)s completed a follow-up on “%(lead)s”.", who=who, lead=lead)
    if kind == "followup.cancelled":
        return _("%(who)s cancelled a follow-up on “%(lead)s”.", who=who, lead=lead)
    if kind == "lead.watcher_added":
        return _("%(who)s added you as a watcher of “%(lead)s”.", who=who, lead=lead)
    if kind == "lead.checkin_contradicts":
        from crm.checkins.outcomes import outcome_label

        return _(
            "A check-in answer about “%(lead)s” says “%(answer)s”, but the lead is at %(stage)s.",
            lead=lead,
            answer=outcome_label(p.get("outcome")),
            stage=stage_label(p.get("stage")),
        )
    if kind == "lead.deleted":
        return _("%(who)s deleted the lead “%(lead)s”.", who=who, lead=lead)
    if kind == "webhook.endpoint_disabled":
        return _(
            "Jisr disabled the webhook endpoint %(url)s after repeated failed deliveries.",
            url=bdi(p.get("url", "")),
        )
    return _("“%(lead)s” changed.", lead=lead)
