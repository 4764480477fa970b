"""Standard JSON only (RFC 8259), for every document and body a user sends.

Python's ``json`` also takes ``NaN``, ``Infinity``, numbers that overflow to
infinity, and nesting so deep that the decoder runs out of stack (a
RecursionError, a 500). None of them is JSON, none fits a database column or
a JSON Schema keyword, and each would come back out of the API as invalid
JSON. One reader refuses them with a message that says which; the API's
request class, the admin's JSON editors and the CLI all use it.
"""

from __future__ import annotations

import json
import math

from .messages import N_, Msg

#: Deeper JSON is refused: no document or payload of ours nests past a dozen levels.
MAX_DEPTH = 64


class NotStandardJSON(ValueError):
    """A text Python's json would read but standard JSON does not allow (or nested past MAX_DEPTH)."""

    def __init__(self, msg: Msg):
        super().__init__(msg.msgid % msg.params)
        self.msg = msg


def _constant(name: str):
    raise NotStandardJSON(Msg(N_("%(value)s is not a JSON value: send a number or null."), {"value": name}))


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotStandardJSON(Msg(N_("the number %(value)s is too large."), {"value": text[:40]}))
    return value


def too_deep(value) -> bool:
    """Whether ``value`` nests arrays and objects deeper than MAX_DEPTH (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def loads(data: str | bytes, **kwargs):
    """``json.loads`` for standard JSON only: NotStandardJSON (a ValueError) says what is not;
    a syntax error stays a ``json.JSONDecodeError``."""
    deep = NotStandardJSON(Msg(N_("nested deeper than %(depth)s levels."), {"depth": MAX_DEPTH}))
    try:
        value = json.loads(data, parse_constant=_constant, parse_float=_finite, **kwargs)
    except RecursionError:
        raise deep from None
    if too_deep(value):
        raise deep
    return value
