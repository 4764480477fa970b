"""Benchmark: ten million tickets on PostgreSQL: lists, lookups, search, the monthly report, disk per million.

One database per size (default 10k, 1M and 10M), each seeded as ``bench.scale`` seeds them (``COPY`` of
tickets, their events, ratings and customers; ``bench.seeding``) and indexed as ``bench.search`` indexes
them (a defect text for every ticket, a note for a third, the rare phrase in 20 tickets at every size).
Then interleaved rounds time, on every size in turn, the scale probes (the monthly report, a handler's
"my open tickets", a supervisor's team list, a ticket by number, a caller by phone) and the search probes
(the admin's ranked search for the rare phrase, an agent's own search, the call page's similar tickets).

Figures: lists and lookups 10M / 10k <= 1.5; the monthly report 10M / 1M <= 10 (at most linear in the
month's tickets); search p95 <= 300 ms at 10M and 10M / 10k <= 3; and disk: the database's size per
million tickets, ``(size at 10M - size at 1M) / 9``, with the largest tables.

Seeding takes about an hour for 10M on a 2-core machine (it prints a line per million), so this is not a
part of ``python -m bench``. Run ``python -m bench.large [--sizes 10000,1000000,10000000] [--keep]``;
``--keep`` leaves the databases and prints them as ``--urls`` takes them, and
``python -m bench.large --urls 10000=postgresql://...,10000000=postgresql://...`` measures kept ones again.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from bench import scale, search, seeding
from bench.results import Figure
from workflows.storage import db as lzdb

SIZES = [10_000, 1_000_000, 10_000_000]
TABLES = ("ticket", "ticket_event", "search_part", "customer", "customer_phone", "rating")


def prepare(size: int, drops: list) -> str:
    """A fresh PostgreSQL database of ``size`` tickets with their index rows, analysed."""
    url = seeding.migrated("postgresql", drops)
    started = time.perf_counter()
    with lzdb.database.connection_context():
        seeding.seed(size, seeding.demo_version(), seeding.staff(), random.Random(size))
        print(f"postgresql: seeded {size:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
        print(f"postgresql: indexed {size:,} tickets in {search.seed_index(size):.0f} s", flush=True)
    vacuum(url)
    return url


def vacuum(url: str) -> None:
    """``VACUUM (ANALYZE)`` as autovacuum would after a bulk load: rows written by ``COPY`` are not yet
    marked all-visible, so the planner would refuse index-only scans on a table of a real, older age."""
    import psycopg
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")


def disk(url: str) -> dict[str, int]:
    """Bytes: the whole database (``database``) and each seeded table with its indexes and TOAST."""
    lzdb.bind(url)
    with lzdb.database.connection_context():
        found = {"database": lzdb.database.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0]}
        for table in TABLES:
            found[table] = lzdb.database.execute_sql("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0]
    return found


def measure(urls: dict[int, str], rounds: int) -> dict[int, dict[str, float]]:
    """Scale probes (medians) and search probes (p95), each over interleaved rounds on every size."""
    lzdb.bind(urls[min(urls)])
    with lzdb.database.connection_context():
        people = seeding.people()
    found = scale.measure(urls, people, rounds)
    for size, by in search.measure(urls, rounds).items():
        found[size].update({name: search.p95(values) for name, values in by.items()})
    return found


def figures(found: dict[int, dict[str, float]], sizes_on_disk: dict[int, dict[str, int]]) -> list[Figure]:
    """The issue's targets at the largest size, and disk per million tickets."""
    out = scale.figures("postgresql", found)
    out += search.figures("postgresql", found)
    sizes = sorted(sizes_on_disk)
    if len(sizes) > 1:
        large, middle = sizes[-1], sizes[-2]
        per_million = (sizes_on_disk[large]["database"] - sizes_on_disk[middle]["database"]) / (large - middle) * 1e6
        out.append(Figure("scale", "postgresql", f"disk per million tickets ({middle:,} -> {large:,})",
                          f"{per_million / 2**30:.2f} GiB", None, None))
    return out


def report(sizes_on_disk: dict[int, dict[str, int]]) -> None:
    for size, by in sorted(sizes_on_disk.items()):
        print(f"disk at {size:>10,}: " + "  ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in by.items()), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--urls", help="measure kept databases: size=url,size=url,...")
    parser.add_argument("--keep", action="store_true", help="keep the databases and print them for --urls")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    drops: list = []
    try:
        if args.urls:
            urls = {int(k): v for k, v in (pair.split("=", 1) for pair in args.urls.split(","))}
        else:
            urls = {size: prepare(size, drops) for size in sorted(int(s) for s in args.sizes.split(","))}
            if args.keep:
                print("--urls " + ",".join(f"{k}={v}" for k, v in urls.items()), flush=True)
        on_disk = {size: disk(url) for size, url in urls.items()}
        report(on_disk)
        found = measure(urls, args.rounds)
        for size, by in sorted(found.items()):
            print(f"{size:>10,}: " + "  ".join(f"{k} {v:.2f} ms" for k, v in by.items()), flush=True)
        for figure in figures(found, on_disk):
            print(figure.line())
        return 0
    finally:
        for drop in drops if not args.keep else ():
            drop()


if __name__ == "__main__":
    sys.exit(main())
