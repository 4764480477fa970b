"""Ticket detail (/tickets/NUMBER): the step form for its handler, actions, timeline, notes, CC, files.

Every POST goes to the engine or to workflows.tickets.collab; this module only turns
forms into calls and errors into pages.
"""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, format_timedelta, gettext
from flask_login import current_user, login_required

from formbuilder.display import display
from formbuilder.tables import is_table
from formbuilder.tabletext import row_changes, table_grid, table_text
from workflows.people import org, roster
from workflows.processes import documents as docs
from workflows.storage import uploads
from workflows.storage.models import Attachment, Ticket, TicketCC, User
from workflows.storage.prepared import Prepared
from workflows.tickets import collab, engine, signing
from workflows.tickets import preview as computing
from workflows.tickets.access import can_read, may_act, unreadable
from workflows.tickets.assignment import Context, offered
from workflows.tickets.errors import Conflict, EngineError, Forbidden, Invalid, NotFound
from workflows.tickets.present import ticket_view

from . import pending as pending_page
from . import signing as countersign
from .common.labels import CHANNELS, PRIORITIES
from .common.submit import preview, submit
from .public import links as customer_links

bp = Blueprint("tickets", __name__)


def me() -> User:
    return current_user.user


def readable(number: str) -> Ticket:
    try:
        ticket = engine.load(number)
    except NotFound:
        abort(404)
    if not can_read(me(), ticket):
        abort(403)
    return ticket


def local(moment) -> str:
    """A stored (naive UTC) time in the user's locale and the local time zone."""
    return format_datetime(moment.replace(tzinfo=UTC), "short") if moment else ""


def local_iso(stamp: str | None) -> str:
    from datetime import datetime

    return local(datetime.fromisoformat(stamp).replace(tzinfo=None)) if stamp else ""


def countdown(due) -> str:
    """Time left (or past) until ``due``, in the user's language: "3 小时后", "2 hours ago"."""
    from workflows.storage.models import utcnow

    return format_timedelta(due - utcnow(), add_direction=True, threshold=1.5)


@bp.app_context_processor
def helpers():
    from formbuilder.diagram import flow_svg
    from formbuilder.diagram_marks import translated
    from workflows.storage.models import utcnow

    return {"local": local, "local_iso": local_iso, "now_utc": utcnow, "countdown": countdown, "flow_svg": flow_svg,
            "flow_words": lambda: translated(gettext)}  # the diagram's own words in the reader's language


def handler_choices(ticket: Ticket, step: dict) -> dict[str, list[User]]:
    """For each transition whose target lets the sender pick, the people to pick from."""
    choices = {}
    for transition in step.get("transitions", []):
        target = next((s for s in ticket.process_version.document["steps"] if s["key"] == transition["to"]), None)
        if target is not None:
            people = offered(target["assignee"], Context(ticket.process_version.document["code"], target,
                                                          ticket.creator, me()))
            if people:
                choices[transition["to"]] = people
    return choices


def field_rows(ticket: Ticket, data: dict, dictionaries, files: dict[str, Attachment]) -> list[dict]:
    """Visible fields in template order, with their display value and files (the ticket's, by key)."""
    properties = ticket.process_version.document["schema"]["properties"]
    names = {key: a.filename for key, a in files.items()}
    return [{"name": name, "label": schema.get("title", name),
             "text": field_text(schema, data[name], dictionaries, names),
             "grid": table_grid(schema, data[name], dictionaries, names) if is_table(schema) else None,
             "files": [files[k] for k in data[name] if k in files] if schema.get("type") == "array"
             and schema.get("items", {}).get("format") == "attachment" else []}
            for name, schema in properties.items() if name in data]


def field_text(schema: dict, value, dictionaries, names: dict[str, str]) -> str:
    """A field's display text; a detail table's attachment cells read as their file names."""
    return table_text(schema, value, dictionaries, names) if is_table(schema) else display(schema, value, dictionaries)


def field_diffs(properties: dict, changes: dict, dictionaries, names: dict[str, str]) -> list[tuple[str, str, str]]:
    """(label, old, new) per changed field in the form's order (not the diff's); a table, one per changed row."""
    diffs = []
    for key in (k for k in properties if k in changes):
        schema, (old, new) = properties[key], changes[key]
        if is_table(schema):
            diffs += row_changes(schema, old, new, dictionaries, key=key, files=names, gettext=gettext)
        else:
            diffs.append((schema.get("title", key), display(schema, old, dictionaries),
                          display(schema, new, dictionaries)))
    return diffs


def timeline(ticket: Ticket, history: list[dict], dictionaries, files: dict[str, Attachment] | None = None
             ) -> list[dict]:
    properties = ticket.process_version.document["schema"]["properties"]
    steps = {s["key"]: s["name"] for s in ticket.process_version.document["steps"]}
    names = {key: a.filename for key, a in (files or {}).items()}
    for event in history:
        event["step_names"] = (steps.get(event["from_step"], event["from_step"]), steps.get(event["to_step"]))
        if event["action"] == "tag":  # no field changes: the tag, and the rule that changed it if any
            event["tag"], event["diffs"] = event["changes"].get("tag") or {}, []
            continue
        event["diffs"] = field_diffs(properties, event["changes"], dictionaries, names)
    return history


_CC = Prepared(lambda ticket_id: User.select().join(TicketCC, on=(TicketCC.user == User.id))
               .where(TicketCC.ticket == ticket_id), int)  # every ticket page: texts built once (issue 24)
_FILES = Prepared(lambda ticket_id: Attachment.select().where(Attachment.ticket == ticket_id), int)


