"""Plain-Python ``is_valid`` for the JSON Schema keywords step schemas use.

A jsonschema validator spends microseconds per call on generic machinery
(keyword dispatch, generators, type-checker lookups) even when the data is
valid, which it almost always is. :func:`predicate` compiles a schema once
into nested closures that answer only "valid or not", with the same
semantics as :mod:`.validator`'s ``StepValidator``; the caller still asks
jsonschema for the errors when the answer is no. A schema using any other
validating keyword gets no predicate, and the caller uses jsonschema alone.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any

from .validator import StepValidator, ecma_regex, format_checker, is_multiple

Predicate = Callable[[Any], bool]
DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: Keys jsonschema acts on; any other key (title, default, x-...) it skips, and so do we.
KEYWORDS = frozenset(StepValidator.VALIDATORS)
_STRING_KEYS = frozenset({"type", "minLength", "maxLength", "pattern", "format"})


def json_equal(one: Any, two: Any) -> bool:
    """Equality as ``const``, ``enum`` and ``uniqueItems`` mean it: ``1 == 1.0`` but ``True != 1``, item by item.

    jsonschema keeps this rule in a private module; ours follows it exactly (tests/test_predicates.py
    compares both on generated values), so the predicate and the validator never disagree.
    """
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(map(json_equal, one, two))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(k in two and json_equal(v, two[k]) for k, v in one.items())
    return _unbool(one) == _unbool(two)


_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    """True and False as values no number equals (and that do not sort), as jsonschema compares them."""
    return _TRUE if value is True else _FALSE if value is False else value


def all_unique(items: Sequence) -> bool:
    """``uniqueItems``: no two items are :func:`json_equal`.

    jsonschema's own way, kept to answer alike in every case: sort and compare neighbours, or compare
    every pair when the items do not sort (objects, booleans, mixed types).
    """
    try:
        ordered = sorted(map(_unbool, items))
        return not any(json_equal(a, b) for a, b in pairwise(ordered))
    except (NotImplementedError, TypeError):
        unbooled = list(map(_unbool, items))
        return not any(json_equal(a, b) for i, a in enumerate(unbooled) for b in unbooled[i + 1:])


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPES: dict[str, Predicate] = {
    "string": lambda v: isinstance(v, str), "integer": _is_integer, "number": _is_number,
    "boolean": lambda v: isinstance(v, bool), "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict), "null": lambda v: v is None,
}


def predicate(schema: Any, root: bool = True) -> Predicate | None:
    """Whether a value is valid under ``schema``, or None when a keyword here is unknown."""
    if schema is True or schema is False:
        return _always if schema else _never
    if not isinstance(schema, dict) or "$schema" in schema and (not root or schema["$schema"] != DIALECT):
        return None  # a nested $schema may switch jsonschema to another validator class
    fused = _plain_string(schema)
    if fused is not None:
        return fused
    checks = []
    for key, value in schema.items():
        if key not in KEYWORDS:
            continue
        build = _BUILDERS.get(key)
        check = build(value, schema) if build is not None else None
        if check is None:
            return None
        checks.append(check)
    return _all(checks)


def _plain_string(schema: dict) -> Predicate | None:
    """Text fields, the most common kind, in one call instead of one per keyword (None for other schemas)."""
    if schema.get("type") != "string" or not KEYWORDS.intersection(schema) <= _STRING_KEYS:
        return None
    shortest, longest = schema.get("minLength", 0), schema.get("maxLength", math.inf)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in (shortest, longest)):
        return None
    extras = []
    for key, build in (("pattern", _pattern), ("format", _format)):
        if key in schema:
            extras.append(build(schema[key], schema))
    if None in extras:
        return None
    rest = _all(extras)
    if rest is _always:
        return lambda v: isinstance(v, str) and shortest <= len(v) <= longest
    return lambda v: isinstance(v, str) and shortest <= len(v) <= longest and rest(v)


def _all(checks: list[Predicate]) -> Predicate:
    """All of ``checks``, stopping at the first no (a single check is returned as it is)."""
    if len(checks) <= 1:
        return checks[0] if checks else _always

    def check(value: Any) -> bool:
        for one in checks:
            if not one(value):
                return False
        return True
    return check


def _subs(schemas: Any) -> list[Predicate] | None:
    """Predicates of a keyword's list of subschemas, or None when any has none."""
    if not isinstance(schemas, list) or not schemas:
        return None
    found = [predicate(s, root=False) for s in schemas]
    return None if None in found else found


def _type(types: Any, schema: dict) -> Predicate | None:
    """``type``: one name or a list of names, as the Draft 2020-12 type checker reads them."""
    names = types if isinstance(types, list) else [types]
    if not all(isinstance(n, str) and n in _TYPES for n in names):
        return None
    tests = [_TYPES[n] for n in names]
    return tests[0] if len(tests) == 1 else lambda v: any(test(v) for test in tests)


def _count(limit: Any, ok: Callable[[int, int], bool], kind: type) -> Predicate | None:
    """A length limit on strings (code points) or lists."""
    if not isinstance(limit, int) or isinstance(limit, bool):
        return None
    return lambda v: not isinstance(v, kind) or ok(len(v), limit)


