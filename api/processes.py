"""Tokens and published processes."""

from __future__ import annotations

from flask import jsonify

from formbuilder import Msg
from formbuilder.messages import N_
from web.auth import verify
from workflows.people.login import LoginLocked
from workflows.people.org import issue_token
from workflows.processes import documents as docs
from workflows.storage.models import Process
from workflows.tickets.errors import NotFound

from . import bp, error
from .bodies import body


@bp.post("/auth/token")
def token():
    payload = body()
    try:  # counted like a browser login: the same lockout per username and address
        user = verify(payload["username"], payload["password"])
    except LoginLocked as locked:
        response, status = error(429, "locked", locked.msg)
        response.headers["Retry-After"] = str(locked.retry_after)
        return response, status
    if user is None:
        return error(401, "unauthorized", Msg(N_("Wrong username or password.")))
    return jsonify(token=issue_token(user, "api")), 201


@bp.get("/processes")
def processes():
    rows = Process.select().where(Process.latest_version > 0).order_by(Process.code)
    return jsonify([{"code": p.code, "name": p.name, "version": p.latest_version} for p in rows])


@bp.get("/processes/<code>")
def process(code: str):
    version = docs.get_version(code)
    if version is None:
        raise NotFound(Msg(N_("No published process %(code)s."), {"code": code}))
    return jsonify(version.document)
