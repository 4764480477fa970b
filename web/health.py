"""``/healthz``: 200 when the database answers, for load balancers."""

from __future__ import annotations

from flask import Blueprint, jsonify
from peewee import PeeweeException

from workflows.db import database

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        database.execute_sql("SELECT 1").fetchone()
    except PeeweeException as error:
        return jsonify(status="error", error=type(error).__name__), 503
    return jsonify(status="ok")
