"""Errors the engine raises, each with the HTTP status the API answers with."""

from __future__ import annotations

from formbuilder import Msg


class EngineError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, msg: Msg, fields: dict[str, list[Msg]] | None = None):
        super().__init__(str(msg))
        self.msg = msg
        self.fields = fields or {}


class Invalid(EngineError):
    status, code = 422, "invalid"


class Forbidden(EngineError):
    status, code = 403, "forbidden"


class NotFound(EngineError):
    status, code = 404, "not_found"


class Conflict(EngineError):
    status, code = 409, "conflict"
