"""``python -m bench``: every benchmark in one run, one table, and optionally docs/performance.md.

Parts (``--only``): ``forms`` (generated vs hand-written form), ``engine``
(engine vs plain peewee writes), ``scale`` (lists, lookups and the report at
growing sizes), ``http`` (gunicorn throughput against a bare Flask ceiling),
``worktime`` (10,000 SLA due times on the cn calendar vs plain timedelta additions),
``sla`` (the SLA sweep's index range over 100,000 open tickets vs a full scan),
``search`` (full text: a selective query's p95 at 10k/100k/1M tickets, ``bench/search.py``),
``live`` (500 idle users polling ``GET /live`` against gunicorn -w 2: requests per minute, CPU share),
``kb`` (the suggestions panel's answer at 10k articles and 1M tickets, p95, ``bench/kb.py``).
``--quick`` is the CI size (small databases, short HTTP runs, about a minute
and a half on two CPUs) and never fails on a target; the full run is what
docs/performance.md reports. Each part's own module runs it alone too
(``python -m bench.engine`` ...).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import engine, forms, http, kb, scale, worktime
from bench import live as live_updates
from bench import search as full_text
from bench import sla as sla_sweep
from bench.results import Figure, table, write

PARTS = ("forms", "engine", "scale", "http", "worktime", "sla", "search", "live", "kb")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: small databases, short runs, no targets")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: " + ",".join(PARTS))
    parser.add_argument("--sizes", help="scale sizes, comma-separated (default 10000,100000,1000000; quick "
                        + ",".join(map(str, scale.QUICK_SIZES)) + ")")
    parser.add_argument("--seconds", type=float, help="HTTP: seconds per scenario (default 15; quick 2)")
    parser.add_argument("--connections", type=int, help="HTTP: concurrent connections (default 8)")
    parser.add_argument("--profile", action="store_true", help="engine: add the cProfile even when on target")
    parser.add_argument("--write", type=Path, metavar="PATH", help="rewrite this Markdown file (docs/performance.md)")
    args = parser.parse_args(argv)
    args.only = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(args.only) - set(PARTS))
    if unknown:
        parser.error(f"--only: unknown part {', '.join(unknown)} (choose from {', '.join(PARTS)})")
    return args


def sizes(args: argparse.Namespace) -> list[int]:
    if args.sizes:
        return [int(s) for s in args.sizes.split(",")]
    return scale.QUICK_SIZES if args.quick else scale.FULL_SIZES


def search_sizes(args: argparse.Namespace) -> list[int]:
    """Full-text search's sizes: ``--sizes`` as for scale; quick its own small two (seconds, not minutes)."""
    if args.sizes:
        return sizes(args)
    return full_text.QUICK_SIZES if args.quick else full_text.FULL_SIZES


def runners(args: argparse.Namespace, kinds: list[str], extra: dict[str, str]) -> dict[str, Callable[[], list]]:
    """Each part bound to the arguments; the engine's profile text goes to ``extra``."""
    def run_engine() -> list[Figure]:
        found, extra["engine"] = engine.bench(kinds, args.quick, args.profile)
        return found

    return {"forms": lambda: forms.bench(100 if args.quick else 1000, 3 if args.quick else 5),
            "engine": run_engine,
            "scale": lambda: scale.bench(kinds, sizes(args), 3 if args.quick else 7),
            "http": lambda: http.bench(kinds, args.quick, args.seconds or (2 if args.quick else None),
                                       args.connections),
            "worktime": lambda: worktime.bench(10000, 2 if args.quick else 5),
            "sla": lambda: sla_sweep.bench(kinds, args.quick),
            "search": lambda: full_text.bench(kinds, search_sizes(args), 2 if args.quick else 7),
            "live": lambda: live_updates.bench(kinds, args.quick),
            "kb": lambda: kb.bench(kinds, kb.QUICK_SIZES if args.quick else kb.FULL_SIZES,
                                   kb.QUICK_ARTICLES if args.quick else kb.FULL_ARTICLES, 2 if args.quick else 7)}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    extra: dict[str, str] = {}
    figures: list[Figure] = []
    began = time.perf_counter()
    for name, run in runners(args, kinds, extra).items():
        if name in args.only:
            print(f"== {name}", flush=True)
            started = time.perf_counter()
            figures += run()
            print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    print(table(figures))
    print(f"{len(figures)} figures in {time.perf_counter() - began:.0f} s"
          + (" (quick: targets not asserted)" if args.quick else ""))
    if args.write:
        command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else argv)
        write(args.write, figures, command.strip(), args.quick, extra)
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
