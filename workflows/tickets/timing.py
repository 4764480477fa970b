"""A ticket's clock at its step: SLA due time, warning, timeout and the worker's next look.

``enter`` runs whenever a ticket enters a step (``moves.enter``); it sets ``due_at`` from the
step's ``sla`` (minutes, or minutes per priority), ``warn_at`` from ``sla.warn``, ``timeout_at``
from ``timeout``, and ``next_check_at``, the earliest of those the worker still has to act on.
Working time of a calendar (``sla.calendar``, ``timeout.calendar``) is counted by
``workflows.calendars``; without one, every minute counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.storage.models import Ticket, whole_seconds


def sla_minutes(step: dict, priority: str) -> int | None:
    """The step's SLA in minutes for ``priority``; None when it has none (for that priority)."""
    minutes = step.get("sla", {}).get("minutes")
    return minutes.get(priority) if isinstance(minutes, dict) else minutes


def enter(ticket: Ticket, step: dict, now: datetime) -> None:
    minutes = sla_minutes(step, ticket.priority or "normal")
    ticket.due_at = now + timedelta(minutes=minutes) if minutes else None
    ticket.overdue_at = ticket.warned_at = ticket.warn_at = ticket.timeout_at = None
    ticket.next_check_at = ticket.due_at


def clear(ticket: Ticket) -> None:
    ticket.due_at = ticket.overdue_at = ticket.warn_at = ticket.warned_at = ticket.timeout_at = None
    ticket.next_check_at = None


def dwell(ticket: Ticket, step_key: str | None, entered: datetime | None, now: datetime) -> int | None:
    """Seconds the ticket spent at ``step_key`` (the reports' dwell)."""
    return whole_seconds(entered, now)
