"""Process and dictionary documents: the meta-schema and the six static checks."""

from __future__ import annotations

import pytest
from conftest import example

from formbuilder import check_dictionary, check_process


def lines(problems) -> list[str]:
    return [str(p) for p in problems]


def test_the_example_passes(process_doc, dictionaries):
    assert check_process(process_doc, dictionaries) == []


def test_every_problem_is_reported_at_once(process_doc, dictionaries):
    doc = process_doc
    doc["steps"][0]["fields"]["ghost"] = "required"                  # check 2
    doc["schema"]["properties"]["category"]["x-dictionary"] = "nope"  # check 3
    doc["steps"][1]["fields"]["order_no"] = "bogus"                   # bad mode
    doc["steps"].append(dict(doc["steps"][3]))                        # check 4: duplicate key
    doc["steps"][2]["transitions"][0]["to"] = "missing"               # check 4: no such step
    assert lines(check_process(doc, dictionaries)) == [
        "/schema/properties/category/x-dictionary: unknown dictionary 'nope'",
        "/schema/properties/model/x-cascade: cascade parent 'category' must use dictionary 'product'",
        "/steps/0/fields/ghost: no such field in schema",
        '/steps/1/fields/order_no: "bogus" is not one of ["hidden", "readonly", "editable", "required"]',
        "/steps/2: step 'warehouse' cannot reach $end",
        "/steps/2/transitions/0/to: no such step 'missing'",
        "/steps/3: step 'finance' is not reachable from the first step",
        "/steps/4: step 'finance' is not reachable from the first step",
        "/steps/4/key: duplicate step key 'finance'",
    ]


def mutate(doc: dict, path: str, value) -> dict:
    *parents, last = path.split("/")
    target = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc


BAD_SHAPES = [
    ("format", 3, "/format: 3 is not one of [1, 2]"),
    ("code", "Return-Goods", '/code: "Return-Goods" does not match "^[a-z][a-z0-9_]{1,63}$"'),
    ("steps/0/assignee/type", "robot", '/steps/0/assignee/type: "robot" is not one of '
     '["creator", "previous", "user", "role", "department", "choose", "field"]'),
    ("steps/1/assignee/pick", "random", '/steps/1/assignee/pick: "random" is not one of '
     '["manual", "round_robin", "least_loaded"]'),
    ("steps/1/sla/minutes", 0, "/steps/1/sla/minutes: must be at least 0"),
    ("steps/1/colour", "red", "/steps/1/colour: unknown key"),
    ("schema/properties/order_no/x-widget", "slider",
     '/schema/properties/order_no/x-widget: "slider" is not one of '
     '["text", "textarea", "select", "radio", "checkbox", "checkboxes", "rating", "user", "department", "table"]'),
    ("schema/properties/order_no/pattern", "([", '/schema/properties/order_no/pattern: is not a valid "regex"'),
    ("priority/default", "medium", '/priority/default: "medium" is not one of ["urgent", "high", "normal", "low"]'),
    ("steps/1/fields/reject_reason", {"mode": "required"},
     "/steps/1/fields/reject_reason: missing required key 'when'"),
]


@pytest.mark.parametrize(("path", "value", "expected"), BAD_SHAPES, ids=[b[0] for b in BAD_SHAPES])
def test_meta_schema_problems_name_the_path(process_doc, dictionaries, path, value, expected):
    problems = lines(check_process(mutate(process_doc, path, value), dictionaries))
    assert expected.replace("at least 0", "at least 1") in problems


def test_missing_keys_are_named(process_doc, dictionaries):
    del process_doc["steps"][2]["assignee"]
    del process_doc["name"]
    assert lines(check_process(process_doc, dictionaries)) == [
        "/: missing required key 'name'", "/steps/2: missing required key 'assignee'"]


def test_user_assignee_needs_a_value(process_doc, dictionaries):
    process_doc["steps"][1]["assignee"] = {"type": "user"}
    assert "/steps/1/assignee: missing required key 'value'" in lines(check_process(process_doc, dictionaries))


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "object"}, "unsupported field type"),
    ({"type": "string", "format": "date", "x-widget": "textarea"}, "unsupported field type"),
    ({"type": "array", "items": {"type": "string"}}, "unsupported field type"),
    ({"type": "string", "maxLength": -1}, "invalid JSON Schema"),
    ({"type": "string", "oneOf": [{"const": "a"}], "default": "b"}, "default value is not valid"),
])
def test_check_1_field_types(process_doc, dictionaries, schema, expected):
    process_doc["schema"]["properties"]["extra"] = schema
    problems = lines(check_process(process_doc, dictionaries))
    assert any(p.startswith("/schema/properties/extra") and expected in p for p in problems), problems


