"""Working-time calendars (工作日历): everyone with a token reads them; admins replace a whole document.

The contract imports and exports calendars like dictionaries, so this mirrors
``api/dictionaries.py``: the list, one document, and a PUT of the whole document.
Writes go through ``workflows.calendars.store.save_calendar``, the admin's and the
CLI's one path: checked whole (422, every problem at its JSON pointer), stored with
its audit entry in one transaction under the token's user; an identical document
changes nothing.
"""

from __future__ import annotations

from flask import g, jsonify

from formbuilder import Msg, Problem
from formbuilder.calendars import check_calendar
from formbuilder.messages import N_
from workflows.calendars import store
from workflows.processes.documents import DocumentError
from workflows.storage.models import Calendar

from . import bp
from .admin_processes import admin_only, by_code, refused
from .bodies import json_object


def summary(row: Calendar) -> dict:
    """What the list shows, as the admin's list does: with the years ``holidays: "cn"`` cannot cover."""
    document = row.document if isinstance(row.document, dict) else {}
    return {"code": row.code, "name": row.name, "revision": row.revision,
            "timezone": document.get("timezone"), "holidays": document.get("holidays"),
            "unknown_years": store.unknown_years(document)}


def stored(code: str) -> Calendar:
    return by_code(Calendar, code, N_("No calendar %(code)s."))


def code_problem(code: str, document: object) -> list[Problem]:
    """The URL names the calendar: a document for another code would silently write elsewhere."""
    if isinstance(document, dict) and document.get("code") == code:
        return []
    return [Problem("/code", Msg(N_("the code must stay '%(code)s'"), {"code": code}))]


@bp.get("/calendars")
def calendars():
    return jsonify([summary(row) for row in store.rows()])


@bp.get("/calendars/<code>")
def calendar(code: str):
    return jsonify(stored(code).document)


@bp.put("/calendars/<code>")
def put_calendar(code: str):
    """Create or replace; 201 when created, 200 otherwise (``changed`` false when it was identical)."""
    admin_only()
    document = json_object()  # its schema is the calendar meta-schema, which check_calendar applies (422 by pointer)
    problems = check_calendar(document)
    problems += [p for p in code_problem(code, document) if p not in problems]
    if problems:
        raise refused(problems)
    before = store.get(code)
    action = "calendar.save" if before is not None else "calendar.create"
    try:  # checked again, stored and audited in one transaction
        row = store.save_calendar(document, g.api_user, action)
    except DocumentError as error:
        raise refused(error.problems) from None
    changed = before is None or row.revision != before.revision
    return jsonify({**summary(row), "changed": changed}), 200 if before is not None else 201
