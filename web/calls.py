"""Call registration (来电登记) at /call, and /call?phone=NUMBER for a softphone's screen-pop.

Looks the caller up, shows the chosen process's first step beside the caller's panel
(who they are, their open and recent tickets), and hands the submission to
``engine.create``; errors come back at their fields with what was typed kept. After a
submission the agent lands on the page again in the same caller context, with the new
ticket's number. While the agent types, ``/call/suggest`` lists possible duplicates (the
caller's open tickets, then similar open tickets by text); one of them takes the call as
a note (``/call/note/NUMBER``) instead of a new ticket. The ticket types offered, their
order and the default are the admin's choice and the agent's last ticket
(``workflows.processes.calltypes``). docs/calls.md has the keyboard shortcuts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from formbuilder.display import display
from workflows.people import customers as people
from workflows.people import roster
from workflows.processes import calltypes
from workflows.processes import documents as docs
from workflows.reporting.queries import Filters, caller_history, customer_by_phone, readable_list
from workflows.storage.models import Customer, Process, ProcessVersion, Tag, Ticket, TicketTag
from workflows.tickets import collab, engine, tags
from workflows.tickets import preview as computing
from workflows.tickets.access import filter_data, may_create, unreadable, visible_fields
from workflows.tickets.assignment import Context, offered
from workflows.tickets.errors import EngineError, Forbidden, Invalid, NotFound

from .common.labels import CHANNELS, PRIORITIES
from .common.submit import preview, read, submit

bp = Blueprint("calls", __name__)
SUGGESTED = 5  # Alt+1..5 take the call as a note to one of these
EXCERPT = 90  # characters of a suggestion's visible text


def caller(phone: str | None) -> tuple[Customer | None, list[Ticket], int]:
    """The customer with this phone in any spelling (merged ones resolved), their last tickets and how many."""
    customer = customer_by_phone(current_user.user, phone)  # like /customers/ID: only customers one may see
    if customer is None:
        return None, [], 0
    return (customer, *caller_history(current_user.user, customer.id))  # only tickets the agent may open


@dataclass
class Panel:
    """The caller panel: the customer, their phones, open tickets, latest tickets and their tags."""

    customer: Customer | None
    recent: list[Ticket] = field(default_factory=list)
    count: int = 0
    phones: list[str] = field(default_factory=list)
    open: list[Ticket] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)


def open_tickets(customer_id: int) -> list[Ticket]:
    """The caller's newest open (or pending) tickets the agent may read: the first duplicates to suspect.

    As lists read them: no field data (``with_data`` adds it where an excerpt is shown).
    """
    return readable_list(current_user.user, Filters(status="open", customer=customer_id), None, SUGGESTED).tickets


def with_data(tickets: list[Ticket]) -> list[Ticket]:
    """``tickets`` with their field data read in (lists leave it out), which the excerpts and access ask of them."""
    missing = [t.id for t in tickets if t.data is None]
    if missing:
        found = {t.id: t.data for t in Ticket.select(Ticket.id, Ticket.data).where(Ticket.id.in_(missing))}
        for ticket in tickets:
            ticket.data = found.get(ticket.id, ticket.data) if ticket.data is None else ticket.data
    return tickets


def panel(phone: str | None) -> Panel:
    """Everything the caller panel shows, each part limited to what the agent may read."""
    customer, recent, count = caller(phone)
    if customer is None:
        return Panel(None)
    shown = open_tickets(customer.id)
    return Panel(customer, recent, count, people.phones_of(customer), shown, tags_of([*shown, *recent]))


def tags_of(tickets: list[Ticket]) -> list[dict]:
    """The tags the caller's shown tickets hold, each once, by name: one query whatever their number."""
    ids = {t.id for t in tickets}
    held = Tag.select().join(TicketTag).where(TicketTag.ticket.in_(ids)).distinct().order_by(Tag.name) if ids else []
    return [tags.badge(tag) for tag in held]


