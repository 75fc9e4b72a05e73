"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""

import gc

from app import create_app

app = create_app()
# What the app built lives as long as the process: keep it out of the collector's
# full passes, which otherwise walk it again and again under load (issue 10).
gc.freeze()
