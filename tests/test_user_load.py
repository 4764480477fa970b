"""Open tickets per handler kept by the database (issue 24, migration 0027) on both databases: the counts
follow every path that changes a ticket's handler or status, the migration starts them from the tickets as
they are, and the least-loaded pick reads them."""

from __future__ import annotations

import importlib

from test_engine import FINANCE, WAREHOUSE, advance, fresh, new_ticket, to_warehouse

from workflows.storage import db as lzdb
from workflows.storage.models import Ticket, UserLoad
from workflows.tickets import engine

MIGRATION = importlib.import_module("workflows.storage.migrations.0027_user_load")
ORDERED = importlib.import_module("workflows.storage.migrations.0028_user_load_order")  # 0027's function, reordered


def kept() -> dict[int, int]:
    return {u: n for u, n in UserLoad.select(UserLoad.user, UserLoad.open).tuples() if n}


def counted() -> dict[int, int]:
    """What the counts must be: tickets not closed (pending included) per handler."""
    rows = (Ticket.select(Ticket.assignee, Ticket.id).where(Ticket.status != "closed", Ticket.assignee.is_null(False))
            .tuples())
    found: dict[int, int] = {}
    for assignee, _ in rows:
        found[assignee] = found.get(assignee, 0) + 1
    return found


def test_the_counts_follow_creating_advancing_closing_reopening_and_any_sql(world):
    tickets = [to_warehouse(world) for _ in range(3)]
    new_ticket(world)
    assert kept() == counted() and sum(kept().values()) == 4
    first = fresh(tickets[0])
    advance(world, first.assignee.username, first, WAREHOUSE, assignee="fin1")
    assert kept() == counted()
    assert kept()[world["fin1"].id] == 1
    advance(world, "fin1", first, FINANCE, action="close")
    assert kept() == counted() and world["fin1"].id not in kept()
    engine.act(world["admin"], first.number, "reopen", version=fresh(first).version)
    assert kept() == counted() and sum(kept().values()) == 4
    Ticket.update(assignee=world["wh2"]).where(Ticket.id == tickets[1].id).execute()  # any path, even SQL
    Ticket.delete().where(Ticket.id == tickets[2].id).execute()
    assert kept() == counted()


def test_the_migration_starts_from_the_tickets_as_they_are(world):
    for _ in range(3):
        to_warehouse(world)
    before = kept()
    with lzdb.database.atomic():
        MIGRATION.down(None, lzdb.database.obj)
        MIGRATION.up(None, lzdb.database.obj)
        ORDERED.up(None, lzdb.database.obj)
    assert kept() == before == counted()
    to_warehouse(world)
    assert kept() == counted()  # and the triggers are back


def test_the_least_loaded_pick_reads_the_kept_counts(world):
    """wh1 is given a heavy load in the counts alone: the next warehouse ticket goes to wh2."""
    UserLoad.insert(user=world["wh1"], open=50).on_conflict(conflict_target=[UserLoad.user],
                                                            update={UserLoad.open: 50}).execute()
    picked = {fresh(to_warehouse(world)).assignee.username for _ in range(2)}
    assert "wh1" not in picked
