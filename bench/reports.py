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
import shutil
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
BACKLOG = 3000
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

    As in production, ids follow creation time and the open backlog is the
    recent work, the same size whatever the history: of the newest BACKLOG
    tickets about half are open, all older ones are closed.
    """
    tickets, events, ratings = [], [], []
    have, upto = span
    for number in range(first, first + count):
        created = YEAR_START + timedelta(seconds=YEAR * (number - have - 1) / (upto - have) + rnd.randrange(60))
        closed = number <= upto - BACKLOG or rnd.random() < 0.5
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


def seed(size: int, version: int, people: dict, rnd: random.Random) -> None:
    """Fill an empty ticket table with ``size`` tickets in chunked transactions."""
    for first in range(1, size + 1, CHUNK):
        tickets, events, ratings = ticket_rows(first, min(CHUNK, size + 1 - first), (0, size), version, people, rnd)
        with lzdb.database.atomic():
            for model, rows in ((Ticket, tickets), (TicketEvent, events), (Rating, ratings)):
                bulk(model, rows)
    if is_postgres():
        lzdb.database.execute_sql("SELECT setval('ticket_id_seq', (SELECT max(id) FROM ticket))")
    lzdb.database.execute_sql("ANALYZE")


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


def timed(run) -> float:
    """Wall time of one ``run()`` in milliseconds."""
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def probes(size: int, people: dict) -> dict:
    """What is timed on a database of ``size`` tickets (bound when called)."""
    admin = User.get(User.username == "admin")
    busy = User.get_by_id(people["handlers"][0])
    chief = User.get(User.username == "supervisor")
    number = f"BN{size // 2:012d}"
    return {"report": lambda: reports.agent_monthly(admin, *MONTH),
            "list": lambda: queries.ticket_list(busy, "mine"),
            "team": lambda: queries.ticket_list(chief, "team"),
            "lookup": lambda: Ticket.get(Ticket.number == number)}


def measure(urls: dict[int, str], people: dict, rounds: int) -> dict[int, dict[str, float]]:
    """Medians over interleaved rounds: each round times every probe on every size in turn.

    Interleaving gives the small and the large database the same machine
    conditions, so the ratios hold even while something else runs.
    """
    samples: dict[int, dict[str, list[float]]] = {size: {} for size in urls}
    for turn in range(rounds + 1):  # the first round warms the caches and is not counted
        for size, url in urls.items():
            lzdb.bind(url)
            with lzdb.database.connection_context():
                for name, probe in probes(size, people).items():
                    for _ in range(1 if name == "report" else 5):
                        took = timed(probe)
                        if turn:
                            samples[size].setdefault(name, []).append(took)
    return {size: {name: statistics.median(v) for name, v in found.items()} for size, found in samples.items()}


def database_url(kind: str) -> tuple[str, callable]:
    """A fresh database of ``kind`` and a function that drops it."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="lz_bench_")
        return f"sqlite:///{folder}/bench.db", lambda: shutil.rmtree(folder, ignore_errors=True)
    import psycopg
    name = f"lz_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        lzdb.database.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, drop


def prepare(kind: str, size: int, drops: list) -> tuple[str, dict]:
    """A fresh database of ``kind`` holding ``size`` tickets; returns its URL and the staff ids."""
    url, drop = database_url(kind)
    drops.append(drop)
    lzdb.bind(url)
    lzdb.upgrade()
    started = time.perf_counter()
    with lzdb.database.connection_context():
        demo.seed()
        people = staff()
        seed(size, demo_version(), people, random.Random(size))
    print(f"{kind}: seeded {size:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    return url, people


def run(kind: str, sizes: list[int], rounds: int, keep: bool = False) -> dict[int, dict[str, float]]:
    drops: list = []
    urls: dict[int, str] = {}
    try:
        people = {}
        for size in sizes:
            urls[size], people = prepare(kind, size, drops)
        results = measure(urls, people, rounds)
        for size, found in results.items():
            print(f"{kind} {size:>9,}: " + "  ".join(f"{k} {v:8.2f} ms" for k, v in found.items()), flush=True)
        return results
    finally:
        for drop in drops if not keep else ():
            drop()
        if keep:
            print(f"{kind}: kept " + " ".join(urls.values()))


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
    parser.add_argument("--keep", action="store_true", help="keep the databases (to profile them) and print their URLs")
    args = parser.parse_args(argv)
    sizes = [2000, 5000, 20000] if args.quick else [int(s) for s in args.sizes.split(",")]
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    lines = []
    for kind in kinds:
        lines += summary(kind, run(kind, sizes, 3 if args.quick else 7, args.keep))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
