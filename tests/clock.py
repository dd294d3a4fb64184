"""``python -m tests.clock INSTANT MODULE ARGS…``: run a module (a Celery worker, say) in a
real process whose clock starts at ``INSTANT`` (ISO 8601, UTC) and ticks from there.

Schedules are resolved from the wall clock, so a worker started "on Monday at 08:01 in
Casablanca" runs the digest schedule exactly as it would then, whatever today is.
"""

from __future__ import annotations

import runpy
import sys
from datetime import datetime

import time_machine

if __name__ == "__main__":
    instant, module, *arguments = sys.argv[1:]
    time_machine.travel(datetime.fromisoformat(instant), tick=True).start()
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
