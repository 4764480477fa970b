"""Benchmark: reports and list pages as the ticket table grows (10k -> 100k -> 1M).

Seeds tickets (with their events and ratings) by ``insert_many`` over a year,
then at each size times, median of several runs:

- ``report``: the monthly per-agent report over one month (:func:`workflows.reports.agent_monthly`);
- ``list``: the first page of a busy handler's "my open tickets" list;
- ``team``: the first page of a supervisor's team list;
- ``lookup``: a ticket by number.

Targets: report 1M/100k <= 10 (at most linear), lists and lookups 1M/10k <= 1.5 (flat).
Run ``python -m bench.reports [--quick] [--db sqlite|postgresql|both] [--sizes 10000,100000,1000000]``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from peewee import chunked  # noqa: E402

from workflows import db as lzdb  # noqa: E402
from workflows import demo, org, queries, reports  # noqa: E402
from workflows.models import Rating, Ticket, TicketEvent, User  # noqa: E402

PG_ADMIN = os.environ.get("LZ_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
YEAR_START, YEAR_END = datetime(2025, 12, 1), datetime(2026, 12, 1)
YEAR = (YEAR_END - YEAR_START).total_seconds()
MONTH = (datetime(2026, 6, 1), datetime(2026, 7, 1))
CHUNK = 5000
STEPS = ("approve", "warehouse", "finance")


def staff() -> dict[str, list[int]]:
    """The demo org plus 40 handlers in the service, warehouse and finance departments."""
    for i in range(40):
        department = ("service", "warehouse", "finance")[i % 3]
        org.create_user(f"bench{i:02d}", "benchpass1", "handler" if i % 3 else "agent", department)
    users = list(User.select(User.id, User.role).where(User.role != "admin").tuples())
    return {"agents": [u for u, r in users if r == "agent"] or [u for u, _ in users],
            "handlers": [u for u, r in users if r in ("handler", "supervisor")]}


def ticket_rows(first: int, count: int, span: tuple[int, int], version: int, people: dict,
                rnd: random.Random):
    """Tickets ``first``..``first+count-1`` with their events and ratings, as insert rows.

    As in production, ids follow creation time (each seeding spreads its new
    tickets over the whole year in order) and the open backlog is recent: a
    ticket older than two weeks is almost always closed.
    """
    tickets, events, ratings = [], [], []
    have, upto = span
    for number in range(first, first + count):
        created = YEAR_START + timedelta(seconds=YEAR * (number - have - 1) / (upto - have) + rnd.randrange(60))
        closed = rnd.random() < (0.98 if created < YEAR_END - timedelta(days=14) else 0.5)
        handler, creator = rnd.choice(people["handlers"]), rnd.choice(people["agents"])
        done = created + timedelta(minutes=rnd.randrange(30, 4000))
        tickets.append({"id": number, "number": f"BN{number:012d}", "process_version": version,
                        "step": "finance" if closed else rnd.choice(STEPS), "status": "closed" if closed else "open",
                        "priority": rnd.choice(("urgent", "high", "normal", "normal", "low")),
                        "assignee": None if closed else handler, "creator": creator, "channel": "phone",
                        "data": {}, "created_at": created, "updated_at": done if closed else created,
                        "entered_at": created, "first_response_at": created + timedelta(minutes=rnd.randrange(1, 90)),
                        "closed_at": done if closed else None,
                        "overdue_at": done if rnd.random() < 0.1 else None})
        events += _events(number, created, done if closed else None, creator, handler)
        if closed and rnd.random() < 0.3:
            ratings.append({"ticket": number, "score": rnd.randrange(1, 6), "created_at": done})
    return tickets, events, ratings


def _events(ticket: int, created: datetime, closed: datetime | None, creator: int, handler: int) -> list[dict]:
    base = {"ticket": ticket, "diff": {}, "assignee_before": None}
    rows = [{**base, "action": "create", "from_step": None, "to_step": "approve", "actor": creator,
             "assignee_after": handler, "created_at": created}]
    if closed:
        rows.append({**base, "action": "close", "from_step": "finance", "to_step": None, "actor": handler,
                     "assignee_after": None, "created_at": closed})
    return rows


def seed(upto: int, have: int, version: int, people: dict, rnd: random.Random) -> None:
    """Grow the ticket table from ``have`` to ``upto`` rows in chunked transactions."""
    for first in range(have + 1, upto + 1, CHUNK):
        tickets, events, ratings = ticket_rows(first, min(CHUNK, upto + 1 - first), (have, upto), version, people,
                                               rnd)
        with lzdb.database.atomic():
            for model, rows in ((Ticket, tickets), (TicketEvent, events), (Rating, ratings)):
                for batch in chunked(rows, 1000):  # PostgreSQL takes at most 65535 parameters a statement
                    model.insert_many(batch).execute()
    if lzdb.database.obj.__class__.__name__.lower().startswith(("postgres", "pooledpostgres")):
        lzdb.database.execute_sql("SELECT setval('ticket_id_seq', (SELECT max(id) FROM ticket))")
    lzdb.database.execute_sql("ANALYZE")


def timed(run, repeat: int) -> float:
    """Median wall time of ``run()`` in milliseconds, after one warm-up call."""
    run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(size: int, people: dict, repeat: int) -> dict[str, float]:
    admin = User.get(User.username == "admin")
    busy = User.get_by_id(people["handlers"][0])
    chief = User.get(User.username == "supervisor")
    number = f"BN{size // 2:012d}"
    return {
        "report": timed(lambda: reports.agent_monthly(admin, *MONTH), repeat),
        "list": timed(lambda: queries.ticket_list(busy, "mine"), repeat * 4),
        "team": timed(lambda: queries.ticket_list(chief, "team"), repeat * 4),
        "lookup": timed(lambda: Ticket.get(Ticket.number == number), repeat * 4),
    }


def database_url(kind: str) -> tuple[str, callable]:
    """A fresh database of ``kind`` and a function that drops it."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="lz_bench_")
        return f"sqlite:///{folder}/bench.db", lambda: None
    import psycopg
    name = f"lz_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        lzdb.database.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, drop


