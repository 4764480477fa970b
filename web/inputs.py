"""Input every request must pass before any view: no NUL characters anywhere.

PostgreSQL text cannot hold NUL (0x00), so a NUL reaching a query is a 500
there and silently kept on SQLite; no field of ours has a use for one. One
check at the door keeps both databases alike and every view simpler.
"""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext


def _strings(value, name: str):
    """(field name, text) for every string in a JSON value, named by its top-level key."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, name or str(key))
            yield from _strings(item, name or str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, name)


def _inputs():
    yield "path", request.path
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            key = key or ""  # werkzeug names a multipart part sent without a name None
            yield key, key
            yield key, value
    for key, upload in request.files.items(multi=True):
        yield key, upload.filename or ""
    if request.is_json:
        yield from _strings(request.get_json(silent=True), "")


def refuse_nul():
    """400 naming the field that holds a NUL character; JSON under the API."""
    name = next((name for name, text in _inputs() if "\x00" in text), None)
    if name is None:
        return None
    message = gettext("%(field)s: NUL characters are not allowed.", field=name or "body")
    if request.path.startswith("/api/"):
        body = {"error": "bad_request", "message": message, "fields": {name or "body": [message]}}
        return jsonify(body), 400
    return message, 400, {"Content-Type": "text/plain; charset=utf-8"}
