"""A Celery worker application for webhook tests: the production one, plus the test-only
allowance to post to a receiver on 127.0.0.1 (given through ``create_app``, which is the
only way to give it; the environment cannot).

Start it with ``celery -A tests.webhook_worker worker``.
"""

from __future__ import annotations

from crm import create_app

flask_app = create_app({"TESTING": True, "WEBHOOKS_ALLOW_LOOPBACK": True})
celery = flask_app.extensions["celery"]
app = celery
