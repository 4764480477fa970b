"""Benchmark: the working-time due date (issue 19), the SLA clock's arithmetic on every move.

Each round computes ``n`` due times (starts spread at random over 2026, SLAs of 30 to
1440 working minutes) on the demo's ``cn_workdays`` calendar (Shanghai hours, official
holidays and make-up days) and, as the baseline, the same ``n`` plain timedelta
additions (``worktime.ALWAYS``: a step without a calendar). The calendar is built afresh
each round, so its per-date cache starts empty as in a new worker process ("cold"); a
second pass on the same object is the steady state ("warm"). A third figure times
``seconds_between`` (the reports' working durations) over the same pairs.

Figures: per-call microseconds of each side and their ratio (calendar / plain; no
target, a timedelta addition is nearly free), and the cold round's seconds for 10,000 due
times against a one-second budget (target <= 1). ``python -m bench.worktime [N]``.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.results import Figure, table
from workflows.calendars.worktime import ALWAYS, WorkTime

DOCUMENT = Path(__file__).resolve().parents[1] / "workflows" / "demo" / "cn_workdays.calendar.json"
YEAR = datetime(2026, 1, 1)
BUDGET = 1.0  # seconds for 10,000 due times


def cases(n: int, seed: int) -> list[tuple[datetime, int]]:
    """``n`` (start, SLA minutes): starts anywhere in 2026 to the second, SLAs 30..1440 minutes."""
    rng = random.Random(seed)
    return [(YEAR + timedelta(seconds=rng.randrange(365 * 86400)), rng.randint(30, 1440)) for _ in range(n)]


def timed(calendar, pairs: list[tuple[datetime, int]]) -> tuple[float, list[datetime]]:
    start = time.perf_counter()
    dues = [calendar.add(begin, minutes) for begin, minutes in pairs]
    return time.perf_counter() - start, dues


def one_round(document: dict, pairs: list) -> dict[str, float]:
    """Seconds of each side for the whole list: cold and warm calendar, plain clock, and the durations."""
    calendar = WorkTime.from_document(document)
    cold, dues = timed(calendar, pairs)
    warm, _ = timed(calendar, pairs)
    plain, _ = timed(ALWAYS, pairs)
    start = time.perf_counter()
    spans = [calendar.seconds_between(begin, due) for (begin, _), due in zip(pairs, dues, strict=True)]
    between = time.perf_counter() - start
    if spans != [minutes * 60 for _, minutes in pairs]:
        raise SystemExit("worktime: seconds_between disagrees with add")
    return {"cold": cold, "warm": warm, "plain": plain, "between": between}


def bench(n: int = 10000, rounds: int = 5) -> list[Figure]:
    """The due-date figures: cold and warm against the plain clock, durations, and the 10k budget."""
    document = json.loads(DOCUMENT.read_text("utf-8"))
    one_round(document, cases(min(n, 1000), 0))  # warm-up: imports, zoneinfo, chinese_calendar's tables
    runs = [one_round(document, cases(n, seed)) for seed in range(1, rounds + 1)]
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    per_call = {key: seconds / n * 1e6 for key, seconds in median.items()}
    figures = [Figure("worktime", "-", f"due date, {side} calendar",
                      f"{per_call[side]:.2f} us vs {per_call['plain']:.2f} us per call ({n} x {rounds})",
                      median[side] / median["plain"]) for side in ("cold", "warm")]
    figures.append(Figure("worktime", "-", "working seconds between",
                          f"{per_call['between']:.2f} us per call ({n} x {rounds})",
                          median["between"] / median["plain"]))
    scaled = median["cold"] * 10000 / n
    figures.append(Figure("worktime", "-", "10,000 due times / 1 s budget",
                          f"{scaled * 1000:.0f} ms (cold calendar)", scaled / BUDGET, 1.0))
    return figures


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 10000
    print(table(bench(n)))


if __name__ == "__main__":
    main(sys.argv[1:])
