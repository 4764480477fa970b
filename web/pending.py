"""The pending (等待客户回复) pieces of the pages: the ticket page's panel and the wait form's ``until``.

The rules (who may wait or resume, at which step, what ``until`` may be) are the engine's
(``workflows.tickets.pending``); this module only asks the engine's own tables so the page
offers exactly what the engine would accept, and turns the browser's local time into UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import get_timezone
from flask_login import current_user

from workflows.storage.models import Ticket, TicketEvent
from workflows.tickets import engine
from workflows.tickets import pending as _actions  # noqa: F401  (registers wait and resume with the engine)
from workflows.tickets.access import can_act


def until_input(text: str | None) -> str | None:
    """A ``datetime-local`` value (the user's wall clock, no zone) as RFC 3339 in UTC, for the engine.

    The browser sends "2026-12-08T10:00" in the user's time zone (the one the pages show times
    in, ``BABEL_DEFAULT_TIMEZONE``); a value with its own offset keeps it. A value that is no time
    at all is passed on as typed, so the engine's refusal names ``until``.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        zone = get_timezone()  # pytz's zones need localize: replace() would give the zone's local mean time
        moment = zone.localize(moment) if hasattr(zone, "localize") else moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).isoformat()


def _may(action: str, ticket: Ticket) -> bool:
    """Whether the engine would let the current user take ``action`` now (its status and right; not the step)."""
    if action not in engine.HANDLERS or ticket.status not in engine.STATUSES.get(action, ()):
        return False
    return bool(engine.MAY.get(action, can_act)(current_user.user, ticket))


def last_wait(ticket: Ticket) -> TicketEvent | None:
    """The wait that made the ticket pending: its comment is the reason."""
    return (TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "wait")
            .order_by(TicketEvent.id.desc()).first())


def panel(ticket: Ticket, step: dict | None) -> dict:
    """What ``tickets/_pending.html`` shows: the pending state and which of the two forms to offer."""
    pending = ticket.status == "pending"
    wait = last_wait(ticket) if pending else None
    return {"pending": pending, "since": ticket.pending_since, "until": ticket.pending_until,
            "reason": wait.comment if wait is not None else None,
            "may_wait": bool(step and step.get("allow_wait")) and _may("wait", ticket),
            "may_resume": pending and _may("resume", ticket)}
