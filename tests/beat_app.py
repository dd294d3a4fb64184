"""The worker/beat Celery application with one quick periodic job, for the tests that
start two beats and count who sends."""

from __future__ import annotations

from workers.celery_app import app, celery, flask_app

celery.conf.beat_schedule = {"test-tick": {"task": "crm.core.beat_tick", "schedule": 0.25}}

__all__ = ["app", "celery", "flask_app"]
