"""In-app notifications of engine actions: the new handler, and the creator when their ticket closes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflows.storage.models import Notification
from workflows.subscribers import robots

if TYPE_CHECKING:
    from workflows.tickets.events import Acted

NOTICES = {"return": "returned", "transfer": "transferred", "reopen": "reopened"}


def on_action(event: Acted) -> None:
    """Subscriber of every action: tell whoever the ticket reached, and the creator that it closed.

    Nobody is told of their own action, nor a handler who already had the ticket.
    """
    ticket, actor, action = event.ticket, event.actor, event.action
    if ticket.assignee_id not in (None, actor.id, event.assignee_before):
        Notification.create(user=ticket.assignee_id, ticket=ticket, kind=NOTICES.get(action, "assigned"),
                            message=f"{ticket.number}: {action}")
        robots.queue("assignment", ticket, ticket.assignee_id)  # the chat robots in scope (docs/robots.md)
    if action == "close" and ticket.creator_id != actor.id:
        Notification.create(user=ticket.creator_id, ticket=ticket, kind="closed", message=f"{ticket.number}: close")
