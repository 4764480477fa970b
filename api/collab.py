"""Internal notes and attachments.

Notes carry only their author, text and time: never the ticket's field data,
so they cannot leak a field the reader may not see. An uploaded file is
unlinked until a create or act puts its id in an attachment field (the engine
then claims it for the uploader's ticket); downloads follow the web's rule
(``workflows.tickets.collab.attachment_for``). Files are typed by their content and
checked against the named field's limits, else the default allow-list
(``workflows.storage.uploads``); an upload never claimed is swept after a day.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, request

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.processes import documents as docs
from workflows.storage import uploads
from workflows.storage.models import Attachment, TicketEvent
from workflows.tickets import collab
from workflows.tickets.engine import REQUIRED
from workflows.tickets.errors import Invalid
from workflows.tickets.present import stamp, usernames

from . import bp, error
from .admin_processes import NOTHING_SAVED
from .bodies import body
from .tickets import readable


def note_json(event: TicketEvent, names: dict[int, str]) -> dict:
    return {"id": event.id, "author": names.get(event.actor_id), "text": event.comment,
            "created_at": stamp(event.created_at)}


@bp.get("/tickets/<number>/notes")
def notes(number: str):
    ticket = readable(number)
    rows = list(TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "note")
                .order_by(TicketEvent.id))
    names = usernames({e.actor_id for e in rows})
    return jsonify([note_json(e, names) for e in rows])


@bp.post("/tickets/<number>/notes")
def add_note(number: str):
    """``{text}``; each @username mentioned is CC'd and notified, as on the web."""
    text = body()["text"]
    try:
        event = collab.add_note(g.api_user, number, text)
    except Invalid as error:
        raise Invalid(error.msg, {"text": error.fields.get("note", [REQUIRED])}) from None
    return jsonify(note_json(event, {g.api_user.id: g.api_user.username})), 201


def attachment_json(attachment: Attachment) -> dict:
    return {"id": attachment.key, "filename": attachment.filename, "size": attachment.size,
            "mimetype": attachment.mimetype}


def _field_schema(process: str | None, name: str | None) -> dict | None:
    """The attachment field's schema in the latest published version, when the client names one."""
    if not name and not process:
        return None
    if not (name and process):
        missing = "process" if name else "field"
        raise Invalid(NOTHING_SAVED, {missing: [Msg(N_("Give both process and field, or neither."))]})
    version = docs.get_version(process)
    if version is None:
        raise Invalid(NOTHING_SAVED, {"process": [Msg(N_("No published process %(code)s."), {"code": process})]})
    schema = version.document["schema"]["properties"].get(name)
    if not isinstance(schema, dict) or schema.get("items", {}).get("format") != "attachment":
        raise Invalid(NOTHING_SAVED, {"field": [Msg(N_("Not an attachment field."))]})
    return schema


@bp.post("/attachments")
def upload():
    """Multipart ``file`` (with optional ``process`` and ``field`` to apply that field's limits) -> 201."""
    uploaded = request.files.get("file")
    if uploaded is None or not uploaded.filename:
        raise Invalid(NOTHING_SAVED, {"file": [REQUIRED]})
    schema = _field_schema(request.form.get("process") or None, request.form.get("field") or None)
    with uploads.action():
        attachment = uploads.store(g.api_user, uploaded, schema)
    return jsonify(attachment_json(attachment)), 201


@bp.errorhandler(413)
def too_large(exc):
    """Over MAX_CONTENT_LENGTH: JSON naming the limit, nothing read or stored."""
    limit = uploads.human(current_app.config["MAX_CONTENT_LENGTH"])
    return error(413, "too_large", Msg(N_("The request is larger than %(limit)s: nothing was saved."),
                                        {"limit": limit}))


@bp.get("/attachments/<key>")
def download(key: str):
    """The file, if its ticket is readable and its field visible (or it is the caller's unlinked upload)."""
    return uploads.send(collab.attachment_for(g.api_user, key), current_app.config["UPLOAD_DIR"])

