"""Input every request must pass before any view: standard JSON, no NUL characters anywhere.

PostgreSQL text cannot hold NUL (0x00), so a NUL reaching a query is a 500
there and silently kept on SQLite; no field of ours has a use for one. Python's
``json`` takes what JSON (RFC 8259) does not (``formbuilder.strictjson``
says what); :class:`StrictRequest` makes ``request.get_json()`` refuse it,
and :func:`refuse_nul` answers 400 naming the problem before any view runs.
One check at the door keeps both databases alike and every view simpler.
"""

from __future__ import annotations

from flask import Request, jsonify, request
from flask import json as flask_json
from flask_babel import gettext
from werkzeug.exceptions import BadRequest
from wtforms import DateField

from formbuilder import Msg, strictjson
from formbuilder.fieldtypes import DATE_MESSAGES, YEARS
from formbuilder.strictjson import NotStandardJSON


class _StrictJSON:
    """The ``json_module`` of :class:`StrictRequest`: strict reading (``formbuilder.strictjson``), Flask's writing."""

    loads = staticmethod(strictjson.loads)
    dumps = staticmethod(flask_json.dumps)


class NotStandardBody(BadRequest):
    """The 400 of ``get_json()`` for a body that is JSON to Python only; ``msg`` says why."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


class StrictRequest(Request):
    """The app's request class: ``get_json()`` reads standard JSON only."""

    @property
    def json_module(self):
        return _StrictJSON

    @json_module.setter
    def json_module(self, provider) -> None:
        """Flask sets the app's provider on each request; reading stays strict (and still goes through it)."""

    def on_json_loading_failed(self, e: ValueError | None):
        if isinstance(e, NotStandardJSON):
            raise NotStandardBody(e.msg) from e
        return super().on_json_loading_failed(e)


def _json_problem() -> Msg | None:
    """What makes a JSON body non-standard; None for standard (or merely malformed: the view says so)."""
    if not request.is_json:
        return None
    try:
        request.get_json()
    except NotStandardBody as error:
        return error.msg
    except BadRequest:
        return None
    return None


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


def _refuse(name: str, message: str):
    """400 naming ``name``; JSON under the API, plain text elsewhere."""
    if request.path.startswith("/api/"):
        body = {"error": "bad_request", "message": message, "fields": {name: [message]}}
        return jsonify(body), 400
    return message, 400, {"Content-Type": "text/plain; charset=utf-8"}


def refuse_nul():
    """400 for a non-standard JSON body, or naming the field that holds a NUL character."""
    problem = _json_problem()
    if problem is not None:
        return _refuse("body", gettext("Request body: %(problem)s", problem=problem.render(gettext)))
    name = next((name for name, text in _inputs() if "\x00" in text), None)
    if name is None:
        return None
    return _refuse(name or "body", gettext("%(field)s: NUL characters are not allowed.", field=name or "body"))


class DayField(DateField):
    """The one parser of date query parameters (list filters, report ranges, their exports).

    A date outside the years fields may hold (``formbuilder.fieldtypes.YEARS``) is
    refused like one that does not parse: a day or two past year 9999 is an
    OverflowError, and no ticket predates 1900 anyway. The form shows the
    message at its field and leaves the criterion out.
    """

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not YEARS[0] <= self.data.year <= YEARS[1]:
            self.data = None
            raise ValueError(gettext(DATE_MESSAGES["date"]))


def date_errors(form, *names: str) -> str | None:
    """"name: message" of the first of the form's date fields that is wrong, for answers that cannot show it."""
    for name in names:
        if form[name].errors:
            return f"{name}: {form[name].errors[0]}"
    return None
