"""Dictionaries (字典): everyone with a token reads them; admins replace a whole document.

Writes go through ``workflows.processes.dictedit.save``, the admin tree editor's path, so
an item that tickets hold cannot be dropped (only disabled) and every change
is audited under the token's user.
"""

from __future__ import annotations

from flask import g, jsonify

from formbuilder.messages import N_
from workflows.processes import dictedit
from workflows.processes.documents import DocumentError
from workflows.storage.models import Dictionary

from . import bp
from .admin_processes import admin_only, by_code, refused
from .bodies import json_object


def summary(row: Dictionary) -> dict:
    return {"code": row.code, "name": row.name, "revision": row.revision}


def stored(code: str) -> Dictionary:
    return by_code(Dictionary, code, N_("No dictionary %(code)s."))


@bp.get("/dictionaries")
def dictionaries():
    return jsonify([summary(row) for row in Dictionary.select().order_by(Dictionary.code)])


@bp.get("/dictionaries/<code>")
def dictionary(code: str):
    return jsonify(stored(code).document)


@bp.put("/dictionaries/<code>")
def put_dictionary(code: str):
    """Create or replace; 201 when created, 200 otherwise (``changed`` false when it was identical)."""
    admin_only()
    document = json_object()  # its schema is the meta-schema, which ``dictedit.save`` applies (422 by pointer)
    existed = Dictionary.select().where(Dictionary.code == code).exists()
    try:
        changed = dictedit.save(code, document, g.api_user, "dictionary.save")
    except DocumentError as error:
        raise refused(error.problems) from None
    return jsonify({**summary(stored(code)), "changed": changed}), 200 if existed else 201
