"""Hypothesis strategies that produce values for each field type of a step.

Generated data is then judged by stock jsonschema against the step's
effective schema: an independent judge of what our validator must accept.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import strategies as st

from formbuilder.fieldtypes import YEARS, options_schema

# The years date and date-time fields hold (an instant's in UTC): valid data stays inside them.
FIRST, LAST = date(YEARS[0], 1, 1), date(YEARS[1], 12, 31)


def _options(schema: dict, dictionaries) -> list[str]:
    source = options_schema(schema)
    if "oneOf" in source:
        return [o["const"] for o in source["oneOf"]]
    return [i.value for i in dictionaries[source["x-dictionary"]].options()]


def _number(schema: dict):
    low, high = schema.get("minimum", -10**6), schema.get("maximum", 10**6)
    step = schema.get("multipleOf")
    if step is None:
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    unit = Decimal(str(step))
    return st.integers(int(Decimal(str(low)) / unit) + 1, int(Decimal(str(high)) / unit)).map(
        lambda k: float(k * unit))


def _text(schema: dict):
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    return st.text(min_size=max(1, schema.get("minLength", 1)), max_size=schema.get("maxLength", 40))


def field_values(fspec, dictionaries):
    schema, kind = fspec.schema, fspec.type.name
    makers = {
        "text": lambda: _text(schema), "textarea": lambda: _text(schema), "email": st.emails,
        "integer": lambda: st.integers(schema.get("minimum", -10**6), schema.get("maximum", 10**6)),
        "number": lambda: _number(schema),
        "date": lambda: st.dates(FIRST, LAST).map(lambda d: d.isoformat()),
        "datetime": lambda: st.datetimes(datetime.combine(FIRST, datetime.min.time()),
                                         datetime.combine(LAST, datetime.max.time()),
                                         timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        "select": lambda: st.sampled_from(_options(schema, dictionaries)),
        "radio": lambda: st.sampled_from(_options(schema, dictionaries)),
        "multiselect": lambda: st.lists(st.sampled_from(_options(schema, dictionaries)), min_size=1, unique=True),
        "checkboxes": lambda: st.lists(st.sampled_from(_options(schema, dictionaries)), min_size=1, unique=True),
        "checkbox": lambda: st.just(True),
        "attachment": lambda: st.lists(st.from_regex(r"[A-Za-z0-9]{1,16}", fullmatch=True), min_size=1,
                                       max_size=schema.get("maxItems", 3)),
    }
    return makers[kind]()


def step_data(spec, dictionaries):
    """Dictionaries of values for the fields a handler may edit at ``spec``."""
    editable = {n: f for n, f in spec.fields.items() if f.can_edit}
    required = {n for n in editable if n in spec.schema["required"]}
    return st.fixed_dictionaries(
        {n: field_values(f, dictionaries) for n, f in editable.items() if n in required},
        optional={n: field_values(f, dictionaries) for n, f in editable.items() if n not in required},
    )
