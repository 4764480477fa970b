"""A ticket's clock at its step: SLA due time, warning, timeout, pauses and the worker's next look.

``enter`` runs whenever a ticket enters a step (``moves.enter``); it sets ``due_at`` from the
step's ``sla`` (minutes, or minutes per priority: a priority the object does not name has no
SLA), ``warn_at`` from ``sla.warn``, ``timeout_at`` from ``timeout``, and ``next_check_at``
through :func:`schedule`. Working time is that of the calendar the rule names (``sla.calendar``,
``timeout.calendar``, ``workflows.calendars.store.worktime``); without one every minute counts.

``next_check_at`` is the one column the SLA sweep reads (an index range): every change of the
times below goes through :func:`schedule`, so it always holds the earliest thing still to do.
docs/sla.md has the decisions.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context

from workflows.calendars.store import worktime
from workflows.i18n import cli_gettext
from workflows.storage.models import Ticket, whole_seconds


def sla_minutes(step: dict, priority: str) -> int | None:
    """The step's SLA in minutes for ``priority``; None when it has none (for that priority)."""
    minutes = (step.get("sla") or {}).get("minutes")
    return minutes.get(priority) if isinstance(minutes, dict) else minutes


def sla_clock(step: dict | None):
    """The working time the step's SLA counts in (every minute when it names no calendar)."""
    return worktime(((step or {}).get("sla") or {}).get("calendar"))


def enter(ticket: Ticket, step: dict, now: datetime) -> None:
    """Start the step's clock at ``now``: due, warning and timeout times, nothing done yet."""
    sla, minutes = step.get("sla") or {}, sla_minutes(step, ticket.priority or "normal")
    clock = sla_clock(step)
    ticket.due_at = clock.add(now, minutes) if minutes else None
    ticket.warn_at = clock.add(now, minutes * sla["warn"]) if minutes and sla.get("warn") else None
    ticket.overdue_at = ticket.warned_at = None
    timeout = step.get("timeout")
    ticket.timeout_at = worktime(timeout.get("calendar")).add(now, timeout["minutes"]) if timeout else None
    schedule(ticket)


def reprioritised(ticket: Ticket, step: dict | None, old: str) -> None:
    """The priority changed at the step (an automation rule, e.g. a VIP caller made urgent on creation): the due
    and warning times follow the new priority's minutes from the step's entry; the working time already waited
    (``old``'s due time minus its minutes) stays out. Marks already made (warned, overdue) are kept."""
    if ticket.status == "closed" or step is None or ticket.entered_at is None:
        return
    sla, minutes, clock = step.get("sla") or {}, sla_minutes(step, ticket.priority or "normal"), sla_clock(step)
    before = sla_minutes(step, old or "normal")
    waited = max(0, clock.seconds_between(ticket.entered_at, ticket.due_at) - before * 60) \
        if ticket.due_at is not None and before else 0
    ticket.due_at = clock.add(ticket.entered_at, minutes + waited / 60) if minutes else None
    warn = sla.get("warn")
    ticket.warn_at = clock.add(ticket.entered_at, minutes * warn + waited / 60) if minutes and warn else None
    schedule(ticket)


def clear(ticket: Ticket) -> None:
    ticket.due_at = ticket.overdue_at = ticket.warn_at = ticket.warned_at = ticket.timeout_at = None
    ticket.next_check_at = None


def due_times(ticket: Ticket) -> list[datetime]:
    """What the worker still has to act on: a pending ticket's SLA is stopped, its timeout and ``until`` run."""
    if ticket.status == "closed":
        return []
    found = [ticket.timeout_at]
    if ticket.status == "pending":
        found.append(ticket.pending_until)
    else:
        found += [ticket.warn_at if ticket.warned_at is None else None,
                  ticket.due_at if ticket.overdue_at is None else None]
    return [moment for moment in found if moment is not None]


def schedule(ticket: Ticket) -> None:
    """Keep ``next_check_at`` the earliest of :func:`due_times` (None: nothing left for the worker)."""
    ticket.next_check_at = min(due_times(ticket), default=None)


def pause(ticket: Ticket, until: datetime | None, now: datetime) -> None:
    """The ticket waits from ``now`` (until ``until``, if given): its SLA stops, its timeout runs on."""
    ticket.status, ticket.pending_since, ticket.pending_until = "pending", now, until
    schedule(ticket)


def resume(ticket: Ticket, step: dict, now: datetime) -> int:
    """End the wait: due and warning times move on by the paused working time; returns those seconds.

    A ticket already overdue (or warned) keeps that time: its clock had run out before it waited.
    """
    clock = sla_clock(step)
    paused = clock.seconds_between(ticket.pending_since, now) if ticket.pending_since else 0
    if paused and ticket.due_at is not None and ticket.overdue_at is None:
        ticket.due_at = clock.add(ticket.due_at, paused / 60)
    if paused and ticket.warn_at is not None and ticket.warned_at is None:
        ticket.warn_at = clock.add(ticket.warn_at, paused / 60)
    ticket.status, ticket.pending_since, ticket.pending_until = "open", None, None
    schedule(ticket)
    return paused


def dwell(ticket: Ticket, step_key: str | None, entered: datetime | None, now: datetime) -> int | None:
    """Seconds the ticket spent at ``step_key`` (the reports' dwell): working seconds of the step's
    ``sla.calendar``, whole seconds when it names none (or the step is gone from the version)."""
    step = next((s for s in ticket.process_version.document["steps"] if s["key"] == step_key), None)
    code = ((step or {}).get("sla") or {}).get("calendar")
    if not code or entered is None:
        return whole_seconds(entered, now)
    return worktime(code).seconds_between(entered.replace(microsecond=0), now.replace(microsecond=0))


def said(msgid: str, **params) -> str:
    """A system event's words in the site's language (``BABEL_DEFAULT_LOCALE``, Chinese by default).

    History rows store text, not message ids: the worker has no reader to translate for.
    """
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh") if has_app_context() else "zh"
    return cli_gettext(locale)(msgid) % params if params else cli_gettext(locale)(msgid)
