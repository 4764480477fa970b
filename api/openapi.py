"""The OpenAPI 3.1 document of ``/api/v1``, served without a token at ``/api/v1/openapi.json``.

One source for the machine-readable contract, the ``/api/docs`` page and the
tests that hold real responses against it (``tests/test_openapi.py`` and
schemathesis). A route added to the blueprint without an entry in
``openapi_paths`` fails those tests, so the document cannot fall behind.
"""

from __future__ import annotations

import copy

from flask import jsonify

from . import PUBLIC, bp
from .openapi_kb import KB_PATHS, KB_SCHEMAS
from .openapi_kb import TAG as KB_TAG
from .openapi_paths import ERROR_RESPONSES, PATHS
from .openapi_schemas import SCHEMAS, ref

TAGS = [
    ("Auth", "Tokens and this document."),
    ("Processes", "Published process documents."),
    ("Process administration", "Drafts, checks, publishing and versions; administrators only."),
    ("Dictionaries", "Option lists (字典) that fields draw their values from."),
    ("Calendars", "Working-time calendars (工作日历) that SLAs and timeouts count in."),
    ("Tickets", "Create, read, list and act on tickets."),
    ("Notes and attachments", "Internal notes and files."),
    ("Customers", "Callers and their ticket history."),
    ("Notifications", "The caller's own inbox."),
    KB_TAG,
]
DESCRIPTION = (
    "The REST API of Liuzhuan (流转). Authenticate with `Authorization: Bearer TOKEN` (from `POST /auth/token` "
    "or the workspace profile). Errors are `{error, message, fields?}`; a failed request changes nothing.")


def document() -> dict:
    """A fresh copy each time, so a caller (the docs page, a test) may not alter the served one."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "Liuzhuan API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "security": [{"bearer": []}],
        "paths": {**PATHS, **KB_PATHS},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API token: `Authorization: Bearer TOKEN`."}},
            "schemas": {**SCHEMAS, **KB_SCHEMAS},
            "responses": {name: {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                          for name, text in ERROR_RESPONSES.values()},
        },
    })


PUBLIC.add("api.openapi")


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
