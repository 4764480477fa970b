"""A ticket as one reader may see it: the shape the API returns and pages render.

Fields the reader may not see are dropped here, from data and from the
history's diffs alike, so they never reach HTML or JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime

from workflows.people.org import members
from workflows.processes import documents as docs
from workflows.storage.models import Ticket, TicketEvent, User
from workflows.storage.prepared import Prepared
from workflows.tickets.access import filter_data, known_history, may_act, visible_fields

END = "$end"


def stamp(moment: datetime | None) -> str | None:
    """Stored times are naive UTC; the API speaks RFC 3339."""
    return moment.replace(tzinfo=UTC).isoformat() if moment else None


def usernames(ids) -> dict[int, str]:
    """Usernames of ``ids`` (unknown ids left out), from the members kept per configuration stamp."""
    known = members()
    return {i: known[i].username for i in ids if i is not None and i in known}


def step_of(ticket: Ticket, closed_label: str) -> dict:
    if ticket.step == END:
        return {"key": END, "name": closed_label}
    step = next(s for s in ticket.process_version.document["steps"] if s["key"] == ticket.step)
    return {"key": step["key"], "name": step["name"]}


def transitions_for(reader: User, ticket: Ticket) -> list[dict]:
    """Only the transitions the reader may take now."""
    if not may_act(reader, ticket):
        return []
    spec = docs.compiled(ticket.process_version, ticket.step).spec
    if spec.step.get("sign"):  # a countersign step moves on when its signatures decide (signing.py)
        return []
    return [{"to": t["to"], "label": t["label"]} for t in spec.offered(ticket.data)]


_EVENTS = Prepared(lambda ticket: TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id),
                   int)


def events_of(ticket: Ticket) -> list[TicketEvent]:
    """The ticket's history rows, oldest first (every ticket page and API answer: its text is built once)."""
    return _EVENTS.rows(ticket.id)


def history(ticket: Ticket, fields, events: list[TicketEvent] | None = None) -> list[dict]:
    events = events_of(ticket) if events is None else events
    names = usernames({i for e in events for i in (e.actor_id, e.assignee_before_id, e.assignee_after_id)})
    return [{"action": e.action, "from_step": e.from_step, "to_step": e.to_step, "actor": names.get(e.actor_id),
             "assignee_before": names.get(e.assignee_before_id), "assignee_after": names.get(e.assignee_after_id),
             "changes": changes(e, fields), "comment": e.comment, "created_at": stamp(e.created_at)}
            for e in events]


def changes(event: TicketEvent, fields) -> dict:
    """Field changes the reader may see; a tag event's diff is no field data: the tag and the rule, if any."""
    if event.action == "tag":
        return {"tag": dict(event.diff.get("tag") or {})}
    if event.action == "migrated":  # the versions it moved between are no field data (processes/migrate.py)
        return {**filter_data(event.diff, fields), "$versions": event.diff.get("$versions")}
    return filter_data(event.diff, fields)


def summary(ticket: Ticket, names: dict[int, str], closed_label: str = "Closed") -> dict:
    """The list view: no field data."""
    return {"number": ticket.number, "process": ticket.process_version.document["code"],
            "process_version": ticket.process_version.number, "step": step_of(ticket, closed_label),
            "status": ticket.status, "priority": ticket.priority, "assignee": names.get(ticket.assignee_id),
            "creator": names.get(ticket.creator_id), "version": ticket.version, "created_at": stamp(ticket.created_at),
            "updated_at": stamp(ticket.updated_at), "due_at": stamp(ticket.due_at),
            "overdue": ticket.overdue_at is not None}


def customer_of(ticket: Ticket) -> dict | None:
    if ticket.customer_id is None:
        return None
    customer = ticket.customer  # kept on the ticket: the page reads it again (level, links)
    return {"name": customer.name, "phone": customer.phone}


def ticket_view(reader: User, ticket: Ticket, closed_label: str = "Closed",
                events: list[TicketEvent] | None = None) -> dict:
    """Everything ``reader`` may see of ``ticket``; the caller has checked can_read. ``events``: its history
    rows if the caller read them (they also answer which steps the reader handled: ``known_history``)."""
    events = events_of(ticket) if events is None else events
    known_history(reader, ticket, events)
    fields = visible_fields(reader, ticket)
    view = summary(ticket, usernames([ticket.assignee_id, ticket.creator_id]), closed_label)
    view.update(customer=customer_of(ticket), channel=ticket.channel, data=filter_data(ticket.data, fields),
                transitions=transitions_for(reader, ticket), history=history(ticket, fields, events))
    return view