def _bound(limit: Any, fails: Callable[[Any, Any], bool]) -> Predicate | None:
    """A numeric bound, failing exactly when jsonschema's comparison does (NaN passes)."""
    if not _is_number(limit):
        return None
    return lambda v: not _is_number(v) or not fails(v, limit)


def _pattern(pattern: Any, schema: dict) -> Predicate | None:
    try:
        search = ecma_regex(pattern).search  # what the validator means by it: ECMA-262
    except (TypeError, re.error):
        return None  # jsonschema fails on it at validation time; let it
    return lambda v: not isinstance(v, str) or search(v) is not None


def _format(name: Any, schema: dict) -> Predicate | None:
    if not isinstance(name, str):
        return None
    if name not in format_checker.checkers:
        return _always  # jsonschema passes formats it does not know
    test, raises = format_checker.checkers[name]

    def conforms(value: Any) -> bool:
        """FormatChecker.conforms without its two extra calls: a raised ``raises`` means no."""
        try:
            return bool(test(value))
        except raises:
            return False
    return conforms


def _multiple_of(divisor: Any, schema: dict) -> Predicate | None:
    if not _is_number(divisor):
        return None
    return lambda v: not _is_number(v) or is_multiple(v, divisor)


def _enum(options: Any, schema: dict) -> Predicate | None:
    if not isinstance(options, list):
        return None
    return lambda v: any(json_equal(option, v) for option in options)


def _unique(flag: Any, schema: dict) -> Predicate | None:
    if not isinstance(flag, bool):
        return None
    return lambda v: not flag or not isinstance(v, list) or all_unique(v)


def _items(items: Any, schema: dict) -> Predicate | None:
    each = None if "prefixItems" in schema else predicate(items, root=False)
    if each is None:
        return None
    return lambda v: not isinstance(v, list) or all(each(item) for item in v)


def _required(names: Any, schema: dict) -> Predicate | None:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    wanted = frozenset(names)
    return lambda v: not isinstance(v, dict) or v.keys() >= wanted


def _properties(properties: Any, schema: dict) -> Predicate | None:
    if not isinstance(properties, dict):
        return None
    subs = {name: predicate(sub, root=False) for name, sub in properties.items()}
    if None in subs.values():
        return None
    pairs = tuple(subs.items())
    return lambda v: not isinstance(v, dict) or all(sub(v[n]) for n, sub in pairs if n in v)


def _additional(extra: Any, schema: dict) -> Predicate | None:
    """``additionalProperties`` beside plain ``properties`` (a detail table's rows hold their columns only)."""
    if "patternProperties" in schema or not isinstance(schema.get("properties", {}), dict):
        return None
    known = frozenset(schema.get("properties", {}))
    each = predicate(extra, root=False)
    if each is None:
        return None
    return lambda v: not isinstance(v, dict) or all(each(v[k]) for k in v.keys() - known)


def _all_of(schemas: Any, schema: dict) -> Predicate | None:
    subs = _subs(schemas)
    return None if subs is None else _all(subs)


def _any_of(schemas: Any, schema: dict) -> Predicate | None:
    subs = _subs(schemas)
    return None if subs is None else lambda v: any(sub(v) for sub in subs)


def _one_of(schemas: Any, schema: dict) -> Predicate | None:
    subs = _subs(schemas)
    return None if subs is None else lambda v: sum(1 for sub in subs if sub(v)) == 1


def _not(inner: Any, schema: dict) -> Predicate | None:
    sub = predicate(inner, root=False)
    return None if sub is None else lambda v: not sub(v)


def _if(condition: Any, schema: dict) -> Predicate | None:
    test = predicate(condition, root=False)
    then = predicate(schema.get("then", True), root=False)
    otherwise = predicate(schema.get("else", True), root=False)
    if test is None or then is None or otherwise is None:
        return None
    return lambda v: then(v) if test(v) else otherwise(v)


_BUILDERS: dict[str, Callable[[Any, dict], Predicate | None]] = {
    "type": _type,
    "minLength": lambda n, s: _count(n, lambda size, limit: not size < limit, str),
    "maxLength": lambda n, s: _count(n, lambda size, limit: not size > limit, str),
    "minItems": lambda n, s: _count(n, lambda size, limit: not size < limit, list),
    "maxItems": lambda n, s: _count(n, lambda size, limit: not size > limit, list),
    "minimum": lambda n, s: _bound(n, lambda v, limit: v < limit),
    "maximum": lambda n, s: _bound(n, lambda v, limit: v > limit),
    "exclusiveMinimum": lambda n, s: _bound(n, lambda v, limit: v <= limit),
    "exclusiveMaximum": lambda n, s: _bound(n, lambda v, limit: v >= limit),
    "multipleOf": _multiple_of,
    "pattern": _pattern,
    "format": _format,
    "enum": _enum,
    "const": lambda c, s: lambda v: json_equal(v, c),
    "uniqueItems": _unique,
    "items": _items,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
    "if": _if,
}
