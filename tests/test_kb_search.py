"""Article search on both databases: Chinese two-character queries, ranking, and what each reader may find."""

from __future__ import annotations

import pytest
from test_kb_articles import seed_categories

from workflows.kb import articles
from workflows.kb.search import reindex_all, search_articles


@pytest.fixture
def kb(world):
    seed_categories()
    return world


def put(world, title: str, body: str, *, status: str = "published", visibility: str = "public", **values):
    article = articles.create(world["sup"], title=title, body=body, visibility=visibility, **values)
    if status in ("review", "published", "archived"):
        articles.submit(world["sup"], article.number)
    if status in ("published", "archived"):
        articles.publish(world["sup"], article.number)
    if status == "archived":
        articles.archive(world["sup"], article.number)
    return article


def numbers(found) -> list[str]:
    return [a.number for a in found]


def test_two_character_chinese_queries_match_and_rank(kb):
    returns = put(kb, "退货流程", "七天无理由退货，退货前请保留包装。退货运费由谁承担。", category="returns")
    fridge = put(kb, "冰箱不制冷", "检查冰箱电源和温控。", category="repair")
    mention = put(kb, "安装说明", "空调安装后如需退货请联系客服。")
    assert numbers(search_articles(None, "退货")) == [returns.number, mention.number]  # title and often: first
    assert numbers(search_articles(None, "冰箱")) == [fridge.number]
    assert numbers(search_articles(None, "制冷")) == [fridge.number]
    assert numbers(search_articles(None, "冰箱 电源")) == [fridge.number]  # every word
    assert numbers(search_articles(None, "故障维修")) == [fridge.number]  # the category's label is indexed
    assert numbers(search_articles(None, "退货", category="repair")) == []
    assert search_articles(None, "") == [] and search_articles(None, "，。") == []
    assert numbers(search_articles(None, "退货", limit=1)) == [returns.number]


def test_a_typed_description_falls_back_to_any_word(kb):
    fridge = put(kb, "冰箱不制冷", "检查冰箱电源。")
    assert numbers(search_articles(None, "我家冰箱坏了 完全不行 help")) == [fridge.number]
    assert numbers(search_articles(None, "冰箱 洗衣机", any_term=True)) == [fridge.number]


def test_english_words_tags_and_prefixes(kb):
    router = put(kb, "Router reset", "Hold the RESET button for ten seconds.", tags=["wifi"])
    assert numbers(search_articles(None, "reset")) == [router.number]
    assert numbers(search_articles(None, "ＲＥＳＥＴ")) == [router.number]
    assert numbers(search_articles(None, "wifi")) == [router.number]
    assert numbers(search_articles(None, "rou")) == [router.number]  # the last word may still be typed


def test_drafts_review_and_archived_are_never_found(kb):
    for status in ("draft", "review", "archived"):
        put(kb, f"退货{status}", "退货说明", status=status)
    for reader in (None, kb["agent"], kb["sup"], kb["admin"]):
        assert search_articles(reader, "退货") == []


def test_internal_articles_only_for_staff(kb):
    internal = put(kb, "退货内部审批", "退货超过三千元需主管审批。", visibility="internal")
    public = put(kb, "退货须知", "退货请保留发票。")
    assert numbers(search_articles(None, "退货")) == [public.number]
    assert numbers(search_articles(kb["agent"], "退货", public_only=True)) == [public.number]
    assert set(numbers(search_articles(kb["agent"], "审批"))) == {internal.number}
    assert set(numbers(search_articles(kb["wh1"], "退货"))) == {internal.number, public.number}
    assert search_articles(None, "审批") == []


def test_an_edit_reaches_the_index(kb):
    article = put(kb, "冰箱不制冷", "检查电源。")
    articles.edit(kb["sup"], article.number, expected_version=1, title="洗衣机漏水", body="检查水管。")
    assert search_articles(None, "冰箱") == []
    assert numbers(search_articles(None, "漏水")) == [article.number]
    assert reindex_all() == 1
    assert numbers(search_articles(None, "水管")) == [article.number]
