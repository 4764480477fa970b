"""Benchmark: suggestions while typing (issue 23) at 10k articles and 1M tickets, on SQLite FTS5 and PostgreSQL.

Seeds tickets and their index rows as ``bench.search`` does (most of them closed: the history), then
articles in bulk (nine in ten published, one in five public) with their ``article_search`` rows, their
titles and bodies drawn from the same shop-floor Chinese as the tickets, a rare phrase in ``PLANTED``
of them. Times, over interleaved rounds, one answer of the panel (``workflows.kb.suggest.suggest``:
the articles' every-word search topped up by any-word, and the similar closed tickets the reader may
open, checked against the fields they may see) for a caller's sentence:

- ``suggest``: an agent who created some of the tickets (the readable condition and the per-ticket field check);
- ``suggest_admin``: the admin (every ticket is a candidate).

Target: ``suggest`` p95 <= 150 ms at the largest size. Run
``python -m bench.kb [--quick] [--db sqlite|postgresql|both] [--sizes 1000000] [--articles 10000]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable

from bench import results
from bench import search as full_text
from bench.results import Figure
from bench.seeding import CHUNK, is_postgres
from workflows.kb.suggest import suggest
from workflows.search.tokens import joined
from workflows.storage import db as lzdb
from workflows.storage.models import Article, ArticleSearch, User

results.PARTS.setdefault("kb", "Suggestions: one answer of the typing panel (articles + similar closed tickets), p95")
QUICK_SIZES, QUICK_ARTICLES = [2000], 500
FULL_SIZES, FULL_ARTICLES = [1000000], 10000
TARGET_MS = 150.0
PLANTED = 20
SENTENCE = "客户说压缩机异响，冰箱不制冷，要求上门"


def article_rows(count: int, author: int, rnd: random.Random) -> list[dict]:
    """``count`` articles: three phrases of a title, a body of six, the rare phrase in ``PLANTED`` of them."""
    planted = {count * k // PLANTED for k in range(PLANTED)}
    rows = []
    for i in range(count):
        title = "，".join(rnd.sample(full_text.PHRASES, 2) + ([full_text.RARE] if i in planted else []))
        body = "。".join(rnd.sample(full_text.PHRASES, 6) + rnd.sample(full_text.NOTES, 2))
        rows.append({"number": f"KB9{i:07d}", "title": f"{title}的处理办法", "body": body, "tags": ["bench"],
                     "visibility": "public" if i % 5 == 0 else "internal",
                     "status": "draft" if i % 10 == 9 else "published", "author": author})
    return rows


def seed_articles(count: int) -> float:
    """Bulk articles and their search rows (terms as ``kb.search`` writes them: title twice, tags, body)."""
    started, rnd = time.perf_counter(), random.Random(count)
    admin = User.get(User.username == "admin").id
    rows = article_rows(count, admin, rnd)
    for first in range(0, count, CHUNK):
        with lzdb.database.atomic():
            full_text.fast_bulk(Article, rows[first:first + CHUNK])
    ids = dict(Article.select(Article.number, Article.id).where(Article.number.startswith("KB9")).tuples())
    terms = [{"article": ids[r["number"]], "terms": joined("\n".join([r["title"], r["title"], "bench", r["body"]]))}
             for r in rows]
    for first in range(0, count, CHUNK):
        with lzdb.database.atomic():
            full_text.fast_bulk(ArticleSearch, terms[first:first + CHUNK])
    if is_postgres():
        lzdb.database.execute_sql("SELECT setval(pg_get_serial_sequence('article', 'id'), "
                                  "(SELECT coalesce(max(id), 0) + 1 FROM article), false)")
    lzdb.database.execute_sql("ANALYZE")
    return time.perf_counter() - started


def probes() -> dict[str, Callable[[], tuple]]:
    admin = User.get(User.username == "admin")
    agent = User.get(User.username == "bench00")  # an agent who created some of the tickets
    return {"suggest": lambda: suggest(agent, SENTENCE), "suggest_admin": lambda: suggest(admin, SENTENCE)}


def measure(urls: dict[int, str], rounds: int, repeat: int = 5) -> dict[int, dict[str, list[float]]]:
    """Milliseconds per probe and size, interleaved; the first round warms the caches and is not counted."""
    samples: dict[int, dict[str, list[float]]] = {size: {} for size in urls}
    for turn in range(rounds + 1):
        for size, url in urls.items():
            lzdb.bind(url)
            with lzdb.database.connection_context():
                for name, probe in probes().items():
                    for _ in range(repeat):
                        start = time.perf_counter()
                        found, closed = probe()
                        took = (time.perf_counter() - start) * 1000
                        if not found or (name == "suggest_admin" and not closed):
                            raise AssertionError(f"{size}: {name} found {len(found)} articles, {len(closed)} tickets")
                        if turn:
                            samples[size].setdefault(name, []).append(took)
    return samples


def run(kind: str, sizes: list[int], articles: int, rounds: int) -> dict[int, dict[str, float]]:
    """Seed one database per size (tickets, their index, the articles), measure them together, drop them."""
    drops: list = []
    try:
        urls = {}
        for size in sizes:
            urls[size] = full_text.prepare(kind, size, drops)
            with lzdb.database.connection_context():
                print(f"{kind}: indexed {size:,} tickets in {full_text.seed_index(size):.0f} s", flush=True)
                print(f"{kind}: seeded {articles:,} articles in {seed_articles(articles):.0f} s", flush=True)
        found = {size: {name: full_text.p95(v) for name, v in by.items()}
                 for size, by in measure(urls, rounds).items()}
        for size, by in found.items():
            print(f"{kind} {size:>9,}: " + "  ".join(f"{k} p95 {v:8.2f} ms" for k, v in by.items()), flush=True)
        return found
    finally:
        for drop in drops:
            drop()


def figures(kind: str, found: dict[int, dict[str, float]], articles: int) -> list[Figure]:
    largest = found[max(found)]
    where = f"{articles:,} articles, {max(found):,} tickets"
    return [Figure("kb", kind, f"suggest p95 / {TARGET_MS:g} ms", f"{largest['suggest']:.1f} ms ({where})",
                   largest["suggest"] / TARGET_MS, 1.0),
            Figure("kb", kind, "suggest_admin p95", f"{largest['suggest_admin']:.1f} ms ({where})")]


def bench(kinds: list[str], sizes: list[int], articles: int, rounds: int) -> list[Figure]:
    return [f for kind in kinds for f in figures(kind, run(kind, sizes, articles, rounds), articles)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"CI size: {QUICK_ARTICLES} articles, "
                        + ", ".join(map(str, QUICK_SIZES)) + " tickets")
    parser.add_argument("--db", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--sizes", default=",".join(map(str, FULL_SIZES)))
    parser.add_argument("--articles", type=int, default=FULL_ARTICLES)
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else [int(s) for s in args.sizes.split(",")]
    articles = QUICK_ARTICLES if args.quick else args.articles
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for figure in bench(kinds, sizes, articles, 2 if args.quick else 7):
        print(figure.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
