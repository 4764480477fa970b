"""``/healthz`` for load balancers: 200 when the database answers, else 503.

No login, no session, no details: the reason (host, port, driver message)
goes to the log, never to whoever asks.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from peewee import PeeweeException

from workflows.storage.db import database

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        database.execute_sql("SELECT 1").fetchone()
    except PeeweeException:
        current_app.logger.warning("healthz: the database is unreachable", exc_info=True)
        response = jsonify(status="error", database="unreachable")
        response.status_code = 503
    else:
        response = jsonify(status="ok", database="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
