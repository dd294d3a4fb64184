"""The one table of periodic jobs.  Beat runs in UTC; jobs are idempotent."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "beat-heartbeat": {"task": "crm.core.beat_tick", "schedule": 30.0},
    "purge-embedded-broker": {"task": "crm.core.purge_embedded_broker", "schedule": 3600.0},
}
