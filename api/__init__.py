"""REST API ``/api/v1``: JSON, bearer tokens, errors as ``{error, message, fields?}``.

Every write goes through ``workflows.tickets.engine``; this package only translates
HTTP to engine calls and engine errors to HTTP.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.people.org import user_for_token
from workflows.tickets.errors import EngineError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC = {"api.token"}


def error(status: int, code: str, msg: Msg, fields: dict | None = None):
    body = {"error": code, "message": msg.render(gettext)}
    if fields:
        body["fields"] = {name: [m.render(gettext) for m in messages] for name, messages in fields.items()}
    return jsonify(body), status


class Malformed(EngineError):
    """The request body is not what the endpoint reads (``api.bodies``: its schema's shape)."""


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    user = user_for_token(header[7:].strip()) if header.startswith("Bearer ") else None
    if user is None:
        return error(401, "unauthorized", Msg(N_("A valid API token is required (Authorization: Bearer TOKEN).")))
    g.api_user = user
    return None


@bp.errorhandler(EngineError)
def engine_error(exc: EngineError):
    return error(exc.status, exc.code, exc.msg, exc.fields)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return error(exc.code or 500, exc.name.lower().replace(" ", "_"), Msg(exc.name))


def routing_error(exc: HTTPException):
    """JSON for unknown paths and methods under /api/v1 too: they match no route, so ``bp`` never sees them."""
    if request.path == bp.url_prefix or request.path.startswith(bp.url_prefix + "/"):
        return http_error(exc)
    return exc  # the app's usual page elsewhere


def init_app(app) -> None:
    from . import (  # noqa: F401 - routes register on import
        admin_processes,
        articles,
        calendars,
        collab,
        customers,
        dictionaries,
        notifications,
        openapi,
        processes,
        tickets,
    )

    app.register_error_handler(404, routing_error)
    app.register_error_handler(405, routing_error)

    app.register_blueprint(bp)
