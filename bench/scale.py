"""Benchmark: lists, lookups and the report as the ticket table grows (10k -> 100k -> 1M).

Seeds tickets (with their events, ratings and customers) over a year, then at
each size times, median of interleaved rounds:

- ``report``: the monthly per-agent report over one month (:func:`workflows.reporting.reports.agent_monthly`);
- ``list``: the first page of a busy handler's "my open tickets" list;
- ``team``: the first page of a supervisor's team list;
- ``lookup``: a ticket by number, as the detail page loads it (:func:`workflows.tickets.engine.load`);
- ``phone``: a caller by phone with their last tickets, as the call page does (:func:`web.calls.caller`).

Targets: lists and lookups largest/smallest <= 1.5 (flat); report largest/middle <= 10 (at most linear).
Run ``python -m bench.scale [--quick] [--db sqlite|postgresql|both] [--sizes 10000,100000,1000000] [--keep]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import Flask
from flask_login import login_user

from bench.results import Figure
from bench.seeding import customer_count, phone_of, prepare
from web.auth import LoginUser
from web.calls import caller
from workflows.reporting import queries, reports
from workflows.storage import db as lzdb
from workflows.storage.models import User
from workflows.tickets import engine

FLAT = ("list", "team", "lookup", "phone")
QUICK_SIZES = [2000, 5000, 20000]
FULL_SIZES = [10000, 100000, 1000000]


def month() -> tuple[datetime, datetime]:
    """The report's period: one month in the middle of the seeded year."""
    return datetime(2026, 6, 1), datetime(2026, 7, 1)


def timed(run: Callable[[], object]) -> float:
    """Wall time of one ``run()`` in milliseconds."""
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def probes(size: int, people: dict) -> dict[str, Callable[[], object]]:
    """What is timed on a database of ``size`` tickets (bound when called)."""
    admin = User.get(User.username == "admin")
    busy = User.get_by_id(people["handlers"][0])
    chief = User.get(User.username == "supervisor")
    number, phone = f"BN{size // 2:012d}", phone_of(customer_count(size) // 2)
    return {"report": lambda: reports.agent_monthly(admin, *month()),
            "list": lambda: queries.ticket_list(busy, "mine"),
            "team": lambda: queries.ticket_list(chief, "team"),
            "lookup": lambda: engine.load(number),
            "phone": lambda: caller(phone)}


def application() -> Flask:
    """The product's app, for the request context the call page's lookup reads ``current_user`` from."""
    from app import create_app
    return create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": "sqlite:///:memory:"})


@contextmanager
def as_agent(app: Flask) -> Iterator[None]:
    """A request context with the demo agent logged in, as on the call page (entered outside the timing)."""
    with app.test_request_context("/call"):
        login_user(LoginUser(User.get(User.username == "agent")))
        yield


def measure(urls: dict[int, str], people: dict, rounds: int) -> dict[int, dict[str, float]]:
    """Medians over interleaved rounds: each round times every probe on every size in turn.

    Interleaving gives the small and the large database the same machine
    conditions, so the ratios hold even while something else runs.
    """
    samples: dict[int, dict[str, list[float]]] = {size: {} for size in urls}
    app = application()
    for turn in range(rounds + 1):  # the first round warms the caches and is not counted
        for size, url in urls.items():
            lzdb.bind(url)
            with as_agent(app), lzdb.database.connection_context():
                for name, probe in probes(size, people).items():
                    for _ in range(1 if name == "report" else 5):
                        took = timed(probe)
                        if turn:
                            samples[size].setdefault(name, []).append(took)
    return {size: {name: statistics.median(v) for name, v in found.items()} for size, found in samples.items()}


def run(kind: str, sizes: list[int], rounds: int, keep: bool = False) -> dict[int, dict[str, float]]:
    """Seed one database per size, measure them together, drop them (unless ``keep``)."""
    drops: list = []
    urls: dict[int, str] = {}
    try:
        people: dict = {}
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


def figures(kind: str, results: dict[int, dict[str, float]]) -> list[Figure]:
    """Flatness of lists and lookups (largest/smallest), growth of the report (largest/middle)."""
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    middle = sizes[-2] if len(sizes) > 2 else small
    out = [Figure("scale", kind, f"report {large:,} / {middle:,}",
                  f"{results[large]['report']:.1f} ms / {results[middle]['report']:.1f} ms",
                  results[large]["report"] / results[middle]["report"], 10.0)]
    for key in FLAT:
        out.append(Figure("scale", kind, f"{key} {large:,} / {small:,}",
                          f"{results[large][key]:.2f} ms / {results[small][key]:.2f} ms",
                          results[large][key] / results[small][key], 1.5))
    return out


def bench(kinds: list[str], sizes: list[int], rounds: int, keep: bool = False) -> list[Figure]:
    out: list[Figure] = []
    for kind in kinds:
        out += figures(kind, run(kind, sizes, rounds, keep))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: 2k, 5k, 20k tickets")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--sizes", default=",".join(map(str, FULL_SIZES)))
    parser.add_argument("--keep", action="store_true", help="keep the databases (to profile them) and print their URLs")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else [int(s) for s in args.sizes.split(",")]
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for figure in bench(kinds, sizes, 3 if args.quick else 7, args.keep):
        print(figure.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
