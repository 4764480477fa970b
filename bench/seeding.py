"""Fresh benchmark databases and fast bulk seeding of tickets, events, ratings and customers.

Rows go in by ``COPY`` on PostgreSQL and chunked ``insert_many`` on SQLite,
not through the engine: a million engine calls would take hours, and the
probes read the same columns either way. Ids follow creation time and the
open backlog is the recent work, as in production.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from peewee import chunked

from workflows import demo
from workflows.people import org
from workflows.storage import db as lzdb
from workflows.storage.models import (
    Customer,
    CustomerPhone,
    Department,
    Rating,
    Ticket,
    TicketEvent,
    User,
    whole_seconds,
)

ROOT = Path(__file__).resolve().parent.parent

PG_ADMIN = os.environ.get("LZ_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
YEAR_START, YEAR_END = datetime(2025, 12, 1), datetime(2026, 12, 1)
YEAR = (YEAR_END - YEAR_START).total_seconds()
CHUNK = 5000
BACKLOG = 3000
STEPS = ("approve", "warehouse", "finance")
DEPARTMENTS = ("service", "warehouse", "finance")
TICKETS_PER_CUSTOMER = 3  # customers grow with the history, so a caller's own history stays short
PROGRESS = 1_000_000  # a line per million tickets: a 10M seed runs for a long while
SEEDED = (Customer, CustomerPhone, Ticket, TicketEvent, Rating)


def phone_of(customer: int) -> str:
    """The stored mobile number of seeded customer ``customer``: E.164, as ``phones.canonical`` keeps it (a
    national spelling here was never found by the engine's lookup: every bench call made a new customer)."""
    return f"+86139{customer:08d}"


def customer_count(size: int) -> int:
    return max(size // TICKETS_PER_CUSTOMER, 100)


def staff() -> dict[str, list[int]]:
    """The demo org plus 40 handlers in the service, warehouse and finance departments.

    The first is made by ``org.create_user``; the others copy its password hash, since
    hashing 40 passwords (deliberately slow) would dominate a quick run's seeding.
    """
    first = org.create_user("bench00", "benchpass1", "agent", "service")
    departments = {d.code: d.id for d in Department.select()}
    rows = [{"username": f"bench{i:02d}", "name": f"bench{i:02d}", "password_hash": first.password_hash,
             "role": "handler" if i % 3 else "agent", "department": departments[DEPARTMENTS[i % 3]]}
            for i in range(1, 40)]
    User.insert_many(rows).execute()
    return people()


def people() -> dict[str, list[int]]:
    """The staff ids the seeded tickets are spread over (agents create, handlers hold), read back."""
    users = list(User.select(User.id, User.role).where(User.role != "admin").tuples())
    return {"agents": [u for u, r in users if r == "agent"] or [u for u, _ in users],
            "handlers": [u for u, r in users if r in ("handler", "supervisor")]}


def customer_rows(first: int, count: int) -> tuple[list[dict], list[dict]]:
    """Customers ``first``..``first+count-1`` and one phone row each."""
    created = YEAR_START - timedelta(days=1)
    ids = range(first, first + count)
    customers = [{"id": i, "name": f"客户{i}", "phone": phone_of(i), "level": "normal", "created_at": created}
                 for i in ids]
    return customers, [{"id": i, "customer": i, "phone": phone_of(i)} for i in ids]


def ticket_rows(first: int, count: int, size: int, version: int, people: dict, rnd: random.Random):
    """Tickets ``first``..``first+count-1`` of ``size``, with their events and ratings, as insert rows.

    Of the newest BACKLOG tickets about half are open, all older ones are closed,
    so the open work is the same whatever the history's length.
    """
    tickets, events, ratings = [], [], []
    customers = customer_count(size)
    for number in range(first, first + count):
        created = YEAR_START + timedelta(seconds=YEAR * (number - 1) / size + rnd.randrange(60))
        closed = number <= size - BACKLOG or rnd.random() < 0.5
        handler, creator = rnd.choice(people["handlers"]), rnd.choice(people["agents"])
        done = created + timedelta(minutes=rnd.randrange(30, 4000))
        first = created + timedelta(minutes=rnd.randrange(1, 90))
        tickets.append({"id": number, "number": f"BN{number:012d}", "process_version": version,
                        "step": "finance" if closed else rnd.choice(STEPS), "status": "closed" if closed else "open",
                        "priority": rnd.choice(("urgent", "high", "normal", "normal", "low")),
                        "assignee": None if closed else handler, "creator": creator, "channel": "phone",
                        "customer": rnd.randrange(1, customers + 1),
                        "data": {}, "created_at": created, "updated_at": done if closed else created,
                        "entered_at": created, "first_response_at": first, "closed_at": done if closed else None,
                        "first_response_seconds": whole_seconds(created, first),
                        "resolution_seconds": whole_seconds(created, done) if closed else None,
                        "overdue_at": done if rnd.random() < 0.1 else None})
        events += _events(number, created, done if closed else None, creator, handler)
        if closed and rnd.random() < 0.3:
            ratings.append({"ticket": number, "score": rnd.randrange(1, 6), "created_at": done})
    return tickets, events, ratings


def _events(ticket: int, created: datetime, closed: datetime | None, creator: int, handler: int) -> list[dict]:
    base = {"ticket": ticket, "diff": {}, "assignee_before": None}
    rows = [{**base, "action": "create", "from_step": None, "to_step": "approve", "actor": creator,
             "assignee_after": handler, "created_at": created, "dwell_seconds": None}]
    if closed:
        rows.append({**base, "action": "close", "from_step": "finance", "to_step": None, "actor": handler,
                     "assignee_after": None, "created_at": closed, "dwell_seconds": whole_seconds(created, closed)})
    return rows


def seed(size: int, version: int, people: dict, rnd: random.Random) -> None:
    """Fill empty ticket and customer tables: ``size`` tickets and their customers, in chunked transactions."""
    customers = customer_count(size)
    for first in range(1, customers + 1, CHUNK):
        rows, phones = customer_rows(first, min(CHUNK, customers + 1 - first))
        with lzdb.database.atomic():
            bulk(Customer, rows)
            bulk(CustomerPhone, phones)
    started = time.perf_counter()
    for first in range(1, size + 1, CHUNK):
        tickets, events, ratings = ticket_rows(first, min(CHUNK, size + 1 - first), size, version, people, rnd)
        with lzdb.database.atomic():
            for model, rows in ((Ticket, tickets), (TicketEvent, events), (Rating, ratings)):
                bulk(model, rows)
        if (first - 1 + CHUNK) % PROGRESS == 0:
            print(f"  {first - 1 + CHUNK:,} of {size:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    resequence()
    lzdb.database.execute_sql("ANALYZE")


def resequence() -> None:
    """Move PostgreSQL's id sequences past the ids COPY wrote, so later inserts do not collide."""
    if not is_postgres():
        return
    for model in SEEDED:
        table = model._meta.table_name
        lzdb.database.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                  f"(SELECT coalesce(max(id), 0) + 1 FROM \"{table}\"), false)")


def is_postgres() -> bool:
    return "postgres" in type(lzdb.database.obj).__name__.lower()


def bulk(model, rows: list[dict]) -> None:
    """Insert ``rows``: COPY on PostgreSQL (fast), ``insert_many`` in chunks on SQLite."""
    if not rows:
        return
    if not is_postgres():
        for batch in chunked(rows, 1000):
            model.insert_many(batch).execute()
        return
    defaults = {name: (f.default() if callable(f.default) else f.default)  # COPY skips peewee's defaults
                for name, f in model._meta.fields.items() if f.default is not None and name not in rows[0]}
    rows = [{**defaults, **row} for row in rows]
    fields = [model._meta.fields[name] for name in rows[0]]
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    with lzdb.database.cursor() as cursor, cursor.copy(f'COPY "{model._meta.table_name}" ({columns}) FROM STDIN') \
            as copy:
        for row in rows:
            copy.write_row([field.db_value(row[field.name]) for field in fields])


def database_url(kind: str) -> tuple[str, Callable[[], None]]:
    """A fresh database of ``kind`` and a function that drops it."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="lz_bench_")
        return f"sqlite:///{folder}/bench.db", lambda: shutil.rmtree(folder, ignore_errors=True)
    import psycopg
    name = f"lz_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        if lzdb.database.obj is not None:
            obj = lzdb.database.obj
            obj.close_all() if hasattr(obj, "close_all") else obj.close()
        lzdb._bound.clear()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, drop


def demo_version() -> int:
    from workflows.processes.documents import latest_version
    return latest_version("return_goods").id


def migrated(kind: str, drops: list) -> str:
    """A fresh, migrated database with the demo organisation and documents, bound; its drop joins ``drops``."""
    url, drop = database_url(kind)
    drops.append(drop)
    lzdb.bind(url)
    lzdb.upgrade()
    with lzdb.database.connection_context():
        demo.seed()
    return url


def prepare(kind: str, size: int, drops: list) -> tuple[str, dict]:
    """A fresh database of ``kind`` holding ``size`` tickets; returns its URL and the staff ids."""
    url = migrated(kind, drops)
    started = time.perf_counter()
    with lzdb.database.connection_context():
        people = staff()
        seed(size, demo_version(), people, random.Random(size))
    print(f"{kind}: seeded {size:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    return url, people
