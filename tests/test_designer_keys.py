"""Keys from labels (formbuilder/keys.py): the designer never asks anyone to type a key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formbuilder.checks import RESERVED_KEYS
from formbuilder.editing import KEY
from formbuilder.keys import key_for, step_key_for

FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None)


@pytest.mark.parametrize(("label", "key"), [
    ("配件明细", "pei_jian_ming_xi"),
    ("上门维修", "shang_men_wei_xiu"),
    ("单价（元）", "dan_jia_yuan"),
    ("保修期（月）", "bao_xiu_qi_yue"),
    ("绿色", "lv_se"),
    ("Unit price", "unit_price"),
    ("  Unit -- price (USD)!  ", "unit_price_usd"),
    ("E-mail", "e_mail"),
    ("CPU型号", "cpu_xing_hao"),
    ("型号 A2", "xing_hao_a2"),
    ("ＡＢＣ１２", "abc12"),
    ("Über café", "uber_cafe"),
    ("2号楼", "f_2_hao_lou"),
    ("123", "f_123"),
    ("A", "field_a"),
    ("", "field"),
    ("   ", "field"),
    ("？？！", "field"),
    ("😀", "field"),
    ("Привет", "field"),
])
def test_a_key_reads_like_its_label(label, key):
    assert key_for(label, []) == key


def test_a_taken_key_gets_the_next_free_suffix():
    assert key_for("配件明细", ["pei_jian_ming_xi"]) == "pei_jian_ming_xi_2"
    assert key_for("配件明细", ["pei_jian_ming_xi", "pei_jian_ming_xi_2"]) == "pei_jian_ming_xi_3"
    assert key_for("？", ["field", "field_2"]) == "field_3"


def test_names_the_form_class_uses_are_never_given():
    assert key_for("Data", []) == "data_2"
    assert key_for("Process", []) == "process_2"
    assert not RESERVED_KEYS & {key_for(name, []) for name in RESERVED_KEYS}


def test_a_long_label_is_cut_to_64_characters_suffix_included():
    label = "很长的字段名称" * 10
    first = key_for(label, [])
    assert len(first) <= 64 and KEY.match(first) and not first.endswith("_")
    second = key_for(label, [first])
    assert len(second) <= 64 and second.endswith("_2") and KEY.match(second)


def test_the_same_label_always_gives_the_same_key():
    assert key_for("维修记录", ["a", "b"]) == key_for("维修记录", ["b", "a"]) == "wei_xiu_ji_lu"


def test_step_keys_fall_back_on_step():
    assert step_key_for("财务结算", []) == "cai_wu_jie_suan"
    assert step_key_for("！", []) == "step"
    assert step_key_for("！", ["step"]) == "step_2"
    assert step_key_for("1", []) == "s_1"


def test_a_fallback_that_is_no_key_is_a_programming_error():
    with pytest.raises(ValueError):
        key_for("x", [], fallback="9")


@FAST
@given(labels=st.lists(st.text(max_size=80), max_size=12))
def test_any_labels_get_valid_distinct_keys(labels):
    taken: list[str] = []
    for label in labels:
        key = key_for(label, taken)
        assert KEY.match(key), (label, key)
        assert key not in taken and key not in RESERVED_KEYS
        taken.append(key)


@FAST
@given(label=st.text(max_size=200), taken=st.lists(st.text(max_size=70), max_size=20))
def test_any_label_is_unique_against_anything_taken(label, taken):
    key = key_for(label, taken)
    assert KEY.match(key) and key not in taken
