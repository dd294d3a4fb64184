"""What a worker process loads when it starts: the application and its tasks, but not the
libraries only some tasks need (each held resident by every worker process that loads it):
WeasyPrint (a PDF), imapclient (polling a mailbox), openpyxl (reading a workbook)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOADED_LATER = ("weasyprint", "imapclient", "openpyxl")


def test_a_worker_starts_without_the_libraries_of_occasional_tasks(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MAIL_URL")}
    environment.update(JISR_INSTANCE_PATH=str(tmp_path), WORKER_METRICS_PORT="")
    code = (
        "import sys, workers.celery_app; "
        f"print(','.join(m for m in {LOADED_LATER!r} if m in sys.modules) or '-'); "
        "import crm.exchange.reading, crm.exchange.writing; "
        f"print(','.join(m for m in {LOADED_LATER!r} if m in sys.modules) or '-')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["-", "-"]