def status_of(ticket: Ticket) -> str:
    """The ticket's step name, or closed / pending, as the lists say it."""
    if ticket.status == "closed":
        return gettext("Closed")
    steps = {s["key"]: s["name"] for s in ticket.process_version.document["steps"]}
    name = steps.get(ticket.step, ticket.step)
    return f"{name} · {gettext('Pending')}" if ticket.status == "pending" else name


def excerpt(ticket: Ticket) -> str:
    """A short text of the fields the agent may see of ``ticket`` (``access.visible_fields``), attachments left out."""
    data = filter_data(ticket.data, visible_fields(current_user.user, ticket))
    properties, dictionaries = ticket.process_version.document["schema"]["properties"], docs.dictionary_indexes()
    parts = [display(schema, data[key], dictionaries) for key, schema in properties.items()
             if key in data and not _is_file(schema)]
    text = " · ".join(p for p in parts if p)
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _is_file(schema: dict) -> bool:
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    return schema.get("format") == "attachment" or items.get("format") == "attachment"


def similar(text: str, skip: set[int], limit: int) -> list[Ticket]:
    """Open tickets like ``text`` the agent may open (``workflows.search.query.similar_open``), if installed."""
    if not text.strip() or limit <= 0:
        return []
    try:
        from workflows.search.query import similar_open
    except ImportError:  # full-text search is its own module; the caller's open tickets work without it
        return []
    found = similar_open(current_user.user, text, limit=limit + len(skip))
    return with_data([t for t in found if t.id not in skip][:limit])


def suggestions(phone: str | None, text: str) -> tuple[list[Ticket], list[Ticket]]:
    """Possible duplicates: the caller's open tickets, then similar open tickets by text; five at most in all."""
    customer = customer_by_phone(current_user.user, phone)
    mine = with_data(open_tickets(customer.id)) if customer is not None else []
    return mine, similar(text[:200], {t.id for t in mine}, SUGGESTED - len(mine))


def choices(version, step: dict) -> dict[str, list]:
    """People the agent may pick as next handler, per transition of the first step."""
    steps, people_by = {s["key"]: s for s in version.document["steps"]}, {}
    for transition in step.get("transitions", []):
        target = steps.get(transition["to"])
        if target is not None and "assignee" in target:  # a countersign step's signers are no pick
            found = offered(target["assignee"], Context(version.document["code"], target, current_user.user,
                                                         current_user.user))
            if found:
                people_by[transition["to"]] = found
    return people_by


def page(version, processes: list[Process], form=None, status: int = 200, values: dict | None = None):
    """The page with ``version``'s first step; ``processes``: the ticket types offered, in order."""
    values = values if values is not None else request.args
    first = version.document["steps"][0] if version else None
    if version is not None and form is None:
        form = docs.compiled(version, first["key"]).form_class(None, data={},
                                                               dictionaries=roster.with_people(docs.dictionary_indexes()),
                                                               unreadable=unreadable(current_user.user, version))
    found = panel(values.get("phone"))
    mine = found.open if may_create(current_user.user) else []  # shown without excerpts: call.js asks for those
    return render_template("calls/register.html", processes=processes, version=version, step=first, form=form,
                           people=choices(version, first) if version else {}, values=values, customer=found.customer,
                           history=found.recent, history_count=found.count, panel=found, mine=mine, alike=[],
                           call_process=version.document["code"] if version else None,
                           channels=CHANNELS, priorities=PRIORITIES, status_of=status_of, excerpt=None,
                           dictionaries=docs.dictionary_indexes()), status


def chosen_version() -> tuple[ProcessVersion | None, list[Process]]:
    """The latest version of the type asked for, else of the agent's last, else of the admin's first; and the
    types offered. A type that is not offered is refused with 404 (``calltypes.choose``)."""
    offer = calltypes.offered()
    try:
        process = calltypes.choose(offer, request.values.get("process"), current_user.user)
    except NotFound:
        abort(404)
    return (docs.get_version(process.code) if process else None), offer


