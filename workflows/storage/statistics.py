"""Planner statistics (issue 24): ``ANALYZE`` after migrations and, from the worker, once an hour.

Without statistics SQLite's planner guessed "my open tickets" from the wrong index and read every
open ticket (10x slower at 12k tickets than after ``ANALYZE``); nothing ran it. SQLite analyses with
``analysis_limit`` (about a thousand rows sampled per index: milliseconds at a million tickets, so the
write lock it takes is short); PostgreSQL's autovacuum analyses by itself, and ``ANALYZE`` after a
migration covers new tables and indexes at once.

A database with almost no tickets is left alone after migrating: statistics of empty tables would
tell the planner they stay tiny (the worker's hourly run corrects that as they grow).
"""

from __future__ import annotations

from peewee import SqliteDatabase

from workflows.storage.db import database

SAMPLE = 1000  # SQLite: rows sampled per index (PRAGMA analysis_limit)
WORTH_IT = 1000  # tickets below which a just-migrated database is not analysed
EVERY = 3600.0  # seconds between the worker's runs


def refresh() -> None:
    """Bring the planner's statistics up to date (the caller's connection; not inside a transaction)."""
    if isinstance(database.obj, SqliteDatabase):
        database.execute_sql(f"PRAGMA analysis_limit = {SAMPLE}")
        database.execute_sql("ANALYZE")
        return
    database.execute_sql("ANALYZE")


def after_migrations(applied: list[str]) -> bool:
    """Refresh after ``upgrade`` applied something to a database that holds tickets; whether it did."""
    if not applied or "ticket" not in database.get_tables():  # stopped before the tickets' migration
        return False
    sql = f"SELECT count(*) FROM (SELECT 1 FROM ticket LIMIT {WORTH_IT}) AS t"
    if database.execute_sql(sql).fetchone()[0] < WORTH_IT:
        return False
    refresh()
    return True
