"""WSGI entry point: ``gunicorn wsgi:app`` (the Flask CLI also finds it)."""

from umic import create_app

app = create_app()
