"""JSON Logic for computed fields and cross-field rules (``formbuilder/logic.py``).

Every official jsonlogic.com case (``tests/data/jsonlogic``) passes through our evaluator;
then our two operations, exact money, hostile data, and the static reading of check 7.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formbuilder.dictionaries import DictionaryIndex, Item
from formbuilder.logic import FormulaCycle, evaluate, evaluation_order, problems, variables
from formbuilder.messages import Problem

FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def official_cases() -> list:
    """One param per case of the official file, its id the section heading it sits under and its number."""
    cases, section = [], "start"
    for entry in json.loads((ROOT / "tests/data/jsonlogic/tests.json").read_text("utf-8")):
        if isinstance(entry, str):
            section = re.sub(r"[^a-z0-9]+", "-", entry.lower()).strip("-")[:40]
            continue
        cases.append(pytest.param(*entry, id=f"{len(cases) + 1:03d}-{section}"))
    return cases


def same(got, expected) -> bool:
    """JSON equality: 2 == 2.0 as in JavaScript, but true is not 1."""
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(same, got, expected))
    return got == expected and isinstance(got, bool) == isinstance(expected, bool)


@pytest.mark.parametrize(("rule", "data", "expected"), official_cases())
def test_official_case(rule, data, expected):
    assert same(evaluate(rule, data), expected)


def test_the_official_file_is_the_one_described():
    """The copy is the one ``SOURCE.md`` names, byte for byte."""
    copy = (ROOT / "tests/data/jsonlogic/tests.json").read_bytes()
    assert hashlib.sha256(copy).hexdigest() in (ROOT / "tests/data/jsonlogic/SOURCE.md").read_text("utf-8")
    assert len(official_cases()) == 277


# item: 数据联动 -- choosing a model reads its attributes.

@dataclass(frozen=True)
class DataItem(Item):
    """An item with attributes: what ``DictionaryIndex`` holds once it keeps ``data`` (design, Format 2)."""

    data: dict = field(default_factory=dict)


FRIDGES = {"code": "fridge", "name": "冰箱", "items": [
    {"value": "fr-200", "label": "200 升", "data": {"warranty_months": 24, "department": "warehouse_north",
                                                    "price": 1999.99}},
    {"value": "fr-300", "label": "300 升"},
]}


def with_data(document: dict) -> DictionaryIndex:
    index = DictionaryIndex.from_document(document)
    raw = {entry["value"]: entry.get("data", {}) for entry in document["items"]}
    index.items = {v: DataItem(i.value, i.label, i.enabled, i.parent, i.children, raw[v])
                   for v, i in index.items.items()}
    return index


DICTIONARIES = {"fridge": with_data(FRIDGES)}
WARRANTY = {"item": ["fridge", {"var": "model"}, "warranty_months"]}


@pytest.mark.parametrize(("expr", "data", "expected"), [
    (WARRANTY, {"model": "fr-200"}, 24),
    ({"item": ["fridge", "fr-200", "department"]}, {}, "warehouse_north"),
    ({"*": [{"item": ["fridge", "fr-200", "price"]}, 3]}, {}, 5999.97),
    (WARRANTY, {"model": "fr-300"}, None),  # an item without attributes
    (WARRANTY, {"model": "fr-999"}, None),  # no such item
    (WARRANTY, {}, None),  # nothing chosen yet
    ({"item": ["fridge", "fr-200", "colour"]}, {}, None),  # no such attribute
    ({"item": ["washer", "fr-200", "warranty_months"]}, {}, None),  # no such dictionary
    ({"item": ["fridge", ["fr-200"], "warranty_months"]}, {}, None),
    ({"item": ["fridge", "fr-200", {"var": "x"}]}, {}, None),
    ({"item": ["fridge"]}, {}, None),
    ({"item": [{"a": 1}, {"b": 2}, 3]}, {}, None),
])
def test_item_reads_an_attribute_of_a_dictionary_item(expr, data, expected):
    assert evaluate(expr, data, DICTIONARIES) == expected


def test_item_without_dictionaries_is_null():
    assert evaluate(WARRANTY, {"model": "fr-200"}) is None


def test_item_reads_the_data_of_a_dictionary_document():
    assert evaluate(WARRANTY, {"model": "fr-200"}, {"fridge": DictionaryIndex.from_document(FRIDGES)}) == 24


# days

@pytest.mark.parametrize(("a", "b", "expected"), [
    ("2026-01-01", "2026-03-01", 59),
    ("2024-01-01", "2024-03-01", 60),  # a leap year
    ("2026-03-01", "2026-01-01", -59),
    ("2026-05-01", "2026-05-01", 0),
    ("2026-05-01T09:00", "2026-05-03T08:59", 1),  # whole days only
    ("2026-05-03T08:59", "2026-05-01T09:00", -1),  # truncated toward zero, both ways
    ("2026-05-01T23:00", "2026-05-02T01:00", 0),
    ("2026-05-01", "2026-05-03T10:00", 2),  # a date is its midnight
    ("2026-05-01T00:00:00+08:00", "2026-05-02T00:00", 1),  # stored date-times carry +08:00
    ("2026-05-01T00:00:00Z", "2026-05-02T08:00", 1),
    ("2026-05-01t10:00z", "2026-05-02T18:00:00.5+08:00", 1),
])
def test_days_counts_whole_days_from_a_to_b(a, b, expected):
    assert evaluate({"days": [{"var": "a"}, {"var": "b"}]}, {"a": a, "b": b}) == expected


@pytest.mark.parametrize("bad", [None, "", "2026-02-30", "2026-13-01", "01/05/2026", "2026-5-1", "2026-05-01T25:00",
                                 "2026-05-01T10", "tomorrow", 20260501, 1.5, True, [], {}, ["2026-05-01"],
                                 "2026-05-01 10:00", "2026-05-01T10:00+8"])
def test_days_is_null_when_a_date_is_missing_or_malformed(bad):
    assert evaluate({"days": [{"var": "a"}, "2026-05-01"]}, {"a": bad}) is None
    assert evaluate({"days": ["2026-05-01", {"var": "a"}]}, {"a": bad}) is None


def test_days_with_too_few_arguments_is_null():
    assert evaluate({"days": ["2026-05-01"]}) is None
    assert evaluate({"days": []}) is None


# Exact numbers

LINE_TOTAL = {"reduce": [{"var": "parts"},
                         {"+": [{"var": "accumulator"}, {"*": [{"var": "current.qty"}, {"var": "current.price"}]}]}, 0]}


def test_two_hundred_rows_of_money_sum_exactly():
    rows = [{"qty": 3, "price": 19.99}] * 200
    assert evaluate(LINE_TOTAL, {"parts": rows}) == 11994
    assert evaluate(LINE_TOTAL, {"parts": rows}, exact=True) == Decimal("11994.00")


def test_cents_stay_cents_over_many_rows():
    rows = [{"qty": 1, "price": 0.1}] * 199 + [{"qty": "2", "price": "0.05"}]
    total = evaluate(LINE_TOTAL, {"parts": rows}, exact=True)
    assert total == 20 and type(total) is int  # a whole number comes back an int, even with exact
    assert evaluate(LINE_TOTAL, {"parts": rows[:7]}, exact=True) == Decimal("0.7")
    assert evaluate(LINE_TOTAL, {"parts": rows[:7]}) == 0.7


def test_data_parsed_as_decimals_is_read_exactly():
    data = json.loads('{"parts": [{"qty": 3, "price": 19.99}, {"qty": 1, "price": 0.01}]}', parse_float=Decimal)
    assert evaluate(LINE_TOTAL, data, exact=True) == Decimal("59.98")


@pytest.mark.parametrize(("expr", "expected"), [
    ({"+": [0.1, 0.2]}, 0.3),
    ({"==": [{"+": [0.1, 0.2]}, 0.3]}, True),
    ({"===": [{"+": [0.1, 0.2]}, 0.3]}, True),
    ({"-": [0.3, 0.1]}, 0.2),
    ({"*": [1.1, 1.1]}, 1.21),
    ({"/": [1, 4]}, 0.25),
    ({"%": [-7, 3]}, -1),  # JavaScript's sign, not Python's
    ({"%": [5.5, 2]}, 1.5),
    ({"max": [0.1, {"+": [0.1, 0.2]}]}, 0.3),
    ({"min": [19.99, "19.98"]}, 19.98),
    ({"cat": ["¥", {"+": [0.1, 0.2]}]}, "¥0.3"),
    ({"if": [{"-": [0.3, 0.1, 0.2]}, "yes", "no"]}, "yes"),  # 0.2 is truthy; the third argument is ignored
    ({"!": {"-": [{"+": [0.1, 0.2]}, 0.3]}}, True),  # exactly zero is falsy
    ({"-": [3, None]}, 3),  # null is 0, not a missing operand
])
def test_arithmetic_is_decimal(expr, expected):
    assert same(evaluate(expr), expected)


def test_exact_hands_back_the_decimal():
    assert evaluate({"+": [0.1, 0.2]}, exact=True) == Decimal("0.3")
    assert evaluate({"/": [1, 3]}, exact=True) == Decimal("0." + "3" * 34)  # 34 significant digits


# Bad data yields null, never an exception

@pytest.mark.parametrize(("expr", "data", "expected"), [
    ({"/": [1, 0]}, {}, None),
    ({"/": [0, 0]}, {}, None),
    ({"%": [1, 0]}, {}, None),
    ({"*": [{"var": "qty"}, {"var": "price"}]}, {"qty": "three", "price": 2}, None),
    ({"*": [{"var": "qty"}, {"var": "price"}]}, {"qty": 3}, None),  # no price yet: no line total (parseFloat)
    ({"+": [{"var": "a"}, 1]}, {"a": ""}, None),
    ({"+": [{"var": "a"}, 1]}, {"a": "12 pcs"}, 13),  # parseFloat reads the leading number, as json-logic-js
    ({"-": [{"var": "a"}, 1]}, {"a": "12 pcs"}, None),  # Number() reads all of it
    ({"-": [{"var": "a"}, 1]}, {}, -1),  # null is 0 for Number()
    ({"+": [{"var": "a"}, 1]}, {"a": {"x": 1}}, None),
    ({"+": [{"var": "a"}, 1]}, {"a": [1, 2]}, 2),  # parseFloat("1,2"), as in JavaScript
    ({"-": [{"var": "a"}, 1]}, {"a": [1, 2]}, None),
    ({"<": [{"/": [1, 0]}, 1]}, {}, False),
    ({"max": []}, {}, None),
    ({"+": [1e308, 1e308]}, {}, None),  # exact inside, but too big for a JSON number outside
    ({"*": ["1e999999999", 10]}, {}, None),
    ({"unknown_op": [1]}, {}, None),
    ({"log": "a"}, {}, None),  # not offered: it prints
    ({"reduce": [{"var": "parts"}, {"+": [{"var": "accumulator"}, {"var": "current.qty"}]}, 0]}, {"parts": "x"}, 0),
    ({"map": [{"var": "parts"}, {"var": "qty"}]}, {"parts": [None, 3, {"qty": 2}]}, [None, None, 2]),
    ({"==": ["a", {"var": "o"}]}, {"o": {"k": 1}}, False),  # "[object Object]", as in JavaScript
    ({"substr": [{"var": "s"}, "x"]}, {"s": None}, "null"),
])
def test_bad_values_yield_null(expr, data, expected):
    assert same(evaluate(expr, data), expected)


def test_deep_nesting_yields_null():
    expr: object = 1
    for _ in range(5000):
        expr = {"+": [expr, 1]}
    assert evaluate(expr) is None


texts = st.text(max_size=12) | st.sampled_from(["", "19.99", " 7 ", "1e999999", "NaN", "Infinity", "2026-05-01",
                                                "2026-05-01T10:00", "fr-200", "0x10"])
numbers = st.integers() | st.sampled_from([2**63, -(2**64), 10**400, 19.99, 0.1]) | st.floats() \
    | st.decimals(allow_nan=True, allow_infinity=True)
scalars = st.none() | st.booleans() | numbers | texts
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(texts | st.sampled_from(["qty", "price", "model"]), inner, max_size=4),
                           max_leaves=16)
FIELDS = ["parts", "qty", "price", "a", "b", "model"]
FORMULAS = [
    LINE_TOTAL,
    WARRANTY,
    {"days": [{"var": "a"}, {"var": "b"}]},
    {"if": [{">": [{"var": "qty"}, {"/": [{"var": "price"}, {"var": "a"}]}]}, {"%": [{"var": "a"}, {"var": "b"}]},
            {"min": [{"var": "a"}, {"var": "b"}, {"-": [{"var": "price"}]}]}]},
    {"map": [{"var": "parts"}, {"cat": [{"var": "qty"}, {"substr": [{"var": "price"}, {"var": "qty"}]}]}]},
    {"filter": [{"var": "parts"}, {"and": [{"in": [{"var": "qty"}, {"var": ""}]}, {"!": {"var": "price"}}]}]},
    {"all": [{"var": "parts"}, {"<=": [0, {"var": "qty"}, {"max": [{"var": "price"}, 1]}]}]},
    {"some": [{"merge": [{"var": "a"}, {"var": "b"}]}, {"==": [{"var": ""}, {"var": ""}]}]},
    {"missing_some": [1, [{"var": "a"}, "b", "parts.0.qty"]]},
    {"var": [{"var": "a"}, {"var": "b"}]},
]


@FAST
@given(data=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6), which=st.integers(0, len(FORMULAS) - 1),
       exact=st.booleans())
def test_no_data_makes_a_formula_raise(data, which, exact):
    result = evaluate(FORMULAS[which], data, DICTIONARIES, exact=exact)
    json.dumps(result, allow_nan=False, default=str)  # a JSON value: no NaN, no Infinity


@FAST
@given(expr=json_values)
def test_no_expression_makes_evaluation_raise(expr):
    evaluate(expr, {"qty": 3, "price": 19.99, "parts": [{"qty": 1}]}, DICTIONARIES)
    problems(expr, FIELDS, {"parts": ["qty", "price"]}, ["fridge"])
    variables(expr)


# variables

@pytest.mark.parametrize(("expr", "expected"), [
    (LINE_TOTAL, {"parts"}),
    ({"*": [{"var": "qty"}, {"var": ["price", 0]}]}, {"qty", "price"}),
    ({"var": "customer.name"}, {"customer"}),
    ({"map": [{"var": "parts"}, {"*": [{"var": "qty"}, {"var": "rate"}]}]}, {"parts"}),  # rate is read in the row
    ({"reduce": [{"var": "parts"}, {"+": [{"var": "accumulator"}, 1]}, {"var": "start"}]}, {"parts", "start"}),
    ({"filter": [{"var": "parts"}, {">": [{"var": "qty"}, {"var": "min_qty"}]}]}, {"parts"}),
    ({"missing": ["a", "b"]}, {"a", "b"}),
    ({"missing": {"merge": ["vin", {"if": [{"var": "financing"}, ["apr"], []]}]}}, {"vin", "financing", "apr"}),
    ({"missing_some": [1, ["phone", "email"]]}, {"phone", "email"}),
    (WARRANTY, {"model"}),
    ({"var": ""}, set()),
    ({"var": {"cat": ["a", "b"]}}, set()),  # a name computed at run time cannot be known
    (42, set()),
    ({"if": [{"var": "a"}, {"some": [{"var": "b"}, {"var": "c"}]}, {"var": "d"}]}, {"a", "b", "d"}),
])
def test_variables_are_the_top_level_fields_read(expr, expected):
    assert variables(expr) == expected


# problems (check 7)

TABLES = {"parts": ["qty", "price", "sku"]}
PROCESS_FIELDS = ["parts", "start", "end", "model", "discount"]


def found(expr, dictionaries=None) -> list[str]:
    return [str(problem) for problem in problems(expr, PROCESS_FIELDS, TABLES, dictionaries)]


@pytest.mark.parametrize("expr", [
    LINE_TOTAL,
    WARRANTY,
    {"days": [{"var": "start"}, {"var": "end"}]},
    {"map": [{"filter": [{"var": "parts"}, {">": [{"var": "qty"}, 0]}]}, {"var": "sku"}]},
    {"all": [{"var": "parts"}, {"<=": [0, {"var": "qty"}, 100]}]},
    {"missing": {"merge": ["start", {"if": [{"var": "discount"}, ["end"], []]}]}},
    {"-": [{"var": "discount"}]},
    {"var": ["parts.0.qty", 0]},
    {"cat": []},
    "plain text",
    [1, {"var": "model"}],
])
def test_a_valid_expression_has_no_problem(expr):
    assert found(expr, ["fridge"]) == []


@pytest.mark.parametrize(("expr", "expected"), [
    ({"sum": [1, 2]}, ["/: unknown operation 'sum'"]),
    ({"+": [1, {"log": "x"}]}, ["/+/1: unknown operation 'log'"]),
    ({"var": "refund"}, ["/: formula names unknown field 'refund'"]),
    ({"+": [1, {"var": "refund.amount"}]}, ["/+/1: formula names unknown field 'refund'"]),
    ({"missing": ["start", "finish"]}, ["/: formula names unknown field 'finish'"]),
    ({"map": [{"var": "parts"}, {"*": [{"var": "qty"}, {"var": "rate"}]}]},
     ["/map/1/*/1: table 'parts' has no column 'rate'"]),
    ({"reduce": [{"var": "parts"}, {"+": [{"var": "accumulator"}, {"var": "current.cost"}]}, 0]},
     ["/reduce/1/+/1: table 'parts' has no column 'cost'"]),
    ({"reduce": [{"var": "parts"}, {"+": [{"var": "accumulator"}, {"var": "qty"}]}, 0]},
     ["/reduce/1/+/1: inside reduce, read current.COLUMN or accumulator, not 'qty'"]),
    ({"reduce": [{"var": "parts"}, {"+": [{"var": "accumulator"}, 1]}, {"var": "discount"}]},
     ["/: the initial value of reduce must be a constant"]),
    ({"/": [1]}, ["/: '/' takes 2 argument(s), not 1"]),
    ({"days": [{"var": "start"}]}, ["/: 'days' takes 2 argument(s), not 1"]),
    ({"item": ["fridge", {"var": "model"}]}, ["/: 'item' takes 3 argument(s), not 2"]),
    ({"substr": ["abc"]}, ["/: 'substr' takes 2-3 argument(s), not 1"]),
    ({"map": [{"var": "parts"}]}, ["/: 'map' takes 2 argument(s), not 1"]),
    ({"item": ["washer", {"var": "model"}, "warranty_months"]}, ["/: unknown dictionary 'washer'"]),
    ({"if": [{"var": "a", "x": 1}, 1, 2]}, ["/if/0: an operation is an object with one key, the operation's name"]),
    ({"and": [{"var": "nope"}, {"nope": []}, {"!": [1, 2]}]},
     ["/and/0: formula names unknown field 'nope'", "/and/1: unknown operation 'nope'",
      "/and/2: '!' takes 1 argument(s), not 2"]),
])
def test_problems_name_what_is_wrong_and_where(expr, expected):
    assert found(expr, ["fridge"]) == expected


def test_problems_are_translatable_messages_the_caller_prefixes():
    (problem,) = problems({"var": "refund"}, PROCESS_FIELDS, TABLES)
    assert isinstance(problem, Problem) and problem.msg.msgid == "formula names unknown field '%(field)s'"
    assert Problem("/schema/properties/total/x-formula" + problem.path, problem.msg).render() == \
        "/schema/properties/total/x-formula: formula names unknown field 'refund'"


def test_an_expression_nested_too_deeply_is_a_problem_not_a_crash():
    expr: object = 1
    for _ in range(5000):
        expr = {"+": [expr, 1]}
    assert found(expr) == ["/: the expression is nested too deeply"]


def test_dictionaries_are_not_checked_unless_given():
    assert found({"item": ["washer", "x", "y"]}) == []


# evaluation_order

def test_evaluation_order_puts_each_formula_after_those_it_reads():
    formulas = {
        "total": {"+": [{"var": "subtotal"}, {"var": "tax"}]},
        "tax": {"*": [{"var": "subtotal"}, 0.13]},
        "subtotal": LINE_TOTAL,
        "warranty": WARRANTY,
    }
    assert evaluation_order(formulas) == ["subtotal", "tax", "total", "warranty"]


def test_independent_formulas_keep_their_order():
    assert evaluation_order({"b": {"var": "x"}, "a": {"var": "y"}}) == ["b", "a"]
    assert evaluation_order({}) == []


def test_a_cycle_names_its_fields():
    formulas = {"a": {"var": "b"}, "b": {"+": [{"var": "c"}, 1]}, "c": {"var": "a"}, "d": {"var": "x"}}
    with pytest.raises(FormulaCycle, match="a -> b -> c -> a") as raised:
        evaluation_order(formulas)
    assert raised.value.cycle == ["a", "b", "c", "a"]
    assert raised.value.msg.msgid == "computed fields depend on each other in a cycle: %(cycle)s"


def test_a_formula_reading_itself_is_a_cycle():
    with pytest.raises(FormulaCycle, match="total -> total"):
        evaluation_order({"total": {"+": [{"var": "total"}, 1]}})
