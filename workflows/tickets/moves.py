"""The moves every engine action is made of: find a step, enter or leave it, write the ticket, record the event.

``engine`` (create, advance, return, transfer, close, reopen) and the format 2 actions
(``signing``, ``pending``, ``children``) share them, so each action stays one transaction
with one history row and one signal, whichever module holds it.
"""

from __future__ import annotations

from datetime import datetime

from peewee import Field, ForeignKeyField

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.storage import fastwrite
from workflows.storage.models import ProcessVersion, Ticket, TicketEvent, User
from workflows.tickets import events, timing
from workflows.tickets.errors import Conflict, Invalid

END = "$end"
REQUIRED = Msg(N_("This field is required."))
NOTHING_SAVED = N_("Nothing was saved: see the fields.")
#: Called as f(ticket, step, now) when an action has put the ticket at a step, after the ticket's row is
#: written and before the event's signal (format 2: a ``sign`` step gives each signer their part).
ENTERED: list = []
#: Called as f(ticket, now) when an action has closed the ticket, by hand or by the SLA worker (format 2:
#: a countersign step's waiting parts are released).
CLOSED: list = []


def step_of(version: ProcessVersion, key: str) -> dict:
    return next(s for s in version.document["steps"] if s["key"] == key)


def enter(ticket: Ticket, step: dict, assignee: User | None, now: datetime) -> None:
    """Put the ticket at ``step`` with its handler; the step's SLA starts now.

    A countersign step has no handler whoever would have been it (a return or reopen names the one
    who left it): its signers get their parts (``signing.on_entered``, docs/countersign.md).
    """
    assignee = None if step.get("sign") else assignee
    ticket.step, ticket.assignee, ticket.entered_at = step["key"], assignee, now
    ticket.status, ticket.closed_at, ticket.pending_since, ticket.pending_until = "open", None, None, None
    timing.enter(ticket, step, now)


def close(ticket: Ticket, now: datetime) -> None:
    ticket.step, ticket.status, ticket.assignee, ticket.closed_at = END, "closed", None, now
    ticket.pending_since = ticket.pending_until = None
    timing.clear(ticket)


def diff(before: dict, after: dict) -> dict:
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def record(ticket: Ticket, action: str, actor: User, before: int | None, now: datetime,
           entered: datetime | None = None, **fields) -> None:
    """Write the action's history row, then announce it to the subscribers, all in the action's transaction.

    ``before`` is the handler before the action; ``entered`` when the ticket entered the step
    the action leaves, for the row's dwell time.
    """
    if action in TicketEvent.LEAVES and "dwell_seconds" not in fields:
        fields["dwell_seconds"] = timing.dwell(ticket, fields.get("from_step"), entered, now)
    if ticket.entered_at == now and ticket.status == "open":  # this action put it at a step (any mover's)
        step = step_of(ticket.process_version, ticket.step)
        for hook in ENTERED:
            hook(ticket, step, now)
    if ticket.status == "closed" and ticket.closed_at == now:
        for hook in CLOSED:
            hook(ticket, now)
    row = TicketEvent.create(ticket=ticket, action=action, actor=actor, to_step=ticket.step, created_at=now,
                                assignee_before=before, assignee_after=ticket.assignee_id, **fields)
    events.ticket_acted.send(events.Acted(ticket, action, actor, before, now, row))


def save(ticket: Ticket, expected: int, now: datetime) -> None:
    """Write the ticket only if nobody changed it since it was read (optimistic lock)."""
    ticket.version, ticket.updated_at = expected + 1, now
    ticket.timed()
    # Only what this action changed: the SLA sweep marks tickets without a version bump.
    values = {field: _value(ticket, field) for field in ticket.dirty_fields}
    if fastwrite.update(Ticket, values, {Ticket.id: ticket.id, Ticket.version: expected}) != 1:
        raise Conflict(Msg(N_("The ticket was changed by someone else: reload it and try again.")))


def _value(ticket: Ticket, field: Field) -> object:
    """The value to write for ``field``; a foreign key's id, so that no related row is loaded for it."""
    return getattr(ticket, field.object_id_name if isinstance(field, ForeignKeyField) else field.name)


def entry(ticket: Ticket) -> TicketEvent | None:
    """How the ticket reached its current step: the last create/advance (or the SLA worker's move) into it.

    An escalation that only notified the manager stays at its step (from_step = to_step): not an entry."""
    return (TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.to_step == ticket.step,
                                       TicketEvent.action.in_(("create", "advance", "timeout"))
                                       | ((TicketEvent.action == "escalate") & (TicketEvent.from_step != ticket.step)))
            .order_by(TicketEvent.id.desc()).first())


def comment_of(request: dict) -> str:
    comment = (request.get("comment") or "").strip()
    if not comment:
        raise Invalid(Msg(NOTHING_SAVED), {"comment": [REQUIRED]})
    return comment


