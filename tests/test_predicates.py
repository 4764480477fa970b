"""Fast predicates answer exactly as the jsonschema validator they stand in for."""

from __future__ import annotations

import dataclasses
import math

import pytest
from conftest import example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formbuilder import validate_step
from formbuilder.predicates import all_unique, json_equal, predicate
from formbuilder.steps import compile_step
from formbuilder.validator import compile_schema

FAST = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROCESS = example("return_goods.process.json")
STEPS = [s["key"] for s in PROCESS["steps"]]
NAMES = ["a", "b", "order_no"]
TYPES = ["string", "integer", "number", "boolean", "array", "object", "null"]

strings = st.sampled_from(["", "a", "b", "TH-2026-001", "th 1", "2026-11-01", "2026-02-30", "2026-11-22T10:00:00+08:00",
                           "a@b.cn", "not-an-address", "f1.png", "bad id!", "é" * 3, "𠮷"]) | st.text(max_size=4)
numbers = (st.integers(-5, 5) | st.sampled_from([0.0, 1.0, 0.5, 19.99, 1.234, 10**400, math.inf, math.nan, -0.0])
           | st.floats(-10, 10))
scalars = st.none() | st.booleans() | numbers | strings
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(NAMES), inner, max_size=3), max_leaves=10)
limits = st.integers(0, 4)
PATTERNS = st.sampled_from(["^[0-9A-Z-]+$", "a", "^$", r"\d"])
FORMATS = st.sampled_from(["date", "date-time", "email", "attachment", "no-such"])


def keyword_of(inner):
    """One validating keyword (or an annotation) with a value of its usual shape."""
    return st.one_of(
        st.tuples(st.just("type"), st.sampled_from(TYPES) | st.lists(st.sampled_from(TYPES), min_size=1, max_size=3)),
        st.tuples(st.sampled_from(["minLength", "maxLength", "minItems", "maxItems"]), limits),
        st.tuples(st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]),
                  st.integers(-3, 3) | st.sampled_from([0.5, 19.99])),
        st.tuples(st.just("multipleOf"), st.sampled_from([0.01, 0.5, 2, 3])),
        st.tuples(st.just("pattern"), PATTERNS),
        st.tuples(st.just("format"), FORMATS),
        st.tuples(st.just("enum"), st.lists(scalars, min_size=1, max_size=3)),
        st.tuples(st.just("const"), values),
        st.tuples(st.just("uniqueItems"), st.booleans()),
        st.tuples(st.just("items"), inner),
        st.tuples(st.just("required"), st.lists(st.sampled_from(NAMES), max_size=2, unique=True)),
        st.tuples(st.just("properties"), st.dictionaries(st.sampled_from(NAMES), inner, max_size=2)),
        st.tuples(st.just("additionalProperties"), inner),  # a detail table's rows: false beside properties
        st.tuples(st.sampled_from(["allOf", "anyOf", "oneOf"]), st.lists(inner, min_size=1, max_size=3)),
        st.tuples(st.sampled_from(["not", "if", "then", "else"]), inner),
        st.tuples(st.sampled_from(["title", "default", "readOnly", "x-dictionary"]), scalars),
    )


text_fields = st.fixed_dictionaries({"type": st.just("string")}, optional={
    "minLength": limits, "maxLength": limits, "pattern": PATTERNS, "format": FORMATS, "title": strings})
schemas = st.recursive(
    st.booleans() | text_fields | st.builds(dict, st.lists(keyword_of(st.just({"type": "string"})), max_size=3)),
    lambda inner: st.builds(dict, st.lists(keyword_of(inner), max_size=4)),
    max_leaves=8,
)


@FAST
@given(schema=schemas, value=values)
def test_predicate_agrees_with_jsonschema(schema, value):
    check = predicate(schema)
    assert check is not None
    assert check(value) == compile_schema(schema).is_valid(value), (schema, value)


@pytest.mark.parametrize("schema", [
    {"$ref": "#/$defs/x"}, {"contains": {"const": 1}}, {"prefixItems": [True], "items": False},
    {"dependentRequired": {"a": ["b"]}}, {"properties": {"a": {"unevaluatedItems": False}}},
    {"items": {"$schema": "http://json-schema.org/draft-07/schema#"}}, {"pattern": "("},
])
def test_unknown_keywords_leave_the_schema_to_jsonschema(schema):
    assert predicate(schema) is None


@pytest.mark.parametrize("step_key", STEPS)
def test_every_step_of_the_example_takes_the_fast_path(step_key):
    spec = compile_step(PROCESS, step_key)
    assert predicate({k: v for k, v in spec.schema.items() if k != "properties"}) is not None
    assert all(predicate(sub) is not None for sub in spec.schema["properties"].values())


def slow(spec):
    """The same step answering "valid?" with jsonschema alone, as before the predicates."""
    return dataclasses.replace(spec, whole_check=spec.whole_validator.is_valid,
                               field_checks={n: v.is_valid for n, v in spec.field_validators.items()})


submissions = st.dictionaries(st.sampled_from(list(PROCESS["schema"]["properties"]) + ["forged"]), values, max_size=6)


@pytest.mark.parametrize("step_key", STEPS)
@FAST
@given(stored=submissions, submitted=submissions)
def test_validate_step_errors_unchanged_by_predicates(dictionaries, step_key, stored, submitted):
    spec = compile_step(PROCESS, step_key)
    fast = validate_step(spec, stored, submitted, dictionaries)
    assert fast == validate_step(slow(spec), stored, submitted, dictionaries)


@pytest.mark.parametrize(("one", "two", "same"), [
    (1, 1.0, True), (True, 1, False), (False, 0, False), (True, True, True), (None, False, False), ("1", 1, False),
    ([1, {"a": 1.0}], [1.0, {"a": 1}], True), ([True], [1], False), ({"a": [1]}, {"a": [1], "b": 2}, False),
    ([], {}, False), ({"a": {"b": [False]}}, {"a": {"b": [False]}}, True),
])
def test_json_equal_is_json_schemas_equality(one, two, same):
    assert json_equal(one, two) is same
    assert compile_schema({"const": one}).is_valid(two) is same


@pytest.mark.parametrize(("items", "unique"), [
    ([1, 1.0], False), ([True, 1], True), ([True, False, 0, 1], True), ([True, True], False), ([[1], [1.0]], False),
    ([{"a": 1}, {"a": 1.0}], False), ([{"a": 1}, {"a": True}], True), ([[1, 2], [2, 1]], True),
    (["a", 1, "a"], False), ([{"a": []}, {"a": []}], False), ([], True),
])
def test_all_unique_is_json_schemas_uniqueness(items, unique):
    assert all_unique(items) is unique
    assert compile_schema({"uniqueItems": True}).is_valid(items) is unique


@FAST
@given(one=values, two=values, items=st.lists(values, max_size=5))
def test_our_equality_and_uniqueness_agree_with_jsonschema_on_any_values(one, two, items):
    assert json_equal(one, two) == compile_schema({"const": one}).is_valid(two), (one, two)
    assert all_unique(items) == compile_schema({"uniqueItems": True}).is_valid(items), items
