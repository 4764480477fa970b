"""Conditions as pickers (field, operator, value) and back, for the visual editor.

The document stores conditions as plain JSON Schema (``when`` of transitions and
of conditional modes). Admins build the common ones from three pickers; a schema
these pickers cannot express is kept as it is and edited as raw JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fieldtypes import options_schema
from .messages import N_

#: Operator -> its label; the order is the order of the picker.
OPERATORS: dict[str, str] = {
    "eq": N_("equals"),
    "ne": N_("does not equal"),
    "in": N_("is one of"),
    "contains": N_("contains"),
    "gt": N_("greater than"),
    "ge": N_("at least"),
    "lt": N_("less than"),
    "le": N_("at most"),
    "filled": N_("is filled in"),
    "empty": N_("is empty"),
}
_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}
NO_VALUE = frozenset({"filled", "empty"})


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None


def to_schema(cond: Condition) -> dict:
    """The JSON Schema that holds exactly when ``cond`` does."""
    name, op, value = cond.field, cond.op, cond.value
    if op == "filled":
        return {"required": [name]}
    if op == "empty":
        return {"not": {"required": [name]}}
    if op == "ne":
        return {"not": {"properties": {name: {"const": value}}, "required": [name]}}
    rule = {"eq": {"const": value}, "in": {"enum": value}, "contains": {"contains": {"const": value}}}.get(op)
    return {"properties": {name: rule or {_BOUNDS[op]: value}}, "required": [name]}


def from_schema(schema: object) -> Condition | None:
    """The pickers for ``schema``, or None when they cannot express it."""
    if not isinstance(schema, dict):
        return None
    if set(schema) == {"not"}:
        inner = from_schema(schema["not"])
        flipped = {"filled": "empty", "eq": "ne"}.get(inner.op) if inner else None
        return Condition(inner.field, flipped, inner.value) if flipped else None
    if set(schema) == {"required"} and _one_name(schema["required"]):
        return Condition(schema["required"][0], "filled")
    if set(schema) != {"properties", "required"} or not isinstance(schema["properties"], dict):
        return None
    if len(schema["properties"]) != 1 or schema["required"] != list(schema["properties"]):
        return None
    (name, rule), = schema["properties"].items()
    return _rule(name, rule)


def _one_name(value: object) -> bool:
    return isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)


def _rule(name: str, rule: object) -> Condition | None:
    if not isinstance(rule, dict) or len(rule) != 1:
        return None
    (keyword, value), = rule.items()
    if keyword == "const":
        return Condition(name, "eq", value)
    if keyword == "enum" and isinstance(value, list):
        return Condition(name, "in", value)
    if keyword == "contains" and isinstance(value, dict) and set(value) == {"const"}:
        return Condition(name, "contains", value["const"])
    op = {bound: op for op, bound in _BOUNDS.items()}.get(keyword)
    return Condition(name, op, value) if op and isinstance(value, int | float) else None


def coerce(field: dict, op: str, text: str) -> Any:
    """The typed value of ``text`` for a condition on ``field``; raises ValueError.

    Options may be typed by value or by label (``不同意退货`` means ``reject``);
    ``is one of`` takes a comma-separated list.
    """
    if op in NO_VALUE:
        return None
    if op == "in":
        return [_scalar(field, part.strip()) for part in text.replace("，", ",").split(",") if part.strip()]
    return _scalar(field, text.strip())


def _scalar(field: dict, text: str) -> Any:
    if not text:
        raise ValueError(N_("a value is needed"))
    kind = field.get("type")
    if kind in ("integer", "number"):
        return _number(text, kind == "integer")
    if kind == "boolean":
        if text.lower() in ("true", "yes", "1", "是", "on"):
            return True
        if text.lower() in ("false", "no", "0", "否", "off"):
            return False
        raise ValueError(N_("true or false is needed"))
    return _option_value(options_schema(field), text)


def _number(text: str, whole: bool) -> int | float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(N_("a number is needed")) from None
    if whole and not number.is_integer():
        raise ValueError(N_("a whole number is needed"))
    return int(number) if number.is_integer() else number


def _option_value(schema: dict, text: str) -> str:
    for option in schema.get("oneOf", []):
        if text in (option.get("const"), option.get("title")):
            return option["const"]
    return text


def display(field: dict | None, value: Any) -> str:
    """A condition value as the admin typed it: option labels for options, lists comma-separated."""
    if isinstance(value, list):
        return ", ".join(display(field, v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    for option in options_schema(field or {}).get("oneOf", []):
        if option.get("const") == value:
            return option.get("title") or str(value)
    return "" if value is None else str(value)
