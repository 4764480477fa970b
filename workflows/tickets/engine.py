"""The workflow engine: create, advance, return, transfer, close and reopen tickets.

Every path (browser, API, CLI, later bulk actions) calls these functions and
nothing else writes tickets, so no rule can be bypassed. Each action checks
the actor's right, validates with the step's cached validator, resolves the
next handler, records one event with the field diff and commits as one
transaction; any error rolls all of it back.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime

from peewee import fn

from formbuilder import Msg, validate_step
from formbuilder.messages import N_
from workflows.intake import channels
from workflows.people import customers, org, roster
from workflows.processes import documents as docs
from workflows.storage import generation, uploads
from workflows.storage.models import (
    Customer,
    ProcessVersion,
    Ticket,
    TicketEvent,
    TicketLink,
    User,
    utcnow,
)
from workflows.storage.prepared import Prepared
from workflows.tickets import events
from workflows.tickets import files as ticket_files
from workflows.tickets.access import can_act, can_read, is_admin, may_create, oversees, unreadable
from workflows.tickets.assignment import AssignmentError, Context, candidates, resolve
from workflows.tickets.errors import Conflict, EngineError, Forbidden, Invalid, NotFound
from workflows.tickets.moves import END, REQUIRED
from workflows.tickets.moves import close as _close
from workflows.tickets.moves import comment_of as _comment
from workflows.tickets.moves import diff as _diff
from workflows.tickets.moves import enter as _enter
from workflows.tickets.moves import entry as _entry
from workflows.tickets.moves import record as _record
from workflows.tickets.moves import save as _save
from workflows.tickets.moves import step_of as _step
from workflows.tickets.numbers import next_number

PRIORITIES = ("urgent", "high", "normal", "low")
ACTIONS = ("advance", "return", "transfer", "close", "reopen")

__all__ = ["EngineError", "Invalid", "Forbidden", "NotFound", "Conflict", "create", "act", "load"]


def _load_query(number: str):
    creator = User.alias()
    return (Ticket.select(Ticket, ProcessVersion, creator, _related_column()).join(ProcessVersion).switch(Ticket)
            .join(creator, on=(Ticket.creator == creator.id), attr="creator")
            .where(Ticket.number == number).limit(1))


def _related_column():
    """``related``: whether another ticket is a child of, merged into or linked with the ticket, so a ticket
    without relations costs ``children.relatives`` no statement (issue 24's budget)."""
    child, merged, link, linked = Ticket.alias(), Ticket.alias(), TicketLink.alias(), TicketLink.alias()
    found = (child.select(child.id).where(child.parent == Ticket.id),  # one EXISTS per index: with an OR
             merged.select(merged.id).where(merged.merged_into == Ticket.id),  # SQLite scanned every ticket
             link.select(link.id).where(link.ticket == Ticket.id),
             linked.select(linked.id).where(linked.other == Ticket.id))
    return functools.reduce(operator.or_, map(fn.EXISTS, found)).alias("related")


LOAD = Prepared(_load_query, str)


def load(number: str) -> Ticket:
    """The ticket with its version and creator in one query (an assignment rule may name the creator)."""
    ticket = LOAD.first(number)
    if ticket is None:
        raise NotFound(Msg(N_("No ticket %(number)s."), {"number": number}))
    return ticket


def _priority(document: dict, priority: str | None, errors: dict) -> str:
    setting = document.get("priority", {})
    default = setting.get("default", "normal")
    if priority is None or priority == default:
        return default
    if not setting.get("enabled"):
        errors["priority"] = [Msg(N_("This process does not use priorities."))]
    elif priority not in PRIORITIES:
        errors["priority"] = [Msg(N_("Not one of the available options."))]
    return priority


def _transition(spec, data: dict, requested: str | None, errors: dict) -> dict | None:
    offered = spec.offered(data)
    if requested is None and len(offered) == 1:
        return offered[0]
    for transition in offered:
        if transition["to"] == requested:
            return transition
    text = N_("Choose the next step.") if requested is None else N_("This next step is not available now.")
    errors["transition"] = [Msg(text)]
    return None


def _customer(customer: dict | None) -> Customer | None:
    """Found by any spelling of the phone (or the e-mail), else created: see ``customers.intake``."""
    return customers.intake(customer)


def _move(ticket: Ticket, transition: dict, actor: User, chosen: str | None, now: datetime, errors: dict) -> None:
    """Follow ``transition``: close, or enter the target step with its resolved handler."""
    if transition["to"] == END:
        _close(ticket, now)
        return
    target = _step(ticket.process_version, transition["to"])
    ctx = Context(ticket.process_version.document["code"], target, ticket.creator, actor, ticket.id, ticket)
    try:
        # a countersign step has no handler: its signers get their parts (signing.on_entered)
        _enter(ticket, target, None if target.get("sign") else resolve(target["assignee"], ctx, chosen), now)
    except AssignmentError as error:
        errors["assignee"] = [error.msg]


@generation.unit()  # its version and form are read before its action opens: one stamp for both
def create(actor: User, process: str, data: dict, *, priority: str | None = None, customer: dict | None = None,
           channel: str | None = None, transition: str | None = None, assignee: str | None = None,
           files: dict | None = None, parent: Ticket | None = None, holds_parent: bool = False) -> Ticket:
    """Create a ticket at the first step and take one of its transitions.

    ``files`` maps attachment fields to uploaded files (werkzeug ``FileStorage``): they are
    stored in this action's transaction, and deleted again if it fails. ``parent``: a child
    ticket of a ``spawn`` (``children.py``), whose step entry allowed its handler to create it
    whatever their role; ``holds_parent``: the entry's ``wait``.
    """
    if parent is None and not may_create(actor):
        raise Forbidden(Msg(N_("Your role cannot create tickets.")))
    version = docs.get_version(process)
    if version is None:
        raise NotFound(Msg(N_("No published process %(code)s."), {"code": process}))
    document, first = version.document, version.document["steps"][0]
    spec = docs.compiled(version, first["key"]).spec
    with uploads.action():
        data, problems = ticket_files.store(spec, actor, files, {}, data)
        hidden = unreadable(actor, version)
        outcome = validate_step(spec, {}, data, docs.dictionary_indexes(), unreadable=hidden, people=roster.lazy())
        errors = {**outcome.errors, **problems, **_unreadable_required(spec, outcome.data, hidden)}
        channels.check(channel, errors)
        errors.update(customers.intake_errors(customer) if customer is not None else {})  # all problems at once
        now = utcnow()
        ticket = Ticket(process_version=version, step=first["key"], creator=actor, data=outcome.data, channel=channel,
                        priority=_priority(document, priority, errors), created_at=now, updated_at=now,
                        parent=parent, holds_parent=holds_parent and parent is not None)
        claimed = ticket_files.claim(spec, actor, ticket, {}, outcome.data, errors)
        chosen = _transition(spec, outcome.data, transition, errors)
        if chosen is not None and not errors:
            _move(ticket, chosen, actor, assignee, now, errors)
        if errors:
            raise Invalid(Msg(N_("The ticket was not created: see the fields.")), errors)
        ticket.number = next_number(document.get("number_prefix", "GD"), now)
        ticket.customer = _customer(customer)
        ticket.save(force_insert=True)
        ticket.related = False  # ``load``'s column: no row refers to a new one yet (a spawn or link sets it)
        ticket_files.link(claimed, ticket)
        _record(ticket, "create", actor, None, now, from_step=first["key"], diff=_diff({}, outcome.data))
        return ticket


def _unreadable_required(spec, data: dict, hidden: frozenset[str]) -> dict:
    """A step that requires a field the actor may not read is for its readers to complete.

    Hidden to the actor, the field is not required of them by ``validate_step``; letting them
    pass would skip the requirement (a supervisor of the handler who is no reader). Refused
    whatever the field holds, so the answer tells nothing of its value.
    """
    if any(spec.modes(data).get(name) == "required" for name in hidden):
        return {"step": [Msg(N_("This step requires a field you may not read: one of its readers must complete it."))]}
    return {}


#: Checks a ticket must pass to leave its step by a transition (format 2: open ``wait`` children hold it);
#: each takes (ticket, transition) and returns errors by field.
LEAVING: list = []


def _advance(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    step, entered, before = ticket.step, ticket.entered_at, ticket.assignee_id
    spec = docs.compiled(ticket.process_version, step).spec
    data, problems = ticket_files.store(spec, actor, request.get("files"), ticket.data, request.get("data") or {})
    hidden = unreadable(actor, ticket.process_version)
    outcome = validate_step(spec, ticket.data, data, docs.dictionary_indexes(), unreadable=hidden,
                            people=roster.lazy())
    errors = {**outcome.errors, **problems, **_unreadable_required(spec, outcome.data, hidden)}
    claimed = ticket_files.claim(spec, actor, ticket, ticket.data, outcome.data, errors)
    chosen = _transition(spec, outcome.data, request.get("transition"), errors)
    for guard in LEAVING:
        errors.update(guard(ticket, chosen) if chosen is not None else {})
    old_data, ticket.data = ticket.data, outcome.data
    if chosen is not None and not errors:
        _move(ticket, chosen, actor, request.get("assignee"), now, errors)
    if errors:
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")), errors)
    _save(ticket, request["version"], now)
    ticket_files.link(claimed, ticket)
    action = "close" if ticket.status == "closed" else "advance"
    _record(ticket, action, actor, before, now, entered, from_step=step, diff=_diff(old_data, ticket.data),
            comment=request.get("comment"))


def _return(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    step = _step(ticket.process_version, ticket.step)
    if not step.get("allow_return"):
        raise Conflict(Msg(N_("This step does not allow returning the ticket.")))
    comment, entry = _comment(request), _entry(ticket)
    steps = {s["key"] for s in ticket.process_version.document["steps"]}  # a migrated ticket's may be gone
    if entry is None or entry.from_step in (None, ticket.step) or entry.from_step not in steps:
        raise Conflict(Msg(N_("There is no previous step to return to.")))
    before, entered = ticket.assignee_id, ticket.entered_at
    back_to = entry.actor if entry.action in ("create", "advance") else entry.assignee_before  # a worker's move
    _enter(ticket, _step(ticket.process_version, entry.from_step), back_to, now)
    _save(ticket, request["version"], now)
    _record(ticket, "return", actor, before, now, entered, from_step=step["key"], comment=comment)


def _transfer(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    step = _step(ticket.process_version, ticket.step)
    if not step.get("allow_transfer"):
        raise Conflict(Msg(N_("This step does not allow transferring the ticket.")))
    comment = _comment(request)
    target = User.get_or_none(User.username == (request.get("assignee") or ""), User.active == True)  # noqa: E712
    if target is None or target.id == ticket.assignee_id or not _may_take(ticket, step, target):
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")),
                      {"assignee": [Msg(N_("Choose another active user who may handle this step."))]})
    before = ticket.assignee_id
    ticket.assignee = target
    _save(ticket, request["version"], now)
    _record(ticket, "transfer", actor, before, now, from_step=ticket.step, comment=comment)


def transfer_candidates(ticket: Ticket, step: dict) -> list[User]:
    """Whom the ticket may be handed to at ``step``: its assignee rule's candidates, or anyone who handles tickets.

    Format 2's ``allow_transfer: "anyone"`` widens it; ``true`` keeps it within the candidates,
    so a transfer can never hand a step's fields to someone the process did not name.
    """
    if step.get("allow_transfer") == "anyone":
        return org.active_users()
    entry = _entry(ticket)
    sender = entry.actor if entry is not None else ticket.creator
    ctx = Context(ticket.process_version.document["code"], step, ticket.creator, sender, ticket.id, ticket)
    return candidates(step["assignee"], ctx)


def _may_take(ticket: Ticket, step: dict, user: User) -> bool:
    return any(person.id == user.id for person in transfer_candidates(ticket, step))


def _closing(ticket: Ticket) -> TicketEvent | None:
    closed = (TicketEvent.action == "close") | ((TicketEvent.action == "timeout") & (TicketEvent.to_step == END))
    return TicketEvent.select().where(TicketEvent.ticket == ticket, closed).order_by(TicketEvent.id.desc()).first()


def _reopen(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    closing = _closing(ticket)
    if closing is None:
        raise Conflict(Msg(N_("There is no previous step to return to.")))
    _enter(ticket, _step(ticket.process_version, closing.from_step), closing.actor, now)
    _save(ticket, request["version"], now)
    _record(ticket, "reopen", actor, None, now, from_step=END, comment=request.get("comment"))


HANDLERS = {"advance": _advance, "close": _advance, "return": _return, "transfer": _transfer, "reopen": _reopen}
#: The statuses each action applies to; the format 2 actions add theirs (``register``).
STATUSES = {"advance": ("open",), "close": ("open",), "return": ("open",), "transfer": ("open", "pending"),
            "reopen": ("closed",)}
#: Who may take an action other than the ticket's handler's ``can_act`` (reopen; the format 2 actions add theirs).
MAY: dict = {}
#: Actions that need not name the ticket's current version, by a test of the ticket (a signature: signing.py
#: locks the row instead, since signers do not conflict with each other).
LOOSE: dict = {}


def register(action: str, handler, statuses: tuple[str, ...], may=None) -> None:
    """Add an action kept in its own module (``signing``, ``pending``, ``children``) to the one entry point."""
    HANDLERS[action], STATUSES[action] = handler, statuses
    if may is not None:
        MAY[action] = may


def _may_reopen(actor: User, ticket: Ticket) -> bool:
    """Admins, and supervisors of whoever closed it; on an open ticket, whoever may act (then told its status)."""
    closing = _closing(ticket) if ticket.status == "closed" else None
    if closing is None:
        return can_act(actor, ticket)
    return is_admin(actor) or (actor.role == "supervisor" and oversees(actor, closing.actor_id))


MAY["reopen"] = _may_reopen
REFUSED = {"reopen": N_("Only a supervisor of its last handler or an admin may reopen a ticket.")}


def _check(ticket: Ticket, actor: User, action: str, version) -> None:
    """Permission, then the version, then the status: nobody learns a ticket's state without the right.

    Whoever may neither act nor read is refused before anything else, with one text per action. A
    reader who may not act (any more) learns first that the ticket changed, as their page shows anyway.
    """
    if action not in HANDLERS:
        raise EngineError(Msg(N_("Unknown action %(action)s."), {"action": action}))
    if not isinstance(version, int) or isinstance(version, bool):
        raise Invalid(Msg(N_("Nothing was saved: see the fields.")), {"version": [REQUIRED]})
    may = MAY.get(action, can_act)(actor, ticket)
    refused = Forbidden(Msg(REFUSED.get(action, N_("You are not the handler of this ticket."))))
    if not (may or can_read(actor, ticket)):
        raise refused
    if ticket.version != version and not LOOSE.get(action, lambda _: False)(ticket):
        raise Conflict(Msg(N_("The ticket was changed by someone else: reload it and try again.")))
    if not may:
        raise refused
    if ticket.status not in STATUSES[action]:
        raise Conflict(Msg(N_("This action does not apply to a ticket that is %(status)s."),
                           {"status": ticket.status}))


def act(actor: User, number: str, action: str, *, version: int, data: dict | None = None,
        transition: str | None = None, assignee: str | None = None, comment: str | None = None,
        files: dict | None = None, **options) -> Ticket:
    """Apply one action to the ticket ``number`` as read at ``version``; ``files`` as for :func:`create`.

    ``options`` are the format 2 actions' own inputs (``until`` of a wait, ``other`` of a link or
    a merge, ``spawn`` of a child ticket), handed to the action's handler in its request.
    """
    if action == "close":
        transition = END
    request = {"data": data, "transition": transition, "assignee": assignee, "comment": comment, "version": version,
               "files": files, **options}
    with uploads.action():
        ticket = load(number)
        _check(ticket, actor, action, version)
        now = utcnow()
        if ticket.first_response_at is None and actor.id != ticket.creator_id:
            ticket.first_response_at = now
        HANDLERS[action](ticket, actor, request, now)
        return ticket


# The format 2 actions, each in its own module: child tickets, links and merges (children), countersign
# (signing), wait and resume (pending). Installed on every (re)load of this module, so a reloaded engine
# still knows them; the modules import the engine's pieces, hence the imports at the end.
from workflows.tickets import assign, children, pending, signing  # noqa: E402

children.install(register, LEAVING)
signing.install(register, HANDLERS, LOOSE)
pending.install(register)
assign.install(register)
REFUSED["assign"] = assign.REFUSED
from workflows.kb import solutions  # noqa: E402  (closing with a solution, x-solution: docs/kb.md)

solutions.install(LEAVING)
events.connect_defaults()  # the engine is the signal's only sender: whoever imports it runs the subscribers
