"""Engine events on both databases: one per action, inside its transaction, to subscribers in a fixed order."""

from __future__ import annotations

import importlib

import pytest
from test_engine import FINANCE, WAREHOUSE, advance, fresh, new_ticket

from app import create_app
from workflows.storage.models import Notification, Ticket, TicketEvent, WebhookDelivery, WebhookEndpoint
from workflows.subscribers import webhooks
from workflows.tickets import engine, events
from workflows.tickets.events import OrderedSignal, ticket_acted

DEFAULTS = ["workflows.subscribers.notifications", "workflows.subscribers.webhooks", "workflows.subscribers.mail",
            "workflows.subscribers.automation", "workflows.subscribers.search"]


class Boom(Exception):
    """What the failing subscriber raises."""


def subscribe_endpoint() -> WebhookEndpoint:
    """An endpoint for every event: an action queues a delivery (nothing is sent in these tests)."""
    return WebhookEndpoint.create(name="crm", url="http://127.0.0.1:9/hook", secret="s", events=list(webhooks.EVENTS))


def rows() -> tuple[int, ...]:
    """How many tickets, history rows, notifications and webhook deliveries there are."""
    return tuple(model.select().count() for model in (Ticket, TicketEvent, Notification, WebhookDelivery))


def the_life_of_a_ticket(world) -> str:
    """Create, advance, transfer, advance, return, advance, close and reopen one ticket; its number."""
    ticket = new_ticket(world)
    advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    advance(world, "wh1", ticket, action="transfer", assignee="wh2", comment="我休假")
    advance(world, "wh2", ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, action="return", comment="照片不清楚")
    advance(world, "wh2", ticket, WAREHOUSE, assignee="fin1")
    advance(world, "fin1", ticket, FINANCE, action="close")
    advance(world, "fin_lead", ticket, action="reopen", comment="客户未收到退款")
    return ticket.number


def test_a_subscriber_receives_one_event_per_action_with_its_fields(world):
    names = {user.id: name for name, user in world.items()}
    seen = []

    def subscriber(event: events.Acted) -> None:
        record = TicketEvent.get_by_id(event.record.id)  # the engine wrote its history row first
        seen.append((event.action, event.name, event.actor.username, names.get(event.assignee_before),
                     names.get(event.ticket.assignee_id), record.action, record.created_at == event.at))

    with ticket_acted.connected_to(subscriber):
        number = the_life_of_a_ticket(world)
    approver = seen[0][4]  # the round-robin's pick
    assert seen == [
        ("create", "ticket.created", "agent", None, approver, "create", True),
        ("advance", "ticket.advanced", approver, approver, "wh1", "advance", True),
        ("transfer", "ticket.transferred", "wh1", "wh1", "wh2", "transfer", True),
        ("advance", "ticket.advanced", "wh2", "wh2", "fin1", "advance", True),
        ("return", "ticket.returned", "fin1", "fin1", "wh2", "return", True),
        ("advance", "ticket.advanced", "wh2", "wh2", "fin1", "advance", True),
        ("close", "ticket.closed", "fin1", "fin1", None, "close", True),
        ("reopen", "ticket.reopened", "fin_lead", None, "fin1", "reopen", True),
    ]
    assert len(seen) == TicketEvent.select().where(TicketEvent.ticket == engine.load(number)).count()


def test_the_event_is_frozen(world):
    seen = []
    with ticket_acted.connected_to(seen.append):
        new_ticket(world)
    with pytest.raises(AttributeError):
        seen[0].action = "close"


@pytest.mark.parametrize("action", ["create", "advance"])
def test_a_subscriber_that_raises_rolls_back_the_whole_action(world, action):
    subscribe_endpoint()
    ticket = new_ticket(world) if action == "advance" else None
    before = rows()

    def fail(event: events.Acted) -> None:
        assert rows() != before  # the history row and the default subscribers' rows were written...
        raise Boom

    with ticket_acted.connected_to(fail), pytest.raises(Boom):
        if ticket is None:
            new_ticket(world)
        else:
            advance(world, fresh(ticket).assignee.username, ticket, {"approval": "approve"}, transition="warehouse")
    assert rows() == before  # ...and rolled back with the action
    if ticket is not None:
        assert (fresh(ticket).step, fresh(ticket).version) == ("approve", 1)


def test_the_default_subscribers_are_connected_once_and_in_order(world, db_url, tmp_path):
    importlib.reload(engine)  # importing the engine again connects them again: nothing changes
    events.connect_defaults()
    for name in ("one", "two"):
        create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                    "UPLOAD_DIR": str(tmp_path / name)})
    assert [receiver.__module__ for receiver in ticket_acted.receivers_for(None)] == DEFAULTS
    subscribe_endpoint()
    ticket = fresh(new_ticket(world))
    assert [n.user_id for n in Notification.select()] == [ticket.assignee_id]
    assert [d.event for d in WebhookDelivery.select()] == ["ticket.created"]


class Listener:
    def __init__(self, calls: list) -> None:
        self.calls = calls

    def heard(self, sender) -> None:
        self.calls.append(self)


def test_receivers_run_in_the_order_they_were_connected():
    """Pins OrderedSignal: blinker itself keeps receivers in a set and promises no order."""
    signal, calls = OrderedSignal("test-order"), []
    functions = [lambda sender, i=i: calls.append(i) for i in range(40)]
    listener = Listener(calls)
    for receiver in [*functions[:20], listener.heard, *functions[20:]]:
        signal.connect(receiver)
    signal.send(None)
    assert calls == [*range(20), listener, *range(20, 40)]
