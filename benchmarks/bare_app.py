"""The baseline for ``throughput.py``: a Flask app with one endpoint that returns a short text.

    gunicorn --workers 2 --pythonpath benchmarks bare_app:app

Served by the same gunicorn with the same settings as the app, it measures what any Flask
request costs on this machine (the server, the WSGI call, routing, a response) and nothing
else, so the app's pages can be given as a fraction of it.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello from a bare Flask endpoint."
