"""SLA: a step's ``sla.minutes`` sets ``due_at`` on entry (see the engine);
the sweep marks overdue tickets and notifies exactly once per overdue entry.

The mark is a conditional update (``overdue_at IS NULL``), so two sweeps
running at once, on any number of hosts, notify once between them.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from workflows.people.org import manager_chain
from workflows.storage.db import database
from workflows.storage.models import Notification, Ticket, User, utcnow
from workflows.subscribers import automation, webhooks

sla_cli = AppGroup("sla", help="Service level (SLA) deadlines.")


def _notify(ticket: Ticket, now: datetime) -> None:
    department = User.select(User.department).where(User.id == ticket.assignee_id).scalar()
    people = [ticket.assignee_id, *manager_chain(department)[:1]]
    for user in dict.fromkeys(p for p in people if p is not None):
        Notification.create(user=user, ticket=ticket, kind="overdue", created_at=now,
                            message=f"{ticket.number}: overdue since {ticket.due_at:%Y-%m-%d %H:%M} UTC")


def sweep(now: datetime | None = None) -> list[str]:
    """Mark open tickets past their due time; returns the numbers newly marked."""
    now = now or utcnow()
    due = Ticket.select(Ticket.id).where(Ticket.status == "open", Ticket.due_at < now, Ticket.overdue_at.is_null())
    marked = []
    for (ticket_id,) in due.tuples():
        with database.atomic():
            claimed = (Ticket.update(overdue_at=now)
                       .where(Ticket.id == ticket_id, Ticket.overdue_at.is_null(), Ticket.due_at < now).execute())
            if claimed:
                ticket = Ticket.get_by_id(ticket_id)
                _notify(ticket, now)
                webhooks.enqueue("ticket.overdue", ticket)
                automation.run("ticket.overdue", ticket, None)  # same transaction as the mark
                marked.append(ticket.number)
    return marked


@sla_cli.command("sweep")
def sweep_command():
    """Mark overdue tickets and send their notifications once."""
    with database.connection_context():
        marked = sweep()
    click.echo(f"{len(marked)} ticket(s) newly overdue" + (": " + ", ".join(marked) if marked else ""))
