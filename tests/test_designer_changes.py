"""The publish dialog's diff in words (formbuilder/changes.py): labels, never keys, in the reader's language."""

from __future__ import annotations

import copy
import json

import pytest
from babel.support import Translations
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from formbuilder.changes import changes
from formbuilder.changes_steps import moved
from formbuilder.messages import Msg

REPAIR = json.loads((ROOT / "docs" / "examples" / "repair.process.json").read_text("utf-8"))
CHINESE = Translations.load(str(ROOT / "translations"), ["zh_Hans_CN"]).gettext


def english(old: dict | None, new: dict, **kwargs) -> list[str]:
    return [m.render() for m in changes(old, new, **kwargs)]


def chinese(old: dict | None, new: dict) -> list[str]:
    return [m.render(CHINESE) for m in changes(old, new)]


def small() -> dict:
    """Two fields, two steps: 登记 shows both, 审批 reads the first and decides."""
    return {
        "format": 1, "code": "leave", "name": "请假",
        "schema": {"type": "object", "properties": {
            "days": {"type": "integer", "title": "天数"},
            "decision": {"type": "string", "title": "审批结果",
                         "oneOf": [{"const": "yes", "title": "同意"}, {"const": "no", "title": "不同意"}]}}},
        "steps": [
            {"key": "apply", "name": "登记", "fields": {"days": "required"}, "assignee": {"type": "creator"},
             "transitions": [{"to": "approve", "label": "提交"}]},
            {"key": "approve", "name": "审批", "fields": {"days": "readonly", "decision": "required"},
             "assignee": {"type": "role", "value": "supervisor"},
             "transitions": [{"to": "$end", "label": "结束"}]},
        ],
    }


def edited(change) -> dict:
    document = small()
    change(document)
    return document


def test_an_unchanged_document_has_no_changes():
    assert changes(small(), small()) == []
    assert changes(REPAIR, copy.deepcopy(REPAIR)) == []


def test_a_first_version_counts_its_fields_and_steps():
    assert english(None, REPAIR) == ["first version: 13 fields, 4 steps"]
    assert chinese(None, REPAIR) == ["首个版本: 13 个字段, 4 个步骤"]


