"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``.

Gunicorn checks the settings and the servers before it starts its workers (see
``gunicorn.conf.py``); the administration commands check them before they run.
"""

from crm import create_app
from crm.core.preflight import one_line_on_bad_setup

with one_line_on_bad_setup():
    app = create_app()
