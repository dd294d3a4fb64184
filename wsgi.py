"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``."""

import sys

from crm import create_app
from crm.config import ConfigError
from crm.core.time import StaleTimeZoneData

try:
    app = create_app()
except (ConfigError, StaleTimeZoneData) as exc:
    print(f"jisr: {exc}", file=sys.stderr)
    sys.exit(2)