def run(kind: str, sizes: list[int], repeat: int) -> dict[int, dict[str, float]]:
    url, drop = database_url(kind)
    try:
        lzdb.bind(url)
        lzdb.upgrade()
        with lzdb.database.connection_context():
            demo.seed()
            people, version, rnd, have = staff(), demo_version(), random.Random(7), 0
            results = {}
            for size in sizes:
                started = time.perf_counter()
                seed(size, have, version, people, rnd)
                have = size
                print(f"{kind}: seeded {size:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
                results[size] = measure(size, people, repeat)
                print(f"{kind} {size:>9,}: " + "  ".join(f"{k} {v:8.2f} ms" for k, v in results[size].items()),
                      flush=True)
        return results
    finally:
        drop()


def demo_version() -> int:
    from workflows.documents import latest_version
    return latest_version("return_goods").id


def summary(kind: str, results: dict[int, dict[str, float]]) -> list[str]:
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    middle = sizes[-2] if len(sizes) > 2 else small
    lines = [f"{kind}: report {large:,}/{middle:,} = {results[large]['report'] / results[middle]['report']:.2f}"
             " (target <= 10)"]
    for key in ("list", "team", "lookup"):
        lines.append(f"{kind}: {key} {large:,}/{small:,} = {results[large][key] / results[small][key]:.2f}"
                     " (target <= 1.5)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 2k, 5k, 20k tickets")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args(argv)
    sizes = [2000, 5000, 20000] if args.quick else [int(s) for s in args.sizes.split(",")]
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    lines = []
    for kind in kinds:
        lines += summary(kind, run(kind, sizes, 3 if args.quick else 5))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
