"""The search tokeniser (pure): CJK bigrams as Lucene's CJKAnalyzer, lowercased words, NFKC folding."""

from __future__ import annotations

from workflows.search.query import fts5_query, tsquery
from workflows.search.tokens import joined, runs, terms


def test_chinese_runs_become_overlapping_bigrams():
    assert terms("冰箱退货") == ["冰箱", "箱退", "退货"]
    assert runs("洗衣机") == [["洗衣", "衣机"]]


def test_a_lone_cjk_character_is_a_unigram():
    assert terms("门") == ["门"]
    assert runs("A 门 B") == [["a"], ["门"], ["b"]]


def test_two_character_queries_are_one_term_each():
    assert terms("退货") == ["退货"] and terms("冰箱") == ["冰箱"]


def test_latin_words_and_digits_are_lowercased_words():
    assert terms("Refrigerator NOT cooling, order RG-2026-07") == ["refrigerator", "not", "cooling", "order", "rg",
                                                                   "2026", "07"]
    assert terms("13800138000") == ["13800138000"]


def test_mixed_scripts_split_at_the_boundary():
    assert terms("A1型号冰箱x2") == ["a1", "型号", "号冰", "冰箱", "x2"]


def test_nfkc_folds_full_width_and_compatibility_forms():
    assert terms("ＡＢＣ１２３") == ["abc123"]
    assert terms("ﾃﾚﾋﾞ") == terms("テレビ")  # half-width katakana
    assert terms("㈱冰箱") == terms("(株)冰箱")


def test_punctuation_and_underscores_separate_and_vanish():
    assert terms("「退货」！！ a_b — “冰箱”。") == ["退货", "a", "b", "冰箱"]
    assert terms("") == [] and terms("   ，。！") == [] and terms(None) == []


def test_oversized_words_are_dropped():
    assert terms("x" * 65 + " ok") == ["ok"]


def test_joined_is_what_the_databases_index():
    assert joined("冰箱 Door") == "冰箱 door"


def test_queries_are_phrases_per_run_and_the_last_word_a_prefix():
    groups = runs("洗衣机 漏水 Refri")
    assert fts5_query(groups, False) == '"洗衣 衣机" AND "漏水" AND "refri"*'
    assert fts5_query(groups, True) == '"洗衣 衣机" OR "漏水" OR "refri"*'
    assert tsquery(groups, False) == "('洗衣' <-> '衣机') & ('漏水') & ('refri':*)"
    assert tsquery(runs("退货"), True) == "('退货')"