def test_an_added_field_is_named_by_its_label_with_its_kind_and_mode_per_step():
    def add(doc):
        doc["schema"]["properties"]["reason"] = {"type": "string", "title": "请假原因", "x-widget": "textarea"}
        doc["steps"][0]["fields"]["reason"] = "required"
        doc["steps"][1]["fields"]["reason"] = "readonly"
    assert english(small(), edited(add)) == [
        "added field 请假原因 (Multi-line text)",
        "added field 请假原因 to step 登记, required",
        "added field 请假原因 to step 审批, read-only",
    ]
    assert chinese(small(), edited(add)) == [
        "添加字段 请假原因 (多行文本)",
        "在步骤 登记 添加字段 请假原因, 必填",
        "在步骤 审批 添加字段 请假原因, 只读",
    ]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.update(name="休假"), "process name: 请假 → 休假"),
    (lambda d: d.update(number_prefix="QJ"), "ticket number prefix: GD → QJ"),
    (lambda d: d.update(description="说明"), "description changed"),
    (lambda d: d["schema"]["properties"].pop("decision") and d["steps"][1]["fields"].pop("decision"),
     "removed field 审批结果"),
    (lambda d: d["schema"]["properties"]["days"].update(title="请假天数"), "renamed field 天数 to 请假天数"),
    (lambda d: d["schema"]["properties"]["days"].update(type="number"), "field 天数: type Whole number → Number"),
    (lambda d: d["schema"]["properties"]["days"].update(maximum=30), "field 天数: settings changed"),
    (lambda d: d["schema"]["properties"]["decision"]["oneOf"].append({"const": "later", "title": "暂缓"}),
     "field 审批结果: added options 暂缓"),
    (lambda d: d["schema"]["properties"]["decision"]["oneOf"].pop(), "field 审批结果: removed options 不同意"),
    (lambda d: d["schema"]["properties"]["decision"]["oneOf"][0].update(title="准"), "field 审批结果: options changed"),
    (lambda d: d["schema"]["properties"]["days"].update({"x-formula": {"+": [1, 1]}}), "field 天数 is now computed"),
    (lambda d: d["schema"]["properties"]["days"].update({"x-readers": {"roles": ["supervisor"]}}),
     "field 天数: who may read it changed"),
    (lambda d: d["steps"][1]["fields"].update(days="editable"), "field 天数 at step 审批: read-only → editable"),
    (lambda d: d["steps"][1]["fields"].pop("days"), "field 天数 at step 审批: read-only → hidden"),
    (lambda d: d["steps"][1]["fields"].update(days={"mode": "required", "when": {"required": ["decision"]}}),
     "field 天数 at step 审批: read-only → required when its condition holds, otherwise hidden"),
    (lambda d: d["steps"][1].update(name="主管审批"), "renamed step 审批 to 主管审批"),
    (lambda d: d["steps"][1]["assignee"].update(pick="round_robin"),
     "step 审批: handler role supervisor → role supervisor, round robin"),
    (lambda d: d["steps"][1].update(assignee={"type": "previous"}),
     "step 审批: handler role supervisor → whoever sent it here"),
    (lambda d: d["steps"][1]["transitions"][0].update(label="完成"),
     "step 审批: transition to End relabelled 结束 → 完成"),
    (lambda d: d["steps"][1]["transitions"][0].update(when={"required": ["decision"]}),
     "step 审批: condition of transition 结束 changed"),
    (lambda d: d["steps"][1]["transitions"].append({"to": "apply", "label": "退回"}),
     "step 审批: added transition 退回 to 登记"),
    (lambda d: d["steps"][0]["transitions"].insert(0, {"to": "$end", "label": "撤销"}),
     "step 登记: added transition 撤销 to End"),
    (lambda d: d["steps"][1].update(sla={"minutes": 60}), "time limit of step 审批 changed"),
    (lambda d: d["steps"][1].update(timeout={"minutes": 60, "to": "$end"}), "timeout of step 审批 changed"),
    (lambda d: d["steps"][1].update(sign={"mode": "all", "of": {"type": "role", "value": "cab"}}),
     "countersign settings of step 审批 changed"),
    (lambda d: d["steps"][1].update(allow_return=True), "settings of step 审批 changed"),
])
def test_each_change_is_one_line_naming_labels(change, expected):
    assert english(small(), edited(change)) == [expected]


def test_a_removed_transition_and_a_removed_step():
    def drop(doc):
        doc["steps"][0]["transitions"] = [{"to": "$end", "label": "直接结束"}]
        del doc["steps"][1]
    assert english(small(), edited(drop)) == [
        "removed step 审批",
        "step 登记: removed transition 提交 to 审批",
        "step 登记: added transition 直接结束 to End",
    ]


def test_an_added_step_names_its_handler_and_how_many_fields_it_shows():
    def add(doc):
        doc["steps"].insert(1, {"key": "hr", "name": "人事备案", "fields": {"days": "readonly", "decision": "hidden"},
                                "assignee": {"type": "department", "value": ["hr", "admin"], "pick": "least_loaded"},
                                "transitions": [{"to": "approve", "label": "备案"}]})
        doc["steps"][0]["transitions"][0]["to"] = "hr"
    names = {("department", "hr"): "人事部"}
    assert english(small(), edited(add), name_of=lambda kind, code: names.get((kind, code), code)) == [
        "added step 人事备案, handled by department 人事部, admin, fewest open tickets; fields shown: 1",
        "step 登记: removed transition 提交 to 审批",
        "step 登记: added transition 提交 to 人事备案",
    ]


def test_a_moved_step_is_named_with_its_new_position():
    def swap(doc):
        doc["steps"].append({"key": "archive", "name": "归档", "fields": {}, "assignee": {"type": "creator"},
                             "transitions": [{"to": "$end", "label": "完成"}]})
    before, after = edited(swap), edited(swap)
    after["steps"][1], after["steps"][2] = after["steps"][2], after["steps"][1]
    assert english(before, after) == ["moved step 归档 to position 2"]


@pytest.mark.parametrize(("before", "after", "out_of_order"), [
    ("abc", "abc", ""), ("abc", "acb", "c"), ("abcd", "dabc", "d"), ("abcd", "badc", "bd"), ("ab", "xbay", "b"),
])
def test_moved_keys_are_the_fewest_out_of_order(before, after, out_of_order):
    assert "".join(moved(list(before), list(after))) == out_of_order


