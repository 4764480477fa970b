"""Common terms in "similar" queries (``workflows.search.common``) on both databases.

A million tickets make 冰箱 common; here ``COMMON`` is lowered so a handful does, and ``WINDOW`` so
"the most recent matches" is three parts. PostgreSQL learns which lexemes are common from the
planner's statistics, so each test runs ``ANALYZE`` after its tickets, as autovacuum would.
"""

from __future__ import annotations

import pytest
from test_engine import FINANCE, advance
from test_kb_suggest import closed, numbers, published
from test_search import at_finance, make

from workflows.kb.search import search_articles
from workflows.kb.suggest import suggest
from workflows.search import common
from workflows.search.query import fts5_query, postgres, similar_open, tsquery
from workflows.storage.db import database


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(common, "COMMON", 2)
    monkeypatch.setattr(common, "WINDOW", 3)


def analyzed() -> None:
    database.execute_sql("ANALYZE")


def rare(words: list[str], table: str = "search_part") -> list[bool]:
    queries = [tsquery([[w]], True) if postgres() else fts5_query([[w]], True) for w in words]
    return common.rare(queries, postgres(), table)


def test_a_word_in_more_parts_than_common_is_common(world, small):
    for _ in range(3):
        make(world, "冰箱不制冷")
    make(world, "压缩机异响")
    analyzed()
    assert rare(["冰箱", "制冷", "压缩", "异响", "没有"]) == [False, False, True, True, True]


def test_the_rare_words_rank_over_all_history_and_the_common_ones_over_the_most_recent(world, small):
    old = closed(world, "压缩机异响")  # the oldest: found by its rare words however many come after it
    fridges = [closed(world, "冰箱不制冷，要求上门") for _ in range(5)]
    analyzed()
    cases = suggest(world["admin"], "客户说压缩机异响，冰箱不制冷")[1]
    # the three most recent parts holding a common word: the two oldest fridges are not ranked at all
    assert numbers(cases) == [old.number] + [t.number for t in fridges[:1:-1]]
    only_common = suggest(world["admin"], "冰箱不制冷")[1]
    assert numbers(only_common) == [t.number for t in fridges[:1:-1]]


def test_the_call_pages_similar_open_tickets_ask_the_same_way(world, small):
    old = make(world, "压缩机异响")
    fridges = [make(world, "冰箱不制冷") for _ in range(5)]
    analyzed()
    found = similar_open(world["agent"], "压缩机异响，冰箱不制冷")
    assert [t.number for t in found] == [old.number] + [t.number for t in fridges[:1:-1]]


def test_a_hidden_fields_common_words_still_find_nothing_for_who_cannot_see_them(world, small):
    """fin1 closes tickets at the finance step, whose form leaves out the defect."""
    for _ in range(4):
        ticket = at_finance(world, "机密瑕疵描述")
        advance(world, "fin1", ticket, FINANCE, action="close")
    analyzed()
    assert rare(["机密"]) == [False]
    assert suggest(world["fin1"], "机密瑕疵")[1] == []
    assert len(suggest(world["wh1"], "机密瑕疵")[1]) == 3  # the warehouse sees the defect: the window's three


def test_articles_rank_rare_words_first_and_common_ones_among_the_most_recent(world, small):
    rare_one = published(world, "压缩机异响的处理办法", "检查压缩机支架。")
    fridges = [published(world, f"冰箱不制冷 {i}", "检查温控器。") for i in range(5)]
    analyzed()
    assert rare(["冰箱", "异响"], "article_search") == [False, True]
    found = search_articles(world["agent"], "压缩机异响，冰箱不制冷", any_term=True, limit=5)
    assert numbers(found) == [rare_one.number] + [a.number for a in fridges[:1:-1]]
