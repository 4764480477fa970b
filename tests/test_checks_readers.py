"""The static check that no field with readers (x-readers) leaks through a formula or a cross-field rule.

A computed field reading a reader field (directly or through another computed field) must name readers no
wider than it; so must a rule's field when the rule's check reads one (``formbuilder/checks_readers.py``).
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from formbuilder import DictionaryIndex, check_process, readers
from formbuilder.messages import Msg
from workflows.i18n import cli_gettext

FINANCE = {"roles": ["supervisor"], "departments": ["finance"]}
FORMULA = "the formula reads '{}', which names readers (x-readers): this field must name only roles and " \
          "departments that '{}' names"
COPY_LEAKS = f"/schema/properties/copy/x-formula: {FORMULA.format('ledger', 'ledger')}"
RULE = "the check reads '{}', which names readers (x-readers): the rule's field '{}' must name only roles and " \
       "departments that '{}' names"


def document(copy_readers: dict | None = None, formula: object = None, rules: list | None = None) -> dict:
    """``ledger`` (finance's), a free ``note``, and ``copy`` computed from ``formula`` (ledger by default)."""
    copy = {"type": "string", "title": "副本", "x-formula": formula or {"cat": [{"var": "ledger"}]}}
    if copy_readers is not None:
        copy["x-readers"] = copy_readers
    return {
        "format": 2, "code": "ledger", "name": "账目",
        "schema": {"type": "object", "properties": {
            "note": {"type": "string", "title": "说明"},
            "ledger": {"type": "string", "title": "账目", "x-readers": FINANCE},
            "copy": copy,
        }},
        "x-rules": rules or [],
        "steps": [{"key": "apply", "name": "申请", "fields": {"note": "required", "ledger": "editable",
                                                             "copy": "readonly"},
                   "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "提交"}]}],
    }


def lines(doc: dict, dictionaries=None) -> list[str]:
    return [str(p) for p in check_process(doc, dictionaries or {})]


@pytest.mark.parametrize("copy_readers", [FINANCE, {"roles": ["supervisor"]}, {"departments": ["finance"]}, {},
                                          {"roles": ["admin", "supervisor"]}])
def test_a_computed_copy_with_the_same_or_narrower_readers_passes(copy_readers):
    assert lines(document(copy_readers)) == []


@pytest.mark.parametrize("copy_readers", [None, {"roles": ["supervisor", "agent"]},
                                          {"departments": ["finance", "warehouse"]},
                                          {"departments": ["finance_north"]}])  # a sub-department: the tree may move
def test_a_computed_field_reading_a_reader_field_needs_readers_no_wider(copy_readers):
    assert lines(document(copy_readers)) == [COPY_LEAKS]


def test_a_formula_reading_only_free_fields_needs_no_readers():
    assert lines(document(formula={"cat": [{"var": "note"}]})) == []


@pytest.mark.parametrize("formula", [
    {"var": {"cat": ["led", "ger"]}},  # a name computed at run time
    {"cat": [{"var": ""}]},  # the whole data
    {"if": [{"missing": {"cat": ["led", "ger"]}}, "empty", "set"]},  # whether a computed name is empty
])
def test_a_name_the_expression_does_not_spell_out_reads_every_field(formula):
    assert lines(document(formula=formula)) == [COPY_LEAKS]


def test_a_table_column_read_inside_reduce_is_no_field():
    doc = document(formula={"cat": [{"var": "note"}]})
    properties = doc["schema"]["properties"]
    properties["parts"] = {"type": "array", "title": "配件", "x-widget": "table", "items": {
        "type": "object", "properties": {"ledger": {"type": "number", "title": "金额"}}}}
    properties["sum"] = {"type": "number", "title": "合计", "x-formula": {
        "reduce": [{"var": "parts"}, {"+": [{"var": "accumulator"}, {"var": "current.ledger"}]}, 0]}}
    doc["steps"][0]["fields"] |= {"parts": "editable", "sum": "readonly"}
    assert lines(doc) == []


def test_through_another_computed_field():
    doc = document(FINANCE)  # copy itself is fine; twice reads copy, and through it ledger
    doc["schema"]["properties"]["twice"] = {"type": "string", "title": "两遍",
                                            "x-formula": {"cat": [{"var": "copy"}, {"var": "note"}]}}
    doc["steps"][0]["fields"]["twice"] = "readonly"
    expected = [f"/schema/properties/twice/x-formula: {FORMULA.format(name, name)}" for name in ("copy", "ledger")]
    assert lines(doc) == expected
    doc["schema"]["properties"]["copy"].pop("x-readers")  # copy leaks too, and twice still reads ledger through it
    assert lines(doc) == [f"/schema/properties/copy/x-formula: {FORMULA.format('ledger', 'ledger')}",
                          f"/schema/properties/twice/x-formula: {FORMULA.format('ledger', 'ledger')}"]
    doc["schema"]["properties"]["twice"]["x-readers"] = {"departments": ["finance"]}
    assert lines(doc) == [f"/schema/properties/copy/x-formula: {FORMULA.format('ledger', 'ledger')}"]


def rule(field: str, check: object) -> dict:
    return {"field": field, "check": check, "message": {"zh": "账目不能为空", "en": "The ledger is empty"}}


def test_a_rule_reading_a_reader_field_needs_its_field_no_wider():
    doc = document(FINANCE, rules=[rule("note", {"!!": {"var": "ledger"}}), rule("ledger", {"!!": {"var": "ledger"}}),
                                   rule("note", {"!!": {"var": "note"}})])
    assert lines(doc) == [f"/x-rules/0/check: {RULE.format('ledger', 'note', 'ledger')}"]
    doc["schema"]["properties"]["note"]["x-readers"] = {"roles": ["supervisor"]}
    doc["steps"][0]["fields"]["note"] = "editable"  # check 12: an agent registering it could not fill it
    assert lines(doc) == []


def test_a_rule_reading_a_reader_field_through_a_computed_one():
    doc = document(FINANCE, rules=[rule("note", {"!!": {"var": "copy"}})])
    assert lines(doc) == [f"/x-rules/0/check: {RULE.format(name, 'note', name)}" for name in ("copy", "ledger")]


def test_the_problem_renders_in_chinese():
    problem = check_process(document(), {})[0]
    assert problem.msg == Msg(FORMULA.replace("'{}'", "'%(field)s'"), {"field": "ledger"})
    assert "限定了读者" in problem.render(cli_gettext("zh"))


def test_no_wider_by_the_documents_words():
    assert readers.no_wider(FINANCE, None) and readers.no_wider({}, FINANCE) and not readers.no_wider(None, FINANCE)
    assert readers.no_wider({"roles": ["admin"]}, {}) and not readers.no_wider({"roles": ["agent"]}, FINANCE)


def test_the_demo_repair_process_passes():
    """Its ``fee`` (supervisors and finance) reads ``labour`` and ``parts_total``, neither restricted."""
    demo = ROOT / "workflows" / "demo"
    dictionaries = {c: DictionaryIndex.from_document(json.loads((demo / f"{c}.dictionary.json").read_text("utf-8")))
                    for c in ("product", "channel")}
    doc = json.loads((demo / "repair.process.json").read_text("utf-8"))
    assert "x-readers" in doc["schema"]["properties"]["fee"]
    assert lines(doc, dictionaries) == []
