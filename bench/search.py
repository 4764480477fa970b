"""Benchmark: full-text search as the ticket table grows (10k -> 100k -> 1M), on SQLite FTS5 and PostgreSQL.

Seeds tickets as ``bench.scale`` does (``bench.seeding``: COPY / chunked inserts, not the engine), then
their index rows in bulk: a defect description of three phrases drawn from a list of shop-floor
Chinese (bigrams, as ``workflows.search.tokens`` makes them) for every ticket, a note for a third of
them, and a rare phrase (``RARE``) planted in ``PLANTED`` tickets at every size. Times, over
interleaved rounds, the first page of

- ``search``: the admin's "all" list with ``q=RARE`` (ranked, as the workspace and ``GET /api/v1/tickets?q=``);
- ``search_mine``: an agent's own list with ``q=RARE`` (the readable condition and the per-ticket field check);
- ``similar``: the call page's similar open tickets for a caller's sentence (any of its words, ranked).

Targets: ``search`` p95 <= 300 ms at the largest size, and p95 largest/smallest <= 3.
Run ``python -m bench.search [--quick] [--db sqlite|postgresql|both] [--sizes 10000,100000,1000000]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable

from peewee import Node

from bench import results, seeding
from bench.results import Figure
from bench.seeding import CHUNK, bulk, is_postgres
from workflows.reporting import queries
from workflows.search.query import similar_open
from workflows.search.tokens import joined
from workflows.storage import db as lzdb
from workflows.storage.models import SearchPart, User

results.PARTS.setdefault("search", "Search: full text, a selective query's p95 at each size (largest / smallest)")
QUICK_SIZES = [500, 2000]
FULL_SIZES = [10000, 100000, 1000000]
TARGET_MS, TARGET_RATIO = 300.0, 3.0
RARE = "压缩机异响"
PLANTED = 20
SENTENCE = "客户说压缩机异响，冰箱不制冷"
PHRASES = ("冰箱不制冷", "洗衣机漏水", "空调不出风", "微波炉不加热", "门封条脱落", "显示屏不亮", "遥控器失灵",
           "外壳有划痕", "噪音很大", "包装破损", "配件缺失", "安装师傅未上门", "型号发错", "物流太慢", "申请退货",
           "要求换货", "电源线损坏", "排水管堵塞", "滚筒不转", "制冰机故障", "温度不稳定", "有异味", "漏电跳闸",
           "开机无反应", "说明书缺失", "发票未开", "退款未到账", "赠品未收到", "颜色不符", "尺寸不符")
NOTES = ("已联系客户确认地址", "客户要求周末上门", "已安排师傅检测", "等待仓库收货", "财务已审核退款")


def plant(size: int) -> set[int]:
    """The tickets holding the rare phrase: spread over the history, the same count at every size."""
    return {size * k // PLANTED + 1 for k in range(PLANTED)}


def part_rows(first: int, count: int, planted: set[int], rnd: random.Random) -> list[dict]:
    """Index rows of tickets ``first``..``first+count-1`` as the indexer writes them (pre-tokenised terms)."""
    rows = []
    for ticket in range(first, first + count):
        words = rnd.sample(PHRASES, 3) + ([RARE] if ticket in planted else [])
        rows.append({"ticket": ticket, "part": "f:defect", "terms": joined("，".join(words))})
        if ticket % 3 == 0:
            rows.append({"ticket": ticket, "part": "notes", "terms": joined(rnd.choice(NOTES))})
    return rows


def fast_bulk(model, rows: list[dict]) -> None:
    """``seeding.bulk``, with SQLite's rows through one ``executemany`` (peewee's insert_many builds each query
    in Python: at a million tickets that is most of the seeding time); PostgreSQL keeps COPY."""
    if not rows or is_postgres():
        bulk(model, rows)
        return
    defaults = {name: (f.default() if callable(f.default) else f.default)  # as insert_many fills them in
                for name, f in model._meta.fields.items() if f.default is not None and name not in rows[0]}
    rows = [{**defaults, **row} for row in rows]
    fields = [model._meta.fields[name] for name in rows[0]]
    sql = (f'INSERT INTO "{model._meta.table_name}" ({", ".join(f.column_name for f in fields)}) '
           f'VALUES ({", ".join("?" for _ in fields)})')
    lzdb.database.cursor().executemany(sql, [[_value(f, row[f.name]) for f in fields] for row in rows])


def _value(field, value):
    """What SQLite stores for ``value``: the field's own conversion, JSON as text (its db_value is an SQL call)."""
    stored = field.db_value(value)
    return json.dumps(value, ensure_ascii=False) if isinstance(stored, Node) else stored