def render(ticket: Ticket, form=None, status: int = 200):
    view = ticket_view(me(), ticket, gettext("Closed"))
    dictionaries = roster.with_people(docs.dictionary_indexes())  # member and department names
    acting = may_act(me(), ticket) and not signing.at_sign_step(ticket)  # a countersign step: web/signing.py
    step = next((s for s in ticket.process_version.document["steps"] if s["key"] == ticket.step), None)
    if acting and form is None:
        compiled = docs.compiled(ticket.process_version, ticket.step)
        form = compiled.form_class(None, data=ticket.data, dictionaries=dictionaries,
                                   unreadable=unreadable(me(), ticket.process_version))
    cc = _CC.rows(ticket.id)
    users = org.active_users()
    files = {a.key: a for a in _FILES.rows(ticket.id)}
    return render_template(
        "tickets/detail.html", ticket=ticket, view=view, step=step, acting=acting, form=form,
        rows=field_rows(ticket, view["data"], dictionaries, files),
        events=timeline(ticket, view["history"], dictionaries, files),
        choices=handler_choices(ticket, step) if acting and step else {}, cc=cc, users=users,
        transfer_to=engine.transfer_candidates(ticket, step) if acting and step and step.get("allow_transfer") else [],
        names={u.username: u.name for u in users},
        files=files,
        dictionaries=dictionaries, channels=CHANNELS, priorities=PRIORITIES, **customer_links(ticket),
        **countersign.context(me(), ticket, dictionaries, None if acting else form)), status


@bp.get("/tickets/<number>")
@login_required
def detail(number: str):
    return render(readable(number))


def advance(ticket: Ticket):
    """The step form through the one submission (files stored in the engine's transaction); a page if refused."""
    transition = request.form.get("transition")
    done, submission = submit(docs.compiled(ticket.process_version, ticket.step), ticket.data, lambda data, files: (
        engine.act(me(), ticket.number, "advance", version=request.form.get("version", type=int), data=data,
                   files=files, transition=transition, assignee=request.form.get(f"assignee_{transition}") or None)),
        unreadable=unreadable(me(), ticket.process_version))
    if done is None:
        if submission.message:
            flash(submission.message)
        return render(ticket, submission.form, 422)
    return None


#: The form inputs of the format 2 actions, by action: a wait's ``until``, a link's or merge's ``other``,
#: a spawn's ``spawn`` (the index of the step's ``spawn`` entry); the engine checks each.
OPTIONS: dict[str, tuple[str, ...]] = {}
OPTIONS.setdefault("wait", ("until",))
OPTIONS.update(spawn=("spawn",), link=("other",), unlink=("other",), merge=("other",))  # web/relations.py
#: Inputs the form gives in another shape than the engine takes: a wait's ``until`` is the user's local time.
CONVERT = {"until": pending_page.until_input}


def action_options(action: str) -> dict:
    return {name: CONVERT.get(name, _same)(request.form.get(name) or None) for name in OPTIONS.get(action, ())}


def _same(value):
    return value


@bp.post("/tickets/<number>/act")
@login_required
def act(number: str):
    ticket = readable(number)
    action = request.form.get("action", "")
    try:
        if action in ("advance", "sign"):
            page = advance(ticket) if action == "advance" else countersign.sign(me(), ticket, render)
            if page is not None:
                return page
        else:
            engine.act(me(), number, action, version=request.form.get("version", type=int),
                       comment=request.form.get("comment"), assignee=request.form.get("assignee") or None,
                       **action_options(action))
    except Forbidden:
        abort(403)
    except (Conflict, Invalid, EngineError) as error:
        flash(error.msg.render(gettext) + "".join(
            f" {m.render(gettext)}" for messages in error.fields.values() for m in messages))
        return redirect(url_for(".detail", number=number))
    flash(gettext("Done: the ticket was updated."))
    return redirect(url_for(".detail", number=number))


@bp.post("/tickets/<number>/preview")
@login_required
def preview_step(number: str):
    """The step form's computed fields as typed so far (the page's live preview); for who may act only."""
    ticket = readable(number)
    if not may_act(me(), ticket):  # asked before the step is compiled: a closed ticket's step is $end
        abort(403)
    compiled = docs.compiled(ticket.process_version, ticket.step)
    return preview(compiled, ticket.data, lambda values: computing.for_ticket(me(), ticket, values),
                   unreadable(me(), ticket.process_version))


@bp.post("/tickets/<number>/notes")
@login_required
def note(number: str):
    return _collab(number, lambda: collab.add_note(me(), number, request.form.get("note", "")))


@bp.post("/tickets/<number>/cc")
@login_required
def add_cc(number: str):
    return _collab(number, lambda: collab.add_cc(me(), number, request.form.get("cc", "")))


def _collab(number: str, change):
    try:
        change()
    except Forbidden:
        abort(403)
    except EngineError as error:
        flash(error.msg.render(gettext))
    return redirect(url_for(".detail", number=number))


@bp.get("/attachments/<key>")
@login_required
def download(key: str):
    try:
        return uploads.send(collab.attachment_for(me(), key), current_app.config["UPLOAD_DIR"])
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


from . import relations  # noqa: E402, F401  (the relations panel's template helper, on this blueprint)


@bp.app_errorhandler(413)
def too_large(error):
    """A request over MAX_CONTENT_LENGTH: a page saying so, not a bare 413 (the API answers JSON itself)."""
    limit = uploads.human(current_app.config["MAX_CONTENT_LENGTH"])
    return render_template("uploads/too_large.html", limit=limit), 413