def back_to_call(version, **done):
    """The call page again in the same caller context (phone kept), saying what was ``done``."""
    return redirect(url_for("calls.register", phone=request.form.get("phone") or None,
                            process=version.document["code"], **done))


@bp.get("/call")
@login_required
def register():
    return page(*chosen_version())


@bp.post("/call", endpoint="submit")
@login_required
def submit_call():
    """The first step's form and the caller through the one submission; the page again if anything is refused."""
    version, offer = chosen_version()
    if version is None:
        abort(404)
    try:
        ticket, submission = submit(docs.compiled(version, version.document["steps"][0]["key"]), {},
                                    lambda data, files: _create(version, data, files), refusals=(EngineError,),
                                    unreadable=unreadable(current_user.user, version))
    except Forbidden:
        abort(403)
    if ticket is None:
        if submission.message:
            flash(submission.message)
        return page(version, offer, submission.form, submission.status, request.form)
    return back_to_call(version, created=ticket.number)


@bp.get("/call/suggest")
@login_required
def suggest():
    """The possible duplicates as an HTML fragment (call.js asks as the agent types); only for those who register."""
    if not may_create(current_user.user):
        abort(403)
    mine, alike = suggestions(request.args.get("phone"), request.args.get("q", ""))
    return render_template("calls/_suggestions.html", mine=mine, alike=alike, status_of=status_of, excerpt=excerpt,
                           call_process=request.args.get("process"))


@bp.post("/call/note/<number>")
@login_required
def note(number: str):
    """The call as one note on ticket ``number`` instead of a new ticket; the call page again, caller kept."""
    version, offer = chosen_version()
    if version is None or not may_create(current_user.user):
        abort(404 if version is None else 403)
    compiled = docs.compiled(version, version.document["steps"][0]["key"])
    submission = read(compiled, {}, unreadable(current_user.user, version))
    try:
        collab.add_note(current_user.user, number, call_note(compiled, submission.data, version))
    except (Forbidden, NotFound) as refused:
        abort(403 if isinstance(refused, Forbidden) else 404)
    except Invalid as error:
        flash(" ".join([error.msg.render(gettext)] + [f"{name}: {m.render(gettext)}"
                                                      for name, messages in error.fields.items() for m in messages]))
        return page(version, offer, submission.form, 422, request.form)
    return back_to_call(version, noted=engine.load(number).number)


def call_note(compiled, data: dict, version) -> str:
    """The note's text: the caller, then each field the agent typed and may see, as it reads (labels, not codes)."""
    who = " ".join(p for p in (request.form.get("customer_name", "").strip(), request.form.get("phone", "").strip())
                   if p)
    lines = [gettext("Another call about this ticket") + (f": {who}" if who else "")]
    shown = compiled.spec.visible(data, unreadable(current_user.user, version))
    indexes = roster.with_people(docs.dictionary_indexes())
    for key, spec in compiled.spec.fields.items():
        text = display(spec.schema, shown[key], indexes) if key in shown and not _is_file(spec.schema) else ""
        if text:
            lines.append(f"{spec.schema.get('title', key)}: {text}")
    return "\n".join(lines) if who or len(lines) > 1 else ""


@bp.post("/call/preview")
@login_required
def preview_call():
    """The call form's computed fields as typed so far (the page's live preview)."""
    version, _ = chosen_version()
    if version is None:
        abort(404)
    compiled = docs.compiled(version, version.document["steps"][0]["key"])
    return preview(compiled, {}, lambda values: computing.for_call(current_user.user, version, values),
                   unreadable(current_user.user, version))


def _create(version, data: dict, files: dict):
    transition = request.form.get("transition") or None
    return engine.create(
        current_user.user, version.document["code"], data, files=files,
        priority=request.form.get("priority") or None, channel=request.form.get("channel") or None,
        customer={"name": request.form.get("customer_name", ""), "phone": request.form.get("phone", "")},
        transition=transition, assignee=request.form.get(f"assignee_{transition}") or None)
