"""Today: the page an officer lands on, with their follow-ups due and what changed lately
on the leads they own or watch, and the count of follow-ups due in the navigation."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from crm.today.views import bp, nav_counts

    app.register_blueprint(bp)
    app.context_processor(nav_counts)
    app.extensions["jisr.home"] = "today.index"  # where "/" and a login land
