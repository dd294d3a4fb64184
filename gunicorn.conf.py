"""Gunicorn reads this file from the working folder before it starts.

Jisr's settings and servers are checked here, in gunicorn's master process and before
it logs anything: a bad setting or a database that does not answer stops gunicorn with
one line and exit code 2, instead of workers that fail to boot one after another.
"""

from crm.core.preflight import check_at_start, one_line_on_bad_setup

with one_line_on_bad_setup():
    check_at_start()
