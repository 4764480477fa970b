"""Format-2 process documents: accepted by the checker, their keys refused in format 1, static checks 7 and 8,
and refused at publishing until the engine enforces formulas, rules and readers."""

from __future__ import annotations

import copy

import pytest
from conftest import example

from formbuilder import check_process
from formbuilder.documents import check_shape

NEEDS_2 = 'needs "format": 2'
CYCLE = "computed fields depend on each other in a cycle: "
READ_ONLY = "a computed field cannot be editable or required"


def format_2() -> dict:
    """A small valid format-2 document: two computed fields, a field with readers, a cross-field rule."""
    return {
        "format": 2, "code": "expense", "name": "费用报销",
        "schema": {"type": "object", "properties": {
            "price": {"type": "number", "title": "单价"},
            "qty": {"type": "integer", "title": "数量"},
            "total": {"type": "number", "title": "合计", "x-formula": {"*": [{"var": "price"}, {"var": "qty"}]}},
            "start": {"type": "string", "format": "date", "title": "开始"},
            "end": {"type": "string", "format": "date", "title": "结束"},
            "length": {"type": "integer", "title": "天数", "x-formula": {"days": [{"var": "start"}, {"var": "end"}]}},
            "fee": {"type": "number", "title": "手续费",
                    "x-readers": {"roles": ["supervisor"], "departments": ["finance"]}},
        }},
        "x-rules": [{"field": "end", "check": {"<=": [{"var": "start"}, {"var": "end"}]},
                     "message": {"zh": "结束日期不能早于开始日期", "en": "The end cannot be before the start"}}],
        "steps": [{"key": "apply", "name": "申请",
                   "fields": {"price": "required", "qty": "required", "total": "readonly", "start": "required",
                              "end": "required", "length": "readonly", "fee": "editable"},
                   "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "提交"}]}],
    }


def lines(document: dict, dictionaries=None) -> list[str]:
    return [str(p) for p in check_process(document, dictionaries or {})]


def test_a_format_2_document_passes():
    assert lines(format_2()) == []


def test_format_1_documents_are_unaffected(process_doc, dictionaries):
    assert lines(process_doc, dictionaries) == []
    assert lines({**copy.deepcopy(process_doc), "format": 2}, dictionaries) == []  # format 1 means the same in 2


def test_only_formats_1_and_2_exist():
    assert lines({**format_2(), "format": 3}) == ["/format: 3 is not one of [1, 2]"]


def test_format_2_keys_are_refused_in_format_1_each_at_its_path():
    expected = [
        f"/schema/properties/fee/x-readers: x-readers {NEEDS_2}",
        f"/schema/properties/length/x-formula: x-formula {NEEDS_2}",
        f"/schema/properties/total/x-formula: x-formula {NEEDS_2}",
        f"/x-rules: x-rules {NEEDS_2}",
    ]
    document = {**format_2(), "format": 1}
    assert lines(document) == expected
    assert [str(p) for p in check_shape(document)] == expected  # a draft is refused too


@pytest.mark.parametrize(("where", "value", "expected"), [
    ("fee", {"users": ["li"]}, "/schema/properties/fee/x-readers/users: unknown key"),
    ("fee", {"roles": "supervisor"}, '/schema/properties/fee/x-readers/roles: must be of type "array"'),
    ("rule", {"field": "end", "check": True}, "/x-rules/0: missing required key 'message'"),
    ("rule", {"field": "end", "check": True, "message": {"zh": "错"}},
     "/x-rules/0/message: missing required key 'en'"),
])
def test_the_shape_of_readers_and_rules(where, value, expected):
    document = format_2()
    if where == "fee":
        document["schema"]["properties"]["fee"]["x-readers"] = value
    else:
        document["x-rules"] = [value]
    assert lines(document) == [expected]


def with_formula(name: str, formula, **schema) -> dict:
    document = format_2()
    document["schema"]["properties"][name].update({"x-formula": formula, **schema})
    return document


def test_check_7_unknown_field_in_a_formula():
    document = with_formula("total", {"*": [{"var": "price"}, {"var": "ghost"}]})
    assert lines(document) == ["/schema/properties/total/x-formula/*/1: formula names unknown field 'ghost'"]


def test_check_7_unknown_operation():
    document = with_formula("total", {"sum": [{"var": "price"}, {"var": "qty"}]})
    assert lines(document) == ["/schema/properties/total/x-formula: unknown operation 'sum'"]


def test_check_7_a_cycle_is_reported_once_at_its_first_formula():
    document = with_formula("total", {"*": [{"var": "length"}, {"var": "price"}]})
    document["schema"]["properties"]["length"]["x-formula"] = {"+": [{"var": "total"}, 1]}
    assert lines(document) == [f"/schema/properties/total/x-formula: {CYCLE}total -> length -> total"]


def test_check_7_a_formula_reading_itself():
    document = with_formula("total", {"+": [{"var": "total"}, 1]})
    assert lines(document) == [f"/schema/properties/total/x-formula: {CYCLE}total -> total"]


def test_check_7_rules_name_fields_and_their_checks_are_json_logic():
    document = format_2()
    document["x-rules"].append({"field": "finish", "check": {"after": [{"var": "end"}, {"var": "start"}]},
                                "message": {"zh": "错", "en": "wrong"}})
    assert lines(document) == ["/x-rules/1/check: unknown operation 'after'",
                               "/x-rules/1/field: no such field in schema"]


def test_check_7_a_rule_check_names_only_fields():
    document = format_2()
    document["x-rules"][0]["check"] = {"<=": [{"var": "begin"}, {"var": "end"}]}
    assert lines(document) == ["/x-rules/0/check/<=/0: formula names unknown field 'begin'"]


@pytest.mark.parametrize("schema", [{"type": "boolean"}, {"type": "array", "items": {"type": "string",
                                                                                       "format": "attachment"}}])
def test_check_7_a_computed_field_holds_a_number_text_or_date(schema):
    document = format_2()
    document["schema"]["properties"]["flag"] = {**schema, "title": "标记", "x-formula": {">": [{"var": "qty"}, 1]}}
    assert lines(document) == [
        "/schema/properties/flag/x-formula: a computed field must be a number, integer, text or date field"]


def test_check_7_a_date_computed_field_is_accepted():
    document = format_2()
    document["schema"]["properties"]["due"] = {"type": "string", "format": "date", "title": "到期",
                                               "x-formula": {"var": "end"}}
    assert lines(document) == []


@pytest.mark.parametrize("mode", [
    "editable",
    "required",
    {"mode": "readonly", "when": {"required": ["price"]}, "else": "editable"},
    {"mode": "required", "when": {"required": ["price"]}},
])
def test_check_8_a_computed_field_is_never_editable_or_required(mode):
    document = format_2()
    document["steps"][0]["fields"]["total"] = mode
    assert lines(document) == [f"/steps/0/fields/total: {READ_ONLY}"]


def test_check_8_a_conditional_mode_that_only_shows_it_is_fine():
    document = format_2()
    document["steps"][0]["fields"]["total"] = {"mode": "readonly", "when": {"required": ["price"]}}
    assert lines(document) == []


def test_problems_render_in_chinese():
    from workflows.i18n import cli_gettext

    document = with_formula("total", {"+": [{"var": "total"}, 1]}, type="boolean")
    document["steps"][0]["fields"]["total"] = "editable"
    document["x-rules"][0]["field"] = "finish"
    zh = cli_gettext("zh")
    assert [p.render(zh) for p in check_process(document, {})] == [
        "/schema/properties/total/x-formula: 计算字段必须是数字、整数、文本或日期字段",
        "/schema/properties/total/x-formula: 计算字段之间存在循环依赖：total -> total",
        "/steps/0/fields/total: 计算字段不能设为可编辑或必填",
        "/x-rules/0/field: 模板中没有此字段",
    ]
    assert [p.render(zh) for p in check_process({**format_2(), "format": 1}, {})][0] == \
        '/schema/properties/fee/x-readers: x-readers 需要 "format": 2'


def test_a_format_2_document_publishes_now_that_the_engine_enforces_its_keys(app):
    from workflows.processes import documents as docs
    from workflows.storage import db as lzdb

    with app.app_context(), lzdb.database.connection_context():
        assert docs.store_process(format_2(), None, "process.import", publish=True)[1].number == 1


def test_a_key_the_engine_does_not_enforce_is_stored_as_a_draft_and_not_published(app, monkeypatch):
    """The gate issue 19's keys will use until the engine honours them: refused at publish, at each path."""
    from workflows.processes import documents as docs
    from workflows.storage import db as lzdb

    monkeypatch.setattr(docs, "NOT_ENFORCED_FIELD_KEYS", frozenset({"x-readers"}))
    with app.app_context(), lzdb.database.connection_context():
        with pytest.raises(docs.DocumentError) as refused:
            docs.store_process(format_2(), None, "process.import", publish=True)
        assert [str(p) for p in refused.value.problems] == [
            "/schema/properties/fee/x-readers: x-readers cannot be published yet: the engine does not enforce it"]
        process, version, changed = docs.store_process(format_2(), None, "process.import")
        assert (process.draft, version, changed) == (format_2(), None, True)
        with pytest.raises(docs.DocumentError):
            docs.publish("expense")
        assert docs.latest_version("expense") is None


def test_the_shared_example_still_publishes(seeded):
    assert seeded.number == 1 and seeded.document == example("return_goods.process.json")
