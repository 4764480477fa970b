"""The load tests' integrity checks find what they claim to find: a checker that never fails proves nothing.

Histories are made by the engine (``world``, both databases), then corrupted
the ways a broken server could: a move without its event, an event without
its move, a forbidden jump, lost or unseen writes.
"""

from __future__ import annotations

import pytest
from harness import Recorder
from integrity import problems
from test_engine import WAREHOUSE, advance, fresh, to_warehouse

from formbuilder import cache
from workflows.storage.db import database
from workflows.storage.models import Ticket, TicketEvent


def walked(world) -> Ticket:
    """A ticket approved, returned by the warehouse, approved again and sent to finance."""
    ticket = to_warehouse(world)
    advance(world, fresh(ticket).assignee.username, ticket, action="return", comment="照片不清楚")
    advance(world, fresh(ticket).assignee.username, ticket, transition="warehouse")
    advance(world, fresh(ticket).assignee.username, ticket, WAREHOUSE, assignee="fin1")
    return fresh(ticket)


def seen(*tickets: Ticket) -> Recorder:
    """What clients would have seen: one successful answer per event."""
    recorder = Recorder()
    for ticket in tickets:
        events = TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id)
        for version, event in enumerate(events, start=1):
            recorder.confirm(ticket.number, version, event.action, event.to_step)
    return recorder


def last_event(ticket: Ticket) -> TicketEvent:
    return TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id.desc()).first()


@pytest.fixture
def history(world):
    cache.clear()  # the checker compiles steps of this database's published version
    yield walked(world), walked(world)
    cache.clear()


def test_the_engine_leaves_a_history_without_problems(history):
    assert problems(seen(*history)) == []


def _step_without_event(ticket, recorder):
    Ticket.update(step="finance", version=Ticket.version + 1).where(Ticket.id == ticket.id).execute()


def _event_without_step(ticket, recorder):
    TicketEvent.delete().where(TicketEvent.id == last_event(ticket).id).execute()


def _forbidden_jump(ticket, recorder):
    first = TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id).first()
    TicketEvent.update(to_step="warehouse").where(TicketEvent.id == first.id).execute()


def _wrong_return(ticket, recorder):
    TicketEvent.update(to_step="register").where(TicketEvent.ticket == ticket, TicketEvent.action == "return").execute()


def _no_create(ticket, recorder):
    TicketEvent.update(action="advance").where(TicketEvent.ticket == ticket, TicketEvent.action == "create").execute()


def _data_without_event(ticket, recorder):
    Ticket.update(data={**ticket.data, "approval": "reject"}).where(Ticket.id == ticket.id).execute()


def _unseen_write(ticket, recorder):
    recorder.confirmed[ticket.number].pop(ticket.version)


def _lost_ticket(ticket, recorder):
    recorder.confirm("TH000000009999", 1, "create", "approve")


def _unseen_ticket(ticket, recorder):
    recorder.confirmed[ticket.number].pop(1)


CORRUPTIONS = [
    (_step_without_event, "half-applied"),
    (_event_without_step, "half-applied"),
    (_forbidden_jump, "follows no transition"),
    (_wrong_return, "follows no transition"),
    (_no_create, "does not start with a create event"),
    (_data_without_event, "is not what the events changed"),
    (_unseen_write, "no client saw succeed"),
    (_lost_ticket, "missing in the database"),
    (_unseen_ticket, "no client saw created"),
]


def test_each_corruption_is_reported(history):
    """One history, each corruption applied in a transaction rolled back afterwards (a table, not 18 setups)."""
    ticket, _ = history
    for corrupt, expected in CORRUPTIONS:
        with database.atomic() as transaction:
            recorder = seen(*history)
            corrupt(ticket, recorder)
            found = problems(recorder)
            transaction.rollback()
        assert any(expected in line for line in found), (corrupt.__name__, found)
    assert problems(seen(*history)) == []


@pytest.mark.parametrize("corrupt", [_unseen_write, _unseen_ticket])
def test_an_unseen_write_is_allowed_where_a_connection_broke(history, corrupt):
    ticket, _ = history
    recorder = seen(*history)
    corrupt(ticket, recorder)
    recorder.unknown[ticket.number if corrupt is _unseen_write else ""] += 1
    assert problems(recorder) == []
