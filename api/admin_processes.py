"""Process documents for admins: put the draft, check, publish, list and export versions.

The same rules as the admin's JSON page (``admin/versions.py``): the full
static checks before anything is stored, one transaction per change with its
audit entry, and problems located by JSON pointer so a client can show each
one where it belongs.
"""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext

from formbuilder import Msg, Problem
from formbuilder.messages import N_
from workflows.processes import documents as docs
from workflows.storage.models import Dictionary, Process, ProcessVersion
from workflows.tickets.access import is_admin
from workflows.tickets.errors import Forbidden, Invalid, NotFound
from workflows.tickets.present import stamp

from . import bp
from .bodies import json_object

NOTHING_SAVED = Msg(N_("Nothing was saved: see the fields."))


def admin_only() -> None:
    """Documents shape every ticket to come, so only admins change or even export them."""
    if not is_admin(g.api_user):
        raise Forbidden(Msg(N_("Only administrators may do this.")))


def refused(problems: list[Problem]) -> Invalid:
    """A 422 whose ``fields`` are keyed by JSON pointer (``/`` for the whole document)."""
    fields: dict[str, list[Msg]] = {}
    for problem in problems:
        fields.setdefault(problem.path or "/", []).append(problem.msg)
    return Invalid(NOTHING_SAVED, fields)


def listed(problems: list[Problem]) -> list[dict]:
    return [{"path": p.path or "/", "message": p.msg.render(gettext)} for p in problems]


def code_problem(code: str, document: object) -> list[Problem]:
    """The URL names the process: a document for another code would silently write elsewhere."""
    if isinstance(document, dict) and document.get("code") == code:
        return []
    return [Problem("/code", Msg(N_("The code must stay %(code)s; use a new process to change it."),
                                 {"code": code}))]


def by_code(model: type[Process | Dictionary], code: str, missing: str) -> Process | Dictionary:
    """The process or dictionary ``code``; a 404 saying ``missing`` (a msgid of ``code``) when there is none."""
    row = model.get_or_none(model.code == code)
    if row is None:
        raise NotFound(Msg(missing, {"code": code}))
    return row


def stored_process(code: str) -> Process:
    return by_code(Process, code, N_("No process %(code)s."))


@bp.put("/processes/<code>/draft")
def put_draft(code: str):
    admin_only()
    document = json_object()  # its schema is the meta-schema, applied with the static checks (422 by pointer)
    problems = code_problem(code, document)
    if problems:
        raise refused(problems)
    existed = Process.select().where(Process.code == code).exists()
    try:  # checked, stored and audited in one transaction; an unchanged draft records nothing
        saved, _, _ = docs.store_process(document, g.api_user, "process.save")
    except docs.DocumentError as error:
        raise refused(error.problems) from None
    return jsonify(draft_summary(saved)), 200 if existed else 201


def draft_summary(process: Process) -> dict:
    return {"code": process.code, "name": process.name, "latest_version": process.latest_version,
            "draft_updated_at": stamp(process.draft_updated_at)}


@bp.post("/processes/<code>/check")
def check(code: str):
    """Problems of the posted document, or of the stored draft when the body is empty; 200 either way."""
    admin_only()
    if request.get_data():
        document = json_object()
        problems = code_problem(code, document) + docs.check(document)
    else:
        document = stored_process(code).draft
        problems = docs.check(document)
    return jsonify(problems=listed(problems))


@bp.post("/processes/<code>/publish")
def publish(code: str):
    admin_only()
    stored_process(code)
    try:  # publishing an unchanged draft changes nothing and records nothing
        version, changed = docs.publish_audited(code, g.api_user)
    except docs.DocumentError as error:
        raise refused(error.problems) from None
    return jsonify({**version_summary(version), "code": code, "changed": changed})


def version_summary(version: ProcessVersion) -> dict:
    return {"number": version.number, "published_at": stamp(version.published_at),
            "published_by": version.published_by}


@bp.get("/processes/<code>/versions")
def versions(code: str):
    admin_only()
    process = stored_process(code)
    rows = process.versions.order_by(ProcessVersion.number.desc())
    return jsonify([version_summary(v) for v in rows])


@bp.get("/processes/<code>/versions/<int:number>")
def export_version(code: str, number: int):
    admin_only()
    # A number past SQLite's 64-bit INTEGER cannot exist, and the driver would raise OverflowError (a 500).
    version = docs.get_version(code, number) if number < 2**63 else None
    if version is None:
        raise NotFound(Msg(N_("No version %(number)s of process %(code)s."), {"number": number, "code": code}))
    return jsonify(version.document)
