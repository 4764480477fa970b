"""Assign (分派): a supervisor gives a ticket at its step to a chosen person, the engine's way.

Transfer is the handler handing their own work on (the step must allow it, a reason is
required); assign is the overseer's move: the admin, the manager chain or a supervisor of
the current handler (``access.oversees``) puts the ticket with someone the step's assignee
rule would have allowed (``engine.transfer_candidates``: a step's fields never go to someone
the process did not name), whether or not the step allows transfers, with an optional
comment. A countersign step has no handler to replace (its signers decide), so it refuses.
Registered with the engine like ``pending.py``: one transaction, one ``assign`` event.
"""

from __future__ import annotations

from datetime import datetime

from formbuilder import Msg
from formbuilder.messages import N_
from workflows.storage.models import Ticket, User
from workflows.tickets.access import is_admin, oversees
from workflows.tickets.errors import Conflict, Invalid
from workflows.tickets.moves import NOTHING_SAVED, record, save, step_of

REFUSED = N_("Only an admin or a supervisor of its handler may assign a ticket.")


def may_assign(actor: User, ticket: Ticket) -> bool:
    """Admins always; otherwise a supervisor or manager who oversees the current handler."""
    if is_admin(actor):
        return True
    return actor.role == "supervisor" and ticket.assignee_id is not None and oversees(actor, ticket.assignee_id)


def _target(ticket: Ticket, step: dict, username: str | None) -> User:
    """The active user named ``username`` whom the step may be given to; Invalid naming ``assignee`` else."""
    from workflows.tickets.engine import transfer_candidates  # the engine imports this module's installer

    target = User.get_or_none(User.username == (username or ""), User.active == True)  # noqa: E712
    if target is None or target.id == ticket.assignee_id or all(
            person.id != target.id for person in transfer_candidates(ticket, step)):
        raise Invalid(Msg(NOTHING_SAVED),
                      {"assignee": [Msg(N_("Choose another active user who may handle this step."))]})
    return target


def _assign(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    step = step_of(ticket.process_version, ticket.step)
    if step.get("sign"):
        raise Conflict(Msg(N_("A countersign step has no handler to assign.")))
    target = _target(ticket, step, request.get("assignee"))
    before = ticket.assignee_id
    ticket.assignee = target
    save(ticket, request["version"], now)
    record(ticket, "assign", actor, before, now, from_step=ticket.step,
           comment=(request.get("comment") or "").strip() or None)


def install(register) -> None:
    """Add ``assign`` to the engine (open and pending tickets, as transfer), with its own permission."""
    register("assign", _assign, ("open", "pending"), may_assign)
