"""Pending (等待客户回复 / 挂起): the ``wait`` and ``resume`` actions, and the resumes nobody clicks.

A step with ``allow_wait`` lets its handler set the ticket pending with a reason (the comment)
and an optional ``until``; the step's SLA clock stops (``timing.pause``), its timeout runs on.
It resumes by the ``resume`` action, by the worker once ``until`` has passed
(:func:`resume_due`, from ``sla.sweep``) or by a customer's reply (:func:`resume_for_customer`,
from the mail intake and the progress page); the due and warning times then move on by the
paused working time (``timing.resume``). The two resumes nobody clicks are system events,
recorded as the channels' system user, and claimed by a conditional update: of a customer's
reply and the worker racing, one resumes and the other finds the ticket open.
"""

from __future__ import annotations

from datetime import UTC, datetime

from formbuilder import Msg
from formbuilder.messages import N_
from formbuilder.moments import is_datetime
from workflows.intake.channels import system_user
from workflows.storage.models import Ticket, User
from workflows.tickets import timing
from workflows.tickets.errors import Conflict, EngineError, Invalid
from workflows.tickets.moves import NOTHING_SAVED, REQUIRED, record, save, step_of

NOT_A_TIME = N_("Not a date and time with its time zone (RFC 3339, e.g. 2026-10-08T09:00:00+08:00).")
NOT_FUTURE = N_("Choose a time in the future.")


def until_of(value: object, now: datetime, errors: dict) -> datetime | None:
    """``until`` as naive UTC: None, a datetime (naive is UTC) or RFC 3339 text, later than ``now``."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value and is_datetime(value):
        value = datetime.fromisoformat(value.upper())
    if not isinstance(value, datetime):
        errors["until"] = [Msg(NOT_A_TIME)]
        return None
    moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
    if moment <= now:
        errors["until"] = [Msg(NOT_FUTURE)]
    return moment


def _wait(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    """Set the ticket pending; a bad ``until`` is a 400 naming it, a missing reason a 422 (both at once)."""
    step = step_of(ticket.process_version, ticket.step)
    if not step.get("allow_wait"):
        raise Conflict(Msg(N_("This step does not allow waiting.")))
    errors: dict = {}
    until = until_of(request.get("until"), now, errors)
    comment = (request.get("comment") or "").strip()
    if not comment:
        errors["comment"] = [REQUIRED]
    if errors:
        raise (EngineError if "until" in errors else Invalid)(Msg(NOTHING_SAVED), errors)
    timing.pause(ticket, until, now)
    save(ticket, request["version"], now)
    record(ticket, "wait", actor, ticket.assignee_id, now, from_step=ticket.step, comment=comment)


def _resume(ticket: Ticket, actor: User, request: dict, now: datetime) -> None:
    timing.resume(ticket, step_of(ticket.process_version, ticket.step), now)
    save(ticket, request["version"], now)
    record(ticket, "resume", actor, ticket.assignee_id, now, from_step=ticket.step,
           comment=(request.get("comment") or "").strip() or None)


def _claim(ticket: Ticket, *conditions) -> int | None:
    """Take the ticket out of pending if it still is (row lock until commit); its version then, else None."""
    taken = Ticket.update(status="open").where(Ticket.id == ticket.id, Ticket.status == "pending",
                                               *conditions).execute()
    return Ticket.select(Ticket.version).where(Ticket.id == ticket.id).scalar() if taken else None


def system_resume(ticket: Ticket, now: datetime, comment: str, *conditions) -> bool:
    """Resume as the system, inside the caller's transaction; False when the ticket is no longer pending."""
    version = _claim(ticket, *conditions)
    if version is None:
        return False
    timing.resume(ticket, step_of(ticket.process_version, ticket.step), now)
    save(ticket, version, now)
    record(ticket, "resume", system_user(), ticket.assignee_id, now, from_step=ticket.step, comment=comment)
    return True


def resume_for_customer(ticket: Ticket, now: datetime) -> bool:
    """A customer replied (mail, web form, progress page): resume the pending ticket, in the caller's transaction.

    False when it is not pending (nothing is written then).
    """
    if ticket.status != "pending":
        return False
    return system_resume(ticket, now, timing.said(N_("The customer replied.")))


def resume_due(ticket: Ticket, now: datetime) -> bool:
    """The worker's resume once ``until`` has passed (``sla.sweep``, in its per-ticket transaction)."""
    if ticket.status != "pending" or ticket.pending_until is None or ticket.pending_until > now:
        return False
    return system_resume(ticket, now, timing.said(N_("The waiting time is over.")), Ticket.pending_until <= now)


def install(register) -> None:
    """Called by the engine each time it is (re)loaded, so a reloaded engine still knows wait and resume."""
    register("wait", _wait, ("open",))
    register("resume", _resume, ("pending",))
