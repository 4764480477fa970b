"""Concurrent actions that collide in the database (issue 24: CI's killed-worker run met a deadlock as a 500).

Two handovers in opposite directions (A to B beside B to A) locked the handlers' ``user_load`` rows in
opposite orders; migration 0028 locks the lower id first. Whatever else PostgreSQL rolls back for a
deadlock or a serialization failure is a 409 the user may retry, with nothing of the action kept.
"""

from __future__ import annotations

import threading
import time

import peewee
import psycopg
import pytest
from psycopg import errors
from test_api import Api, counts, create
from test_engine import to_warehouse

from workflows.storage.models import Ticket, UserLoad
from workflows.tickets import engine


def _waiting(probe, pid: int) -> bool:
    """Whether the backend ``pid`` waits for a lock (the mover reached its first ``user_load`` row)."""
    for _ in range(100):
        if probe.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0] == "Lock":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_handover_locks_the_lower_handler_first(world, db_url):
    """The lower id's row is held elsewhere: the move from the higher to the lower waits for it holding nothing.

    With migration 0027's order the mover first took the higher id's row (the count it gives up), then
    waited for the lower: the probe's NOWAIT lock of the higher row would fail.
    """
    low, high = sorted((world["wh1"], world["wh2"]), key=lambda user: user.id)
    ticket = to_warehouse(world)
    Ticket.update(assignee=high).where(Ticket.id == ticket.id).execute()
    UserLoad.insert(user=low, open=0).on_conflict_ignore().execute()
    with psycopg.connect(db_url) as holder, psycopg.connect(db_url) as mover, \
            psycopg.connect(db_url, autocommit=True) as probe:
        holder.execute("SELECT 1 FROM user_load WHERE user_id = %s FOR UPDATE", (low.id,))
        move = threading.Thread(target=mover.execute, args=("UPDATE ticket SET assignee_id = %s WHERE id = %s",
                                                            (low.id, ticket.id)))
        move.start()
        try:
            assert _waiting(probe, mover.info.backend_pid)
            with probe.transaction():
                probe.execute("SELECT 1 FROM user_load WHERE user_id = %s FOR UPDATE NOWAIT", (high.id,))
        finally:
            holder.rollback()
            move.join(10)
        mover.commit()
    assert Ticket.get_by_id(ticket.id).assignee_id == low.id


@pytest.mark.parametrize("error", [errors.DeadlockDetected("deadlock detected"),
                                   errors.SerializationFailure("could not serialize access")])
def test_a_collision_is_a_409_and_keeps_nothing(client, world, monkeypatch, error):
    api = Api(client)
    ticket = create(api)
    before = counts(), Ticket.get(Ticket.number == ticket["number"]).version
    advance = engine.HANDLERS["advance"]

    def collide(*args, **kwargs):
        advance(*args, **kwargs)  # the action's writes are made, then the database refuses the transaction
        raise peewee.OperationalError(error)

    monkeypatch.setitem(engine.HANDLERS, "advance", collide)
    answer = api.act(ticket["assignee"], ticket["number"], "advance", data={"approval": "approve"},
                     transition="warehouse")
    assert answer.status_code == 409 and answer.json["error"] == "conflict", answer.json
    assert "try again" in answer.json["message"]
    assert (counts(), Ticket.get(Ticket.number == ticket["number"]).version) == before


def test_other_database_errors_stay_errors(world, monkeypatch):
    """Only a collision becomes a Conflict: a broken statement is still a server error, logged as one."""
    def broken(*args, **kwargs):
        raise peewee.OperationalError(errors.UndefinedColumn("no such column"))

    ticket = to_warehouse(world)
    monkeypatch.setitem(engine.HANDLERS, "advance", broken)
    with pytest.raises(peewee.OperationalError):
        engine.act(world[Ticket.get_by_id(ticket.id).assignee.username], ticket.number, "advance",
                   version=Ticket.get_by_id(ticket.id).version, data={})
