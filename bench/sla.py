"""Benchmark: the SLA sweep over 100,000 open tickets, against a full scan of the open ones.

Seeds ``size`` open tickets (bulk, not through the engine: ``bench.seeding``) whose next checks
are spread over the coming month, ``DUE`` of them already due, then times, median of rounds:

- ``find``: the sweep's query, ``workflows.tickets.sla.due_ids`` (a range of the ``next_check_at`` index);
- ``scan``: the baseline, every open ticket read and the past-due ones picked in Python;
- ``sweep``: one whole sweep of the due tickets (each claimed, warned or marked overdue, in its own
  transaction), rolled back after each round.

It prints both queries' plans (EXPLAIN). Target: find / scan <= 0.05 at the full size.
Run ``python -m bench.sla [--quick] [--db sqlite|postgresql|both] [--size 100000]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta

from bench.results import Figure
from bench.seeding import CHUNK, bulk, demo_version, is_postgres, migrated, resequence, staff
from workflows.storage import db as lzdb
from workflows.storage.models import Ticket
from workflows.tickets import sla

NOW = datetime(2026, 12, 7, 2, 0)
DUE = 50
FULL, QUICK = 100_000, 10_000


def rows(first: int, count: int, size: int, version: int, people: dict, rnd: random.Random) -> list[dict]:
    """Open tickets at the approve step: next checks over the next 30 days, the last DUE ones past."""
    out = []
    for number in range(first, first + count):
        created = NOW - timedelta(minutes=rnd.randrange(10, 60 * 24 * 20))
        due = NOW - timedelta(minutes=rnd.randrange(1, 60)) if number > size - DUE else \
            NOW + timedelta(minutes=rnd.randrange(1, 60 * 24 * 30))
        out.append({"id": number, "number": f"SL{number:012d}", "process_version": version, "step": "approve",
                    "status": "open", "priority": "normal", "assignee": rnd.choice(people["handlers"]),
                    "creator": rnd.choice(people["agents"]), "data": {}, "created_at": created,
                    "updated_at": created, "entered_at": created, "due_at": due, "next_check_at": due,
                    # a tenth of the backlog is long overdue (marked): the full scan reads those too
                    "overdue_at": created if number <= size // 10 else None})
    return out


def seed(size: int) -> None:
    version, people, rnd = demo_version(), staff(), random.Random(size)
    for first in range(1, size + 1, CHUNK):
        with lzdb.database.atomic():
            bulk(Ticket, rows(first, min(CHUNK, size + 1 - first), size, version, people, rnd))
    resequence()
    lzdb.database.execute_sql("ANALYZE")


def scan() -> list[int]:
    """The baseline: every open ticket, past-due and unmarked ones picked in Python."""
    query = Ticket.select(Ticket.id, Ticket.due_at, Ticket.overdue_at).where(Ticket.status == "open")
    return [i for i, due, marked in query.tuples() if due is not None and due <= NOW and marked is None]


def swept_once() -> int:
    """One whole sweep of what is due, rolled back so that every round finds the same work."""
    with lzdb.database.atomic() as outer:
        done = len(sla.sweep(NOW))
        outer.rollback()
    return done


def timed(run, rounds: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def plans() -> dict[str, str]:
    explain = "EXPLAIN " if is_postgres() else "EXPLAIN QUERY PLAN "
    found = {}
    for name, query in (("find", sla.due_query(NOW)), ("scan", Ticket.select(Ticket.id, Ticket.due_at,
                        Ticket.overdue_at).where(Ticket.status == "open"))):
        sql, params = query.sql()
        found[name] = " / ".join(str(r[-1]) for r in lzdb.database.execute_sql(explain + sql, params).fetchall())
    return found


def run(kind: str, size: int, rounds: int) -> list[Figure]:
    drops: list = []
    try:
        migrated(kind, drops)
        with lzdb.database.connection_context():
            started = time.perf_counter()
            seed(size)
            print(f"{kind}: seeded {size:,} open tickets in {time.perf_counter() - started:.0f} s", flush=True)
            find, found = timed(lambda: sla.due_ids(NOW), rounds)
            full, scanned = timed(scan, rounds)
            sweep, done = timed(swept_once, max(1, rounds // 2))
            assert len(found) == DUE and len(scanned) == DUE and done == DUE, (len(found), len(scanned), done)
            for name, text in plans().items():
                print(f"{kind} plan {name}: {text}", flush=True)
    finally:
        for drop in drops:
            drop()
    print(f"{kind} {size:,}: find {find:.2f} ms, scan {full:.1f} ms, sweep of {DUE} {sweep:.1f} ms", flush=True)
    return [Figure("sla", kind, f"find {DUE} due of {size:,} open / full scan", f"{find:.2f} ms / {full:.1f} ms",
                   find / full, 0.05),
            Figure("sla", kind, f"sweep of {DUE} due of {size:,} open", f"{sweep:.1f} ms ({sweep / DUE:.2f} ms each)")]


def bench(kinds: list[str], quick: bool, size: int | None = None) -> list[Figure]:
    out: list[Figure] = []
    for kind in kinds:
        out += run(kind, size or (QUICK if quick else FULL), 3 if quick else 7)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"CI size: {QUICK:,} open tickets")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--size", type=int, help=f"open tickets (default {FULL:,}; quick {QUICK:,})")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for figure in bench(kinds, args.quick, args.size):
        print(figure.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