def prepare(kind: str, size: int, drops: list) -> str:
    """``seeding.prepare`` (the same rows: tickets, events, ratings, customers), inserted by :func:`fast_bulk`."""
    url = seeding.migrated(kind, drops)
    started, original = time.perf_counter(), seeding.bulk
    seeding.bulk = fast_bulk  # the one thing that differs: how the rows go in
    try:
        with lzdb.database.connection_context():
            seeding.seed(size, seeding.demo_version(), seeding.staff(), random.Random(size))
    finally:
        seeding.bulk = original
    print(f"{kind}: seeded {size:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    return url


SEARCH_MIGRATION = importlib.import_module("workflows.storage.migrations.0018_search")
SQLITE_TRIGGERS = ("search_part_ai", "search_part_ad", "search_part_au")


def seed_index(size: int) -> float:
    """Bulk index rows for a seeded database; each engine's index is built once after the rows are in.

    PostgreSQL: the GIN index after the COPY. SQLite: FTS5 ``rebuild`` after the inserts, with the
    triggers off meanwhile; row by row through the triggers, a million tickets took hours (each chunk's
    commit writes a segment that later merges rewrite), the rebuild minutes.
    """
    started, rnd, planted = time.perf_counter(), random.Random(size), plant(size)
    _index_off()
    for first in range(1, size + 1, CHUNK):
        with lzdb.database.atomic():
            fast_bulk(SearchPart, part_rows(first, min(CHUNK, size + 1 - first), planted, rnd))
    _index_on()
    lzdb.database.execute_sql("ANALYZE")
    return time.perf_counter() - started


def _index_off() -> None:
    if is_postgres():
        lzdb.database.execute_sql("DROP INDEX IF EXISTS search_part_vector")
        return
    for trigger in SQLITE_TRIGGERS:
        lzdb.database.execute_sql(f"DROP TRIGGER IF EXISTS {trigger}")


def _index_on() -> None:
    """The index as migration 0018 keeps it, built from the rows in one pass."""
    if is_postgres():
        lzdb.database.execute_sql("CREATE INDEX search_part_vector ON search_part USING gin (vector)")
        lzdb.database.execute_sql("SELECT setval(pg_get_serial_sequence('search_part', 'id'), "
                                  "(SELECT coalesce(max(id), 0) + 1 FROM search_part), false)")
        return
    with lzdb.database.atomic():
        lzdb.database.execute_sql("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        for statement in SEARCH_MIGRATION.SQLITE[1:]:  # the triggers (the first statement makes the table)
            lzdb.database.execute_sql(statement)


def probes() -> dict[str, Callable[[], object]]:
    admin = User.get(User.username == "admin")
    agent = User.get(User.username == "bench00")  # an agent who created some of the planted tickets
    return {"search": lambda: queries.ticket_list(admin, "all", queries.Filters(q=RARE)),
            "search_mine": lambda: queries.ticket_list(agent, "mine", queries.Filters(q=RARE)),
            "similar": lambda: similar_open(agent, SENTENCE)}


def measure(urls: dict[int, str], rounds: int, repeat: int = 5) -> dict[int, dict[str, list[float]]]:
    """Milliseconds per probe and size, interleaved: every round times every probe on every size in turn."""
    samples: dict[int, dict[str, list[float]]] = {size: {} for size in urls}
    for turn in range(rounds + 1):  # the first round warms the caches and is not counted
        for size, url in urls.items():
            lzdb.bind(url)
            with lzdb.database.connection_context():
                for name, probe in probes().items():
                    for _ in range(repeat):
                        start = time.perf_counter()
                        found = probe()
                        took = (time.perf_counter() - start) * 1000
                        if name == "search" and len(found.tickets) != PLANTED:
                            raise AssertionError(f"{size}: search found {len(found.tickets)}, not {PLANTED}")
                        if turn:
                            samples[size].setdefault(name, []).append(took)
    return samples


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def run(kind: str, sizes: list[int], rounds: int) -> dict[int, dict[str, float]]:
    """Seed one database per size (tickets, then index rows), measure them together, drop them."""
    drops: list = []
    try:
        urls = {}
        for size in sizes:
            urls[size] = prepare(kind, size, drops)
            with lzdb.database.connection_context():
                print(f"{kind}: indexed {size:,} tickets in {seed_index(size):.0f} s", flush=True)
        found = {size: {name: p95(v) for name, v in by.items()} for size, by in measure(urls, rounds).items()}
        for size, by in found.items():
            print(f"{kind} {size:>9,}: " + "  ".join(f"{k} p95 {v:8.2f} ms" for k, v in by.items()), flush=True)
        return found
    finally:
        for drop in drops:
            drop()


def figures(kind: str, found: dict[int, dict[str, float]]) -> list[Figure]:
    sizes = sorted(found)
    small, large = found[sizes[0]], found[sizes[-1]]
    out = [Figure("search", kind, f"search p95 at {sizes[-1]:,} / {TARGET_MS:g} ms", f"{large['search']:.1f} ms",
                  large["search"] / TARGET_MS, 1.0),
           Figure("search", kind, f"search p95 {sizes[-1]:,} / {sizes[0]:,}",
                  f"{large['search']:.1f} ms / {small['search']:.1f} ms", large["search"] / small["search"],
                  TARGET_RATIO)]
    for name in ("search_mine", "similar"):
        out.append(Figure("search", kind, f"{name} p95 {sizes[-1]:,} / {sizes[0]:,}",
                          f"{large[name]:.1f} ms / {small[name]:.1f} ms", large[name] / small[name]))
    return out


def bench(kinds: list[str], sizes: list[int], rounds: int) -> list[Figure]:
    return [f for kind in kinds for f in figures(kind, run(kind, sizes, rounds))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size: " + ", ".join(map(str, QUICK_SIZES)))
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--sizes", default=",".join(map(str, FULL_SIZES)))
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else [int(s) for s in args.sizes.split(",")]
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for figure in bench(kinds, sizes, 2 if args.quick else 7):
        print(figure.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
