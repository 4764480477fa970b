"""Common terms: a "similar tickets" query ranks a sentence's rare words, not every bigram of it.

A typed description's bigrams include words found in a tenth of all tickets (冰箱, 上门, 客户). Ranking
every part holding any of them (``bm25`` / ``ts_rank`` of hundreds of thousands of rows) took over a
second at a million tickets, and those words say little about which tickets are alike. As Lucene's
``CommonTermsQuery`` does, a term held by more than ``COMMON`` parts is common:

- the rare terms are matched and ranked over the whole history (each holds at most ``COMMON`` parts,
  so the ranking stays small however large the history grows);
- when they find too few, the ``WINDOW`` most recent parts holding any term are ranked as well: for a
  sentence of common words only, the recent tickets holding them are as good an answer as any.

A database the size of the demo has no common term and is asked exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import Cast, Expression, Value, fn

from workflows.storage.db import database

COMMON = 1000  # parts a term may be found in and still be rare
WINDOW = 2000  # most recent matching parts ranked when the rare terms find too few
FTS = {"search_part": "search_fts", "article_search": "article_fts"}  # SQLite: each table's FTS5 index


def postgres() -> bool:
    """Whether the bound database is PostgreSQL (tsvector) rather than SQLite (FTS5)."""
    return "postgres" in type(database.obj).__name__.lower()


def any_term(words: list[list[str]], query_of: Callable[[list[list[str]]], str],
             ranked: Callable[[list[list[str]], bool], list], limit: int, table: str = "search_part") -> list:
    """The "any word" answer of tickets and articles alike: ``ranked(rare words, False)``, topped up with
    ``ranked(every word, True)`` (its ``True``: only the most recent matches, :func:`recent`) when the
    rare words find fewer than ``limit`` and some word was common. ``query_of``: the engine's query text."""
    rare = keep_rare(words, [query_of([w]) for w in words], postgres(), table)
    found = ranked(rare, False) if rare else []
    if len(rare) < len(words) and len(found) < limit:
        seen = set(found)
        found += [row for row in ranked(words, True) if row not in seen]
    return found[:limit]


def rare(queries: list[str], postgres: bool, table: str = "search_part") -> list[bool]:
    """For each one-term query (in the engine's syntax), whether it matches at most ``COMMON`` parts of ``table``."""
    if not queries:
        return []
    common = _common_postgres(queries, table) if postgres else _common_sqlite(queries, FTS[table])
    return [q not in common for q in queries]


def keep_rare(words: list, queries: list[str], postgres: bool, table: str = "search_part") -> list:
    """The ``words`` whose one-term query (``queries``, in the same order) is :func:`rare`."""
    return [w for w, few in zip(words, rare(queries, postgres, table), strict=True) if few]


def _common_sqlite(queries: list[str], fts: str) -> set[str]:
    """Counted, each count stopping at ``COMMON + 1`` matches: a millisecond for a sentence at a million parts."""
    count = f"SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH ? LIMIT {COMMON + 1})"
    sql = " UNION ALL ".join(f"SELECT {i}, ({count})" for i in range(len(queries)))
    counts = dict(database.execute_sql(sql, queries).fetchall())
    return {q for i, q in enumerate(queries) if counts.get(i, 0) > COMMON}


def _common_postgres(queries: list[str], table: str) -> set[str]:
    """From the planner's statistics (``ANALYZE``, run by autovacuum): the lexemes it lists as most common
    times the table's rows; a lexeme it does not list is rare. Counting as SQLite does read whole posting
    lists of common terms (20 ms a sentence at a million parts); this is one catalog row."""
    lexemes = {q.strip("()").removesuffix(":*").strip("'"): q for q in queries}  # "('冰箱')" -> 冰箱
    rows = database.execute_sql(
        "SELECT u.e FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(e, f) "
        "WHERE s.schemaname = current_schema() AND s.tablename = %s AND s.attname = 'vector' "
        "AND u.e = ANY(%s) AND u.f * (SELECT reltuples FROM pg_class WHERE oid = %s::regclass) > %s",
        (table, list(lexemes), table, COMMON)).fetchall()
    return {lexemes[e] for (e,) in rows}


def recent(text: str, postgres: bool, fts, vectors):
    """Subquery ``found`` (``key``: the index row's id, ``score``: lower is better): the ``WINDOW`` most recent
    rows matching ``text``, ranked. Both engines walk their index newest first and stop at ``WINDOW``
    (FTS5 by rowid, PostgreSQL the primary key backwards), so only those rows are ranked.

    ``fts``: the SQLite FTS5 model; ``vectors``: the PostgreSQL model with the ``vector`` column.
    """
    if postgres:
        query = Cast(Value(text), "tsquery")
        found = vectors.select(vectors.id.alias("key"), (0 - fn.ts_rank(vectors.vector, query)).alias("score")).where(
            Expression(vectors.vector, "@@", query)).order_by(vectors.id.desc())
    else:
        found = fts.select(fts.rowid.alias("key"), fts.bm25().alias("score")).where(fts.match(text)).order_by(
            fts.rowid.desc())
    return found.limit(WINDOW).alias("found")
