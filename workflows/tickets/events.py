"""Ticket events: the engine announces each action once, and its side effects subscribe.

The engine writes the action's history row itself (history is its own record), then
sends :data:`ticket_acted` with one :class:`Acted` inside the action's transaction:
what a subscriber writes commits with the action, and a subscriber that raises rolls
the whole action back. The built-in subscribers are connected by :func:`connect_defaults`,
which the engine calls when it is imported: it is the only sender, so the app, the CLI
and a test that imports nothing but the engine all run them, and connecting twice
connects nothing twice.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blinker import NamedSignal

from workflows.storage.models import Ticket, TicketEvent, User
from workflows.subscribers import automation, mail, notifications, webhooks
from workflows.subscribers import search as search_index

NAMES = {"create": "ticket.created", "advance": "ticket.advanced", "return": "ticket.returned",
         "transfer": "ticket.transferred", "close": "ticket.closed", "reopen": "ticket.reopened"}
NAMES["sign"] = "ticket.signed"  # a signer's part at a countersign step (docs/countersign.md)
NAMES.update(spawn="ticket.spawned", link="ticket.linked", unlink="ticket.unlinked", merge="ticket.merged")
NAMES.update(wait="ticket.waiting", resume="ticket.resumed", warn="ticket.warned", escalate="ticket.escalated",
             timeout="ticket.timed_out")  # issue 19: tickets/pending.py, tickets/sla.py
NAMES["assign"] = "ticket.assigned"  # issue 21: a supervisor gives the ticket to someone, tickets/assign.py


@dataclass(frozen=True)
class Acted:
    """One action as its subscribers see it: the ticket after it, and what they need of before."""

    ticket: Ticket
    action: str  # a key of NAMES
    actor: User
    assignee_before: int | None  # a notice goes to a new handler only
    at: datetime  # the action's time: its history row's created_at
    record: TicketEvent  # the history row the engine wrote

    @property
    def name(self) -> str:
        """The event's public name, as webhook endpoints and customer e-mail settings spell it."""
        return NAMES[self.action]


class OrderedSignal(NamedSignal):
    """A blinker signal that calls its receivers in the order they were connected.

    blinker keeps receivers in a set and leaves their order undefined; ours matters,
    since automation rules may change the ticket after the others reported the action.
    ``receivers_for`` is blinker's public hook that ``send`` iterates (pinned by
    tests/test_events.py).
    """

    def receivers_for(self, sender: Any) -> Iterator[Any]:
        live = list(super().receivers_for(sender))
        connected = [r() if isinstance(r, weakref.ref) else r for r in self.receivers.values()]
        return iter(sorted(live, key=connected.index))


ticket_acted = OrderedSignal("ticket-acted", doc="Sent once per engine action with an Acted, in its transaction.")


def connect_defaults() -> None:
    """Connect the built-in subscribers in the order they run; connecting again changes nothing.

    Notifications, webhooks and customer e-mail report the action the user took;
    automation comes last because its rules may change the handler or priority.
    """
    for receiver in (notifications.on_action, webhooks.on_action, mail.on_action, automation.on_action):
        ticket_acted.connect(receiver)
    ticket_acted.connect(search_index.on_action)  # last: it indexes the ticket as automation left it
