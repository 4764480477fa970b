"""A step's validator: types, modes, forgery, dictionaries, cascades and conditions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from strategies import step_data

from formbuilder import check_process, compiled_step, validate_step
from formbuilder.forms import build_form_class
from formbuilder.steps import StepSpec
from formbuilder.validation import HIDDEN, NOT_OPTION, READONLY, REQUIRED, UNKNOWN

OPTIONS = [{"const": "a", "title": "甲"}, {"const": "b", "title": "乙"}]

# type name -> (schema, a valid value, another valid value, an invalid value)
FIELD_TYPES = {
    "text": ({"type": "string", "maxLength": 5}, "abc", "xyz", "too long"),
    "email": ({"type": "string", "format": "email"}, "a@b.cn", "c@d.cn", "not-an-address"),
    "textarea": ({"type": "string", "x-widget": "textarea", "maxLength": 10}, "多行\n文本", "other", "x" * 11),
    "integer": ({"type": "integer", "minimum": 1, "maximum": 9}, 3, 4, 10),
    "number": ({"type": "number", "minimum": 0, "multipleOf": 0.01}, 19.99, 0.5, 1.234),
    "date": ({"type": "string", "format": "date"}, "2026-11-22", "2026-01-01", "2026-02-30"),
    "datetime": ({"type": "string", "format": "date-time"}, "2026-11-22T10:00:00+08:00",
                 "2026-11-22T11:00:00+08:00", "yesterday"),
    "select": ({"type": "string", "oneOf": OPTIONS}, "a", "b", "c"),
    "select-dictionary": ({"type": "string", "x-dictionary": "channel"}, "phone", "email", "fax"),
    "radio": ({"type": "string", "x-widget": "radio", "oneOf": OPTIONS}, "a", "b", "c"),
    "multiselect": ({"type": "array", "uniqueItems": True, "items": {"type": "string", "oneOf": OPTIONS}},
                    ["a"], ["a", "b"], ["a", "a"]),
    "checkboxes": ({"type": "array", "x-widget": "checkboxes", "uniqueItems": True,
                    "items": {"type": "string", "x-dictionary": "channel"}}, ["phone"], ["phone", "api"], ["fax"]),
    "checkbox": ({"type": "boolean"}, True, None, "yes"),
    "attachment": ({"type": "array", "maxItems": 2, "items": {"type": "string", "format": "attachment"}},
                   ["f1"], ["f2"], ["a", "b", "c"]),
    "cascade": ({"type": "string", "x-dictionary": "product", "x-cascade": "ct"}, "fr-200", "fr-450", "mw-a1"),
}
MODES = ("hidden", "readonly", "editable", "required")


def one_field_doc(schema: dict, mode) -> dict:
    return {
        "format": 1, "code": "probe", "name": "Probe",
        "schema": {"type": "object", "properties": {"ct": {"type": "string", "x-dictionary": "product"},
                                                    "fx": schema}},
        "steps": [{"key": "only", "name": "Only", "fields": {"ct": "editable", "fx": mode},
                   "assignee": {"type": "creator"}, "transitions": [{"to": "$end", "label": "Done"}]}],
    }


def spec_for(schema, mode, dictionaries):
    doc = one_field_doc(schema, mode)
    assert check_process(doc, dictionaries) == []
    return compiled_step(("probe", repr(schema), repr(mode)), doc, "only").spec


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_every_field_type_in_every_mode(kind, mode, dictionaries):
    schema, valid, other, _ = FIELD_TYPES[kind]
    spec = spec_for(schema, mode, dictionaries)
    stored = {"ct": "fr", "fx": valid}

    def errors(submitted, base=stored):
        return validate_step(spec, base, submitted, dictionaries).errors.get("fx")

    if mode == "hidden":
        assert "fx" not in spec.fields and "fx" not in spec.schema["properties"]
        assert errors({"fx": other}) == [HIDDEN] if other is not None else errors({"fx": other}) is None
        assert errors({"fx": valid}) == [HIDDEN]  # the stored value itself: no oracle
        assert spec.visible(stored) == {"ct": "fr"}
    elif mode == "readonly":
        assert spec.schema["properties"]["fx"]["readOnly"] is True
        assert errors({"fx": valid}) == [READONLY]  # the same answer whatever the value
        assert errors({"fx": other}) == [READONLY] if other is not None else errors({"fx": other}) is None
    else:
        assert errors({"fx": valid}, {"ct": "fr"}) is None
        assert errors({"fx": None}, {"ct": "fr"}) == ([REQUIRED] if mode == "required" else None)
        assert ("fx" in spec.schema["required"]) == (mode == "required")


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_invalid_values_are_refused_at_their_field(kind, dictionaries):
    schema, _, _, invalid = FIELD_TYPES[kind]
    outcome = validate_step(spec_for(schema, "editable", dictionaries), {"ct": "fr"}, {"fx": invalid}, dictionaries)
    assert list(outcome.errors) == ["fx"]


def test_decimal_money_is_a_multiple_of_a_cent(dictionaries):
    spec = spec_for(FIELD_TYPES["number"][0], "editable", dictionaries)
    for amount in (19.99, 0.07, 1234567.89, 0.3):
        assert validate_step(spec, {}, {"fx": amount}, dictionaries).ok, amount


def step(process_doc, key):
    return compiled_step(("return_goods", 1), process_doc, key).spec


REGISTERED = {"order_no": "TH-1", "source": "phone", "category": "fr", "model": "fr-200",
              "purchase_date": "2026-11-01", "defect": "门坏了"}


def test_register_accepts_the_example_data(process_doc, dictionaries):
    outcome = validate_step(step(process_doc, "register"), {}, REGISTERED, dictionaries)
    assert outcome.ok and outcome.data == REGISTERED


def test_register_names_every_missing_field(process_doc, dictionaries):
    outcome = validate_step(step(process_doc, "register"), {}, {"order_no": "TH-1"}, dictionaries)
    assert outcome.errors == {k: [REQUIRED] for k in ("source", "category", "model", "purchase_date", "defect")}


def test_forged_values_are_errors_not_ignored(process_doc, dictionaries):
    outcome = validate_step(step(process_doc, "approve"), REGISTERED,
                            {"approval": "approve", "order_no": "FORGED", "refund_amount": 100, "nosuch": 1},
                            dictionaries)
    assert outcome.errors == {"order_no": [READONLY], "refund_amount": [HIDDEN], "nosuch": [UNKNOWN]}


@pytest.mark.parametrize("guess", ["TH-1", "TH-2"], ids=["right", "wrong"])
def test_a_locked_key_gets_one_answer_whatever_its_value(process_doc, dictionaries, guess):
    """Issue 16, defect 2: a hidden or read-only key is refused alike, right guess or wrong, so no oracle."""
    stored = {**REGISTERED, "refund_amount": 100}
    outcome = validate_step(step(process_doc, "approve"), stored,
                            {"approval": "approve", "order_no": guess, "refund_amount": 100 if guess == "TH-1" else 7},
                            dictionaries)
    assert outcome.errors == {"order_no": [READONLY], "refund_amount": [HIDDEN]}


def test_an_empty_locked_key_clears_nothing_and_is_no_error(process_doc, dictionaries):
    stored = {**REGISTERED, "refund_amount": 100}
    outcome = validate_step(step(process_doc, "approve"), stored,
                            {"approval": "approve", "order_no": "", "refund_amount": None}, dictionaries)
    assert outcome.ok and outcome.data["order_no"] == "TH-1" and outcome.data["refund_amount"] == 100


@pytest.mark.parametrize(("submitted", "expected"), [
    ({"approval": "reject"}, {"reject_reason": [REQUIRED]}),
    ({"approval": "reject", "reject_reason": "超过七天"}, {}),
    ({"approval": "approve"}, {}),
    ({"approval": "approve", "reject_reason": "不该出现"}, {"reject_reason": [HIDDEN]}),
    ({}, {"approval": [REQUIRED]}),
    ({"approval": "maybe"}, {"approval": [NOT_OPTION]}),
])
def test_conditional_mode_of_reject_reason(process_doc, dictionaries, submitted, expected):
    assert validate_step(step(process_doc, "approve"), REGISTERED, submitted, dictionaries).errors == expected


def test_conditional_hidden_value_already_stored_is_kept(process_doc, dictionaries):
    stored = {**REGISTERED, "approval": "reject", "reject_reason": "旧理由"}
    outcome = validate_step(step(process_doc, "approve"), stored, {"approval": "approve", "reject_reason": ""},
                            dictionaries)
    assert outcome.ok and outcome.data["reject_reason"] == "旧理由"
    assert "reject_reason" not in step(process_doc, "approve").visible(outcome.data)


def test_template_rule_binds_only_where_its_field_is_editable(process_doc, dictionaries):
    stored = {**REGISTERED, "approval": "reject"}
    submitted = {"received": True, "received_at": "2026-11-22T10:00:00+08:00", "as_described": "yes"}
    assert validate_step(step(process_doc, "warehouse"), stored, submitted, dictionaries).ok


def test_required_checkbox_must_be_ticked(process_doc, dictionaries):
    submitted = {"received": False, "received_at": "2026-11-22T10:00:00+08:00", "as_described": "yes"}
    outcome = validate_step(step(process_doc, "warehouse"), REGISTERED, submitted, dictionaries)
    assert outcome.errors == {"received": [REQUIRED]}
    assert step(process_doc, "warehouse").schema["properties"]["received"]["const"] is True


@pytest.mark.parametrize(("stored", "submitted", "errors_at"), [
    ({}, {**REGISTERED, "model": "mw-a1"}, {"model"}),                 # child of another parent
    (REGISTERED, {"category": "ac"}, {"model"}),                       # parent changed under the child
    ({}, {**REGISTERED, "category": "mw-a1"}, {"category", "model"}),  # a child where a root belongs
    ({}, {**REGISTERED, "source": "fax"}, {"source"}),                 # not in the dictionary
])
def test_cascade_and_dictionary_mismatches(process_doc, dictionaries, stored, submitted, errors_at):
    outcome = validate_step(step(process_doc, "register"), stored, submitted, dictionaries)
    assert set(outcome.errors) == errors_at


def test_disabled_items_refused_for_new_input_but_kept_on_tickets(process_doc, dictionaries):
    register = step(process_doc, "register")
    old = {**REGISTERED, "category": "mw", "model": "mw-old"}
    assert list(validate_step(register, {}, old, dictionaries).errors) == ["model"]
    assert validate_step(register, old, {"defect": "补充描述"}, dictionaries).ok
    assert validate_step(step(process_doc, "approve"), old, {"approval": "approve"}, dictionaries).ok


def test_effective_schema_reads_as_json_schema(process_doc):
    schema = step(process_doc, "approve").schema
    assert schema["required"] == ["approval"]
    assert "refund_amount" not in schema["properties"]
    assert schema["properties"]["order_no"]["readOnly"] is True
    condition = process_doc["steps"][1]["fields"]["reject_reason"]["when"]
    required = {"required": ["reject_reason"], "properties": {"reject_reason": {"minLength": 1}}}
    assert schema["allOf"][0] == {"if": condition, "then": required,
                                  "else": {"not": {"required": ["reject_reason"]}}}
    assert schema["allOf"][1] == process_doc["schema"]["allOf"][0]


WRONG_TYPE = {"string": 12345, "number": "abc", "integer": 1.5, "boolean": "yes", "array": "x"}


@pytest.mark.parametrize("step_key", ["approve", "warehouse", "finance"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_data_passes_and_mutated_data_fails(process_doc, dictionaries, step_key, data):
    spec = step(process_doc, step_key)
    generated = data.draw(step_data(spec, dictionaries))
    judge = Draft202012Validator(spec.schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assume(judge.is_valid({**REGISTERED, **generated}))
    outcome = validate_step(spec, REGISTERED, generated, dictionaries)
    assert outcome.ok, (generated, outcome.errors)
    name = data.draw(st.sampled_from(sorted(generated)))
    mutated = {**generated, name: WRONG_TYPE[spec.fields[name].schema["type"]]}
    assert name in validate_step(spec, REGISTERED, mutated, dictionaries).errors


def _finance_with_editable_model(process_doc) -> StepSpec:
    """A version published before static check 9: ``model`` editable at finance, its parent ``category`` hidden."""
    finance = next(s for s in process_doc["steps"] if s["key"] == "finance")
    finance["fields"].pop("category")
    finance["fields"]["model"] = "editable"
    return compiled_step(("return_goods", "before-check-9"), process_doc, "finance").spec


@pytest.mark.parametrize("guess", ["fr-200", "mw-a1"], ids=["under-the-hidden-parent", "under-another"])
def test_a_hidden_cascade_parent_narrows_no_answer(process_doc, dictionaries, guess):
    """Issue 16, defect 3: whatever the hidden ``category`` holds, every model gets the same answer."""
    spec = _finance_with_editable_model(process_doc)
    stored = {**REGISTERED, "approval": "approve", "received": True}
    assert "model" not in validate_step(spec, stored, {"model": guess}, dictionaries).errors
    refused = validate_step(spec, stored, {"model": "no-such-model"}, dictionaries).errors["model"]
    assert refused == [NOT_OPTION]  # does not name the hidden parent


def test_a_hidden_cascade_parent_narrows_no_option_list(process_doc, dictionaries):
    spec = _finance_with_editable_model(process_doc)
    form = build_form_class(spec)(data={**REGISTERED, "approval": "approve"}, dictionaries=dictionaries)
    assert [value for value, _ in form.model.choices] == ["", "fr-200"]  # the held value, not fr's children


@pytest.mark.parametrize(("pattern", "text", "matches"), [
    ("^[0-9A-Z-]+$", "TH-1\n", False),  # Python's $ matched before a trailing newline
    ("^[0-9A-Z-]+$", "TH-1", True),
    (r"^\d{2}$", "１２", False),  # fullwidth digits are not ECMA-262's \d
    (r"^\w+$", "退货", False),
    (r"^[\w-]+$", "a-b", True),
    (r"^a\$$", "a$", True),
    ("^[$]$", "$", True),
])
def test_a_pattern_means_what_ecma_262_says(dictionaries, pattern, text, matches):
    """Issue 16, defect 11: JSON Schema's ``pattern`` is an ECMA-262 regex, on the server as in the browser."""
    spec = spec_for({"type": "string", "pattern": pattern}, "editable", dictionaries)
    errors = validate_step(spec, {"ct": "fr"}, {"fx": text}, dictionaries).errors
    assert ("fx" not in errors) is matches


def test_a_document_key_with_a_trailing_newline_is_refused(process_doc, dictionaries):
    process_doc["code"] = "return_goods\n"
    assert any(p.path == "/code" for p in check_process(process_doc, dictionaries))
