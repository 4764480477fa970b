"""Concurrent actions on both databases: distinct numbers, no lost or doubled updates."""

from __future__ import annotations

import threading

from test_engine import REGISTER, fresh, new_ticket

from workflows.storage.db import database
from workflows.storage.models import TicketEvent
from workflows.tickets import engine
from workflows.tickets.engine import Conflict


def run_together(count: int, work) -> list:
    """Start ``count`` threads at one barrier; each returns its result or the exception it raised."""
    barrier, results = threading.Barrier(count, timeout=60), [None] * count  # fail, never hang, if one cannot start

    def worker(i):
        with database.connection_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as error:  # noqa: BLE001 - collected for the assertions
                results[i] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_twenty_concurrent_creations_get_twenty_distinct_numbers(world):
    agent = world["agent"]
    results = run_together(20, lambda i: engine.create(agent, "return_goods", dict(REGISTER)).number)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 20
    assert sorted(int(r[-4:]) for r in results) == list(range(1, 21))


def test_ten_concurrent_advances_of_one_version_make_one_event(world):
    ticket = fresh(new_ticket(world))
    approver = ticket.assignee

    def approve(i):
        return engine.act(approver, ticket.number, "advance", version=ticket.version,
                          data={"approval": "approve"}, transition="warehouse").version

    results = run_together(10, approve)
    assert [r for r in results if r == 2] == [2], results
    assert all(isinstance(r, Conflict) for r in results if r != 2), results
    assert TicketEvent.select().where(TicketEvent.ticket == ticket, TicketEvent.action == "advance").count() == 1
    assert fresh(ticket).version == 2