@pytest.mark.parametrize("key", ["data", "errors", "validate", "spec", "submitted", "meta"])
def test_check_1_keys_the_form_itself_uses_are_refused(process_doc, dictionaries, key):
    process_doc["schema"]["properties"][key] = {"type": "string", "title": "x"}
    problems = check_process(process_doc, dictionaries)
    assert [(p.path, str(p.msg)) for p in problems] == [
        (f"/schema/properties/{key}", "this key is reserved by the form: choose another")]


def test_check_3_cascade_parent_must_be_a_field(process_doc, dictionaries):
    process_doc["schema"]["properties"]["model"]["x-cascade"] = "brand"
    assert lines(check_process(process_doc, dictionaries)) == [
        "/schema/properties/model/x-cascade: cascade parent 'brand' is not another field"]


def test_check_3_multiselect_dictionary(process_doc, dictionaries):
    process_doc["schema"]["properties"]["tags"] = {
        "type": "array", "uniqueItems": True, "items": {"type": "string", "x-dictionary": "colours"}}
    assert lines(check_process(process_doc, dictionaries)) == [
        "/schema/properties/tags/items/x-dictionary: unknown dictionary 'colours'"]


def test_check_5_unreachable_and_dead_end(process_doc, dictionaries):
    process_doc["steps"].append({"key": "orphan", "name": "孤岛", "fields": {}, "assignee": {"type": "creator"},
                                 "transitions": []})
    assert lines(check_process(process_doc, dictionaries)) == [
        "/steps/4: step 'orphan' is not reachable from the first step",
        "/steps/4: step 'orphan' cannot reach $end"]


def test_check_6_conditions_name_only_fields(process_doc, dictionaries):
    process_doc["steps"][1]["transitions"][0]["when"] = {"properties": {"verdict": {"const": "ok"}}}
    process_doc["steps"][1]["fields"]["reject_reason"]["when"] = {"required": ["mood"]}
    process_doc["schema"]["allOf"][0]["then"] = {"required": ["excuse"]}
    assert lines(check_process(process_doc, dictionaries)) == [
        "/schema/allOf/0: condition names unknown field 'excuse'",
        "/steps/1/fields/reject_reason/when: condition names unknown field 'mood'",
        "/steps/1/transitions/0/when: condition names unknown field 'verdict'"]


def test_check_6_conditions_must_be_valid_schema(process_doc, dictionaries):
    process_doc["steps"][1]["transitions"][0]["when"] = {"required": "approval"}
    problems = lines(check_process(process_doc, dictionaries))
    assert len(problems) == 1 and problems[0].startswith("/steps/1/transitions/0/when/required: invalid JSON Schema")


def test_not_an_object_at_all(dictionaries):
    assert lines(check_process([], dictionaries)) == ["/: must be of type \"object\""]


def test_problems_render_in_chinese(process_doc, dictionaries):
    from workflows.i18n import cli_gettext

    process_doc["steps"][0]["fields"]["ghost"] = "required"
    [problem] = check_process(process_doc, dictionaries)
    assert problem.render(cli_gettext("zh")) == "/steps/0/fields/ghost: 模板中没有此字段"


def test_dictionary_examples_pass():
    for code in ("channel", "product"):
        assert check_dictionary(example(f"{code}.dictionary.json")) == []


def test_dictionary_problems():
    doc = example("product.dictionary.json")
    doc["items"][1]["children"][0]["value"] = "mw-a1"
    doc["items"][2]["label"] = ""
    doc["items"][0]["colour"] = "red"
    assert lines(check_dictionary(doc)) == [
        "/items/0/colour: unknown key",
        "/items/2/label: must not be shorter than 1 characters"]
    del doc["items"][0]["colour"]
    doc["items"][2]["label"] = "空调"
    assert lines(check_dictionary(doc)) == ["/items/1/children/0/value: duplicate value 'mw-a1'"]
