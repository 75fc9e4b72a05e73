"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""

from app import collector, create_app

app = create_app()
collector.tune()