def test_the_order_is_process_then_fields_then_steps():
    def many(doc):
        doc["steps"][1]["name"] = "主管审批"
        doc["schema"]["properties"]["days"]["title"] = "请假天数"
        doc["name"] = "休假"
    assert english(small(), edited(many)) == [
        "process name: 请假 → 休假", "renamed field 天数 to 请假天数", "renamed step 审批 to 主管审批"]


def test_the_repair_process_against_a_modified_copy():
    new = copy.deepcopy(REPAIR)
    properties, steps = new["schema"]["properties"], new["steps"]
    properties["serial"] = {"type": "string", "title": "序列号"}
    properties["parts"]["items"]["properties"]["note"] = {"type": "string", "title": "备注"}
    properties["parts"]["items"]["required"] = ["part"]
    properties["fee"]["x-readers"] = {"roles": ["supervisor"]}
    steps[1]["fields"]["serial"] = "required"
    steps[3]["fields"]["labour"] = "hidden"
    steps[2]["assignee"]["pick"] = "least_loaded"
    assert english(REPAIR, new) == [
        "table 配件明细: added column 备注",
        "table 配件明细: column 数量 is no longer required",
        "field 应收费用（元）: who may read it changed",
        "added field 序列号 (Single-line text)",
        "added field 序列号 to step 上门维修, required",
        "step 仓库出库: handler department warehouse, round robin → department warehouse, fewest open tickets",
        "field 人工费（元） at step 财务结算: read-only → hidden",
    ]
    assert chinese(REPAIR, new)[-3:] == [
        "在步骤 上门维修 添加字段 序列号, 必填",
        "步骤 仓库出库: 处理人 部门 warehouse, 轮流分配 → 部门 warehouse, 未完结工单最少者",
        "字段 人工费（元） 在步骤 财务结算: 只读 → 隐藏",
    ]


def test_the_assign_by_field_handler_names_the_field_by_its_label():
    new = copy.deepcopy(REPAIR)
    new["steps"][1]["assignee"] = {"type": "choose", "value": "repair"}
    assert english(REPAIR, new) == [
        "step 上门维修: handler whoever field 上门工程师 names → anyone the sender chooses among repair"]


def test_a_conditional_mode_whose_condition_changed_says_so():
    def when(condition):
        mode = {"mode": "editable", "when": condition, "else": "readonly"}
        return lambda d: d["steps"][1]["fields"].update(days=mode)
    before, after = edited(when({"required": ["decision"]})), edited(when({"required": ["days"]}))
    assert english(before, after) == ["field 天数 at step 审批: condition changed"]


def test_messages_are_msgs_rendered_late():
    found = changes(small(), edited(lambda d: d["steps"][1]["fields"].update(days="required")))
    assert all(isinstance(m, Msg) for m in found)
    assert found[0].msgid == "field %(field)s at step %(step)s: %(old)s → %(new)s"


def test_a_malformed_draft_does_not_break_the_diff():
    broken = {"name": "x", "schema": {"properties": {"a": "nonsense"}}, "steps": [None, {"key": 3}, {"key": "s"}]}
    assert isinstance(changes(small(), broken), list)
    assert isinstance(changes(broken, small()), list)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
KEYS = st.sampled_from(["days", "decision", "x", "$end", "title", "items", "oneOf", "fields", "to", "mode"])
PARTS = st.dictionaries(KEYS, JSON, max_size=4)
DOCUMENTS = st.fixed_dictionaries({"name": JSON, "schema": st.fixed_dictionaries({
    "properties": st.dictionaries(KEYS, PARTS | JSON, max_size=3)}),
    "steps": st.lists(st.fixed_dictionaries({"key": KEYS, "fields": st.dictionaries(KEYS, JSON, max_size=3),
                                             "assignee": PARTS, "transitions": st.lists(PARTS, max_size=2)})
                      | JSON, max_size=3)})


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(old=DOCUMENTS | st.just(small()), new=DOCUMENTS | st.just(small()))
def test_any_two_drafts_are_worded_in_both_languages(old, new):
    for message in changes(old, new):
        assert message.render() and message.render(CHINESE)
