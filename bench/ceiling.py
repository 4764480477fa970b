"""The HTTP ceiling: a bare Flask app with one route, served like the product (``bench.ceiling:app``)."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok() -> str:
    """Nothing but routing and a response: what gunicorn and Flask cost before the product does anything."""
    return "ok"
