"""Planner statistics (issue 24, ``workflows.storage.statistics``) on both databases: refreshed after a
migration of a database that holds tickets and by the worker once an hour; not for an empty database."""

from __future__ import annotations

import time

from peewee import SqliteDatabase
from test_engine import REGISTER

from workflows.storage import db as lzdb
from workflows.storage import statistics
from workflows.storage.models import ProcessVersion, Ticket
from workflows.subscribers import worker


def analysed() -> bool:
    """Whether the planner has statistics of the ticket table."""
    if isinstance(lzdb.database.obj, SqliteDatabase):
        found = lzdb.database.execute_sql("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
        return bool(found) and bool(lzdb.database.execute_sql(
            "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'ticket'").fetchone()[0])
    row = lzdb.database.execute_sql("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'ticket'").fetchone()
    return row is not None and row[0] is not None


def forget_statistics() -> None:
    if isinstance(lzdb.database.obj, SqliteDatabase):
        if lzdb.database.execute_sql("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            lzdb.database.execute_sql("DELETE FROM sqlite_stat1")


def tickets(world, count: int) -> None:
    version = ProcessVersion.select().first()
    rows = [{"number": f"ST{i:08d}", "process_version": version, "step": "approve", "assignee": world["sup"],
             "creator": world["agent"], "data": REGISTER, "channel": "phone"} for i in range(count)]
    with lzdb.database.atomic():
        for start in range(0, count, 500):
            Ticket.insert_many(rows[start:start + 500]).execute()


def test_a_migrated_database_with_tickets_is_analysed_and_an_empty_one_is_not(world):
    forget_statistics()
    assert statistics.after_migrations([]) is False
    assert statistics.after_migrations(["0026_generation"]) is False  # a handful of tickets: left alone
    if isinstance(lzdb.database.obj, SqliteDatabase):
        assert not analysed()
    tickets(world, statistics.WORTH_IT)
    assert statistics.after_migrations(["0026_generation"]) is True
    assert analysed()


def test_the_worker_refreshes_them_when_an_hour_has_passed(world, monkeypatch):
    tickets(world, 10)
    forget_statistics()
    now = time.monotonic()
    assert worker._analyse_when_due(now) == now  # not due: nothing run
    if isinstance(lzdb.database.obj, SqliteDatabase):
        assert not analysed()
    lzdb.database.close()  # the worker opens its own connection
    assert worker._analyse_when_due(now - statistics.EVERY - 1) > now
    lzdb.database.connect(reuse_if_open=True)
    assert analysed()
