"""JSON Logic over ticket data: computed fields (``x-formula``) and cross-field rules (``x-rules``).

The library is panzi-json-logic (module ``json_logic``): it passes every official jsonlogic.com
test case and takes its operations as a dict per call, so our two operations and our exact
arithmetic are added without touching any global state (``docs/formulas.md``).

Numbers stay exact. JSON numbers reach us as floats (or Decimals, when the caller parsed the
JSON with ``parse_float=Decimal``). Arithmetic (``+ - * / % min max``) reads every operand as a
``Decimal`` from its shortest text -- ``repr(19.99) == "19.99"``, the number as it was written --
and computes with 34 significant digits. A whole result below 10**15 comes back as an ``int``;
any other as an :class:`Exact`: a float, which is all the library's comparisons, truthiness and
``cat`` see (JavaScript-like), carrying the exact Decimal that the next operation reads again.
So summing 200 rows of ``qty * price`` never rounds, and 0.1 + 0.2 is 0.3. :func:`evaluate`
turns an Exact into a plain float only at the end (or hands back its Decimal with ``exact=True``).

Bad data never raises, and operands are read as json-logic-js 2.0.5 reads them, so a preview in
the page can agree: ``+`` and ``*`` with ``parseFloat`` (null, "" and text not starting with a
number are NaN: a line without its price has no total yet), ``- / % min max`` with ``Number()``
(null, "" and [] are 0). NaN, and Infinity from 1/0, go on inside the expression; a result that
is NaN or Infinity comes back as null (as ``JSON.stringify`` writes them). An operation that
fails on its arguments yields null, and so does an expression that cannot be evaluated at all:
a formula over a half-filled form must not break the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Context, Decimal, localcontext
from functools import partial, wraps
from typing import Any, NamedTuple

from json_logic import jsonLogic
from json_logic.builtins import BUILTINS, to_bool

from .fieldtypes import LOCAL_TZ
from .messages import N_, Msg, Problem, pointer

#: 34 significant digits (IEEE decimal128) and no traps: 1/0 is Infinity and "x" * 2 is NaN, as in JavaScript.
_CONTEXT = Context(prec=34, traps=[])
_NAN = Decimal("NaN")
#: A decimal number as JavaScript reads text: all of it for ``Number()`` (hexadecimal reads as NaN
#: here), its start for ``parseFloat()``.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Infinity")
#: A date, or an RFC 3339 date-time (seconds and zone optional): what date and date-time fields hold.
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?")
_DAY = 86_400_000_000  # microseconds


class Exact(float):
    """A float for the library (comparisons, truthiness, ``cat``) carrying the exact Decimal arithmetic goes on with."""

    __slots__ = ("exact",)

    def __new__(cls, exact: Decimal) -> Exact:
        number = super().__new__(cls, float(exact))
        number.exact = exact
        return number


def _decimal(value: Any) -> Decimal:
    """What JavaScript's ``Number(value)`` reads (``- / % min max``), but exact: a float from its shortest text."""
    if isinstance(value, Exact):
        return value.exact
    if isinstance(value, bool | int):
        return Decimal(int(value))
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        return Decimal(text) if _NUMBER.fullmatch(text) else Decimal(0) if not text else _NAN
    if isinstance(value, list) and len(value) <= 1:
        return _decimal(value[0]) if value else Decimal(0)
    return Decimal(0) if value is None else _NAN


def _number(value: Decimal) -> int | float:
    """Back to what the library computes with: an int when whole and small, else an :class:`Exact` (or NaN)."""
    if not value.is_finite():
        return float(value)
    if value.adjusted() < 15 and value == value.to_integral_value():
        return int(value)
    return Exact(value)


def _parsed(value: Any) -> Decimal:
    """What json-logic-js's ``+`` and ``*`` read, ``parseFloat(value)``: a leading number, else NaN (null too)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _decimal(value)
    if isinstance(value, list):
        return _parsed(value[0]) if value and value[0] is not None else _NAN
    match = _NUMBER.match(value.lstrip()) if isinstance(value, str) else None
    return Decimal(match.group()) if match else _NAN


def _add(data: Any, *args: Any) -> int | float:
    return _number(sum((_parsed(arg) for arg in args), Decimal(0)))


def _multiply(data: Any, *args: Any) -> int | float:
    product = Decimal(1)
    for arg in args:
        product *= _parsed(arg)
    return _number(product)


def _subtract(data: Any, *args: Any) -> int | float:
    """``{"-": [a]}`` negates; ``{"-": [a, b]}`` subtracts (the library read ``[a, null]`` as a negation)."""
    if len(args) == 1:
        return _number(-_decimal(args[0]))
    return _number(_decimal(args[0]) - _decimal(args[1])) if args else math.nan


def _divide(data: Any, a: Any = None, b: Any = None, *_: Any) -> int | float:
    return _number(_decimal(a) / _decimal(b))


def _remainder(data: Any, a: Any = None, b: Any = None, *_: Any) -> int | float:
    """JavaScript's ``%``: the sign of the dividend, like Decimal's (not Python's ``%`` on numbers)."""
    return _number(_decimal(a) % _decimal(b))


def _extreme(pick, data: Any, *args: Any) -> int | float:
    """``min`` / ``max``: NaN when any argument is not a number (or none is given), like ``Math.min``."""
    values = [_decimal(arg) for arg in args]
    if not values or any(value.is_nan() for value in values):
        return math.nan
    return _number(pick(values))


def _item(dictionaries: Mapping, data: Any, code: Any = None, value: Any = None, attribute: Any = None,
          *_: Any) -> Any:
    """``{"item": [DICTIONARY, VALUE, ATTRIBUTE]}``: an attribute of a dictionary item (数据联动), else null.

    Dictionaries are the :class:`~formbuilder.dictionaries.DictionaryIndex` objects by code; an item's
    attributes are its ``data`` mapping. Item values are text, so VALUE must be text.
    """
    index = dictionaries.get(code) if isinstance(code, str) else None
    item = index.items.get(value) if index is not None and isinstance(value, str) else None
    attributes = getattr(item, "data", None)
    if not isinstance(attributes, Mapping) or not isinstance(attribute, str):
        return None
    return _inbound(attributes.get(attribute))


def _moment(value: Any) -> datetime | None:
    """A date (its midnight) or date-time, zone-less ones in the zone the forms store date-times with."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if not _MOMENT.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def _days(data: Any, start: Any = None, end: Any = None, *_: Any) -> int | None:
    """``{"days": [A, B]}``: whole days from A to B, truncated toward zero (negative when B is earlier)."""
    a, b = _moment(start), _moment(end)
    if a is None or b is None:
        return None
    elapsed = (b - a) // timedelta(microseconds=1)
    return abs(elapsed) // _DAY * (1 if elapsed >= 0 else -1)


def _safe(operation):
    """An operation that fails on its arguments yields null, as a missing value would."""
    @wraps(operation)
    def run(*args: Any) -> Any:
        try:
            return operation(*args)
        except Exception:
            return None
    return run


_OURS = {"+": _add, "-": _subtract, "*": _multiply, "/": _divide, "%": _remainder,
         "min": partial(_extreme, min), "max": partial(_extreme, max), "days": _days}
#: The library's operations (less ``log``, which prints to stdout), exact arithmetic and ``days``;
#: ``item`` is bound to the dictionaries of each evaluation.
OPERATIONS = {name: _safe(op) for name, op in {**BUILTINS, **_OURS}.items() if name != "log"}


def _inbound(value: Any) -> Any:
    """Data as the library computes with it: Decimals (from ``parse_float=Decimal``) become ints or Exacts."""
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, list):
        return [_inbound(v) for v in value]
    if isinstance(value, dict):
        return {k: _inbound(v) for k, v in value.items()}
    return value


def _outbound(value: Any, exact: bool) -> Any:
    """A JSON value: Exacts become floats (or their Decimal), NaN and Infinity become null."""
    if isinstance(value, Exact) and exact and value.exact.is_finite():
        return value.exact
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, list):
        return [_outbound(v, exact) for v in value]
    if isinstance(value, dict):
        return {k: _outbound(v, exact) for k, v in value.items()}
    return value


def truthy(value: Any) -> bool:
    """JSON Logic's truth (a rule holds when its check is truthy): [], "", 0, null and NaN are false."""
    return to_bool(value)


def evaluate(expr: Any, data: Any = None, dictionaries: Mapping | None = None, *, exact: bool = False) -> Any:
    """The value of ``expr`` over ``data`` (a ticket's data): never raises, null when it cannot be computed.

    ``dictionaries`` maps dictionary codes to their indexes, for ``item``. With ``exact`` a number
    that is not a small whole one comes back as the exact ``Decimal`` instead of a float.
    """
    operations = {**OPERATIONS, "item": _safe(partial(_item, dictionaries or {}))}
    try:
        with localcontext(_CONTEXT):
            return _outbound(jsonLogic(expr, _inbound(data), operations), exact)
    except Exception:
        return None


# Static reading (check 7): which fields an expression reads, and what is wrong with it.

#: Operations the library evaluates itself (they control evaluation or open a scope).
CONTROL = frozenset({"if", "?:", "and", "or", "map", "filter", "reduce", "all", "some", "none"})
#: Operations whose second argument is evaluated once per element of the first.
ITERATORS = frozenset({"map", "filter", "reduce", "all", "some", "none"})
KNOWN = CONTROL | set(OPERATIONS) | {"item"}
#: (fewest, most) arguments where a wrong count is a mistake rather than a shorthand.
ARITY = {"var": (0, 2), "missing_some": (2, 2), "==": (2, 2), "===": (2, 2), "!=": (2, 2), "!==": (2, 2),
         "<": (2, 3), "<=": (2, 3), ">": (2, 2), ">=": (2, 2), "!": (1, 1), "!!": (1, 1), "-": (1, 2),
         "/": (2, 2), "%": (2, 2), "in": (2, 2), "substr": (2, 3), "map": (2, 2), "filter": (2, 2),
         "all": (2, 2), "some": (2, 2), "none": (2, 2), "reduce": (2, 3), "item": (3, 3), "days": (2, 2)}


class _Scope(NamedTuple):
    """What ``var`` reads: the ticket ("top"), a row ("row": map, filter, all, some, none) or
    ``{"current": row, "accumulator": ...}`` ("reduce"); ``table`` is the detail table iterated, when known."""

    kind: str
    table: str | None = None


class _Node(NamedTuple):
    op: str | None  # None: an object that is not one operation
    args: list
    scope: _Scope
    path: list


_TOP = _Scope("top")


def _table(expr: Any, scope: _Scope, tables: Mapping) -> str | None:
    """The detail table whose rows ``expr`` gives (``{"var": "parts"}``, or a filter of it), when that can be told."""
    if scope.kind != "top" or not isinstance(expr, dict) or len(expr) != 1:
        return None
    ((op, raw),) = expr.items()
    args = raw if isinstance(raw, list) else [raw]
    if op == "filter" and args:
        return _table(args[0], scope, tables)
    name = args[0] if op == "var" and args else None
    return name if isinstance(name, str) and name in tables else None


def _walk(expr: Any, scope: _Scope, path: list, tables: Mapping) -> Iterator[_Node]:
    """Every operation in ``expr`` with the scope its ``var`` reads from and its JSON path."""
    if isinstance(expr, list):
        for i, part in enumerate(expr):
            yield from _walk(part, scope, [*path, i], tables)
        return
    if not isinstance(expr, dict):
        return
    if len(expr) != 1:
        yield _Node(None, [], scope, path)
        return
    ((op, raw),) = expr.items()
    args, places = (raw, [[*path, op, i] for i in range(len(raw))]) if isinstance(raw, list) else ([raw], [[*path, op]])
    yield _Node(op, args, scope, path)
    inner = _Scope("reduce" if op == "reduce" else "row", _table(args[0], scope, tables)) if op in ITERATORS else scope
    for i, (arg, place) in enumerate(zip(args, places, strict=True)):
        yield from _walk(arg, inner if op in ITERATORS and i == 1 else scope, place, tables)


def _names(expr: Any) -> Iterator[str]:
    """The literal names a ``missing`` list holds, through ``merge`` and the branches of ``if``."""
    if isinstance(expr, str):
        yield expr
    elif isinstance(expr, list):
        for part in expr:
            yield from _names(part)
    elif isinstance(expr, dict) and len(expr) == 1:
        ((op, raw),) = expr.items()
        args = raw if isinstance(raw, list) else [raw]
        if op == "merge":
            yield from _names(args)
        elif op in ("if", "?:"):
            yield from _names([a for i, a in enumerate(args) if i % 2 or i == len(args) - 1])


def _reads(node: _Node) -> Iterator[str]:
    """The full (dotted) names ``var``, ``missing`` and ``missing_some`` read; dynamic names are not known."""
    if node.op == "var" and node.args and isinstance(node.args[0], str):
        yield node.args[0]
    elif node.op == "missing":
        yield from _names(node.args[0] if len(node.args) == 1 else node.args)
    elif node.op == "missing_some" and len(node.args) > 1:
        yield from _names(node.args[1])


def variables(expr: Any) -> set[str]:
    """The top-level fields ``expr`` reads: what a computed field depends on.

    Inside ``map``/``filter``/``reduce``/``all``/``some``/``none`` ``var`` reads the row (or
    ``current``/``accumulator``): those are columns of the table iterated, not fields.
    """
    return {name.split(".")[0] for node in _walk(expr, _TOP, [], {}) if node.scope.kind == "top"
            for name in _reads(node) if name}


def _name_problem(name: str, scope: _Scope, at: str, known: Collection, tables: Mapping) -> Iterator[Problem]:
    """A field the process lacks, a column its table lacks, or a reduce reading neither current nor accumulator."""
    head, _, rest = name.partition(".")
    if scope.kind == "top" and head and head not in known:
        yield Problem(at, Msg(N_("formula names unknown field '%(field)s'"), {"field": head}))
    elif scope.kind == "reduce" and head not in ("current", "accumulator", ""):
        yield Problem(at, Msg(N_("inside reduce, read current.COLUMN or accumulator, not '%(name)s'"), {"name": name}))
    elif scope.table is not None:
        column = rest.partition(".")[0] if scope.kind == "reduce" and head == "current" else \
            head if scope.kind == "row" else ""
        if column and column not in tables[scope.table]:
            yield Problem(at, Msg(N_("table '%(table)s' has no column '%(column)s'"),
                                  {"table": scope.table, "column": column}))


def _arity_problem(node: _Node, at: str) -> Iterator[Problem]:
    fewest, most = ARITY.get(node.op, (0, math.inf))
    if not fewest <= len(node.args) <= most:
        expected = str(fewest) if fewest == most else f"{fewest}-{most}"
        yield Problem(at, Msg(N_("'%(op)s' takes %(expected)s argument(s), not %(count)s"),
                              {"op": node.op, "expected": expected, "count": len(node.args)}))


def _node_problems(node: _Node, known: Collection, tables: Mapping, dictionaries) -> Iterator[Problem]:
    at = pointer(node.path)
    if node.op is None:
        yield Problem(at, Msg(N_("an operation is an object with one key, the operation's name")))
        return
    if node.op not in KNOWN:
        yield Problem(at, Msg(N_("unknown operation '%(op)s'"), {"op": node.op}))
        return
    yield from _arity_problem(node, at)
    for name in _reads(node):
        yield from _name_problem(name, node.scope, at, known, tables)
    code = node.args[0] if node.op == "item" and node.args else None
    if dictionaries is not None and isinstance(code, str) and code not in dictionaries:
        yield Problem(at, Msg(N_("unknown dictionary '%(code)s'"), {"code": code}))
    if node.op == "reduce" and len(node.args) > 2 and isinstance(node.args[2], dict):
        # the library does not evaluate it (json-logic-js 2.0.5 does): a constant means the same on both sides
        yield Problem(at, Msg(N_("the initial value of reduce must be a constant")))


def problems(expr: Any, fields: Collection[str], tables: Mapping[str, Collection[str]],
             dictionaries: Collection[str] | None = None) -> list[Problem]:
    """Static check 7 for one expression: unknown operations, wrong argument counts, unknown names.

    ``fields`` are the process's fields, ``tables`` its detail tables with their columns,
    ``dictionaries`` (when given) the codes ``item`` may name. Paths are JSON pointers inside
    ``expr``: the caller prefixes the expression's own path.
    """
    known = set(fields) | set(tables)
    try:
        return [problem for node in _walk(expr, _TOP, [], tables)
                for problem in _node_problems(node, known, tables, dictionaries)]
    except RecursionError:  # a document is checked, not crashed on
        return [Problem("", Msg(N_("the expression is nested too deeply")))]


class FormulaCycle(ValueError):
    """Computed fields that read each other in a cycle: no order computes them (check 7)."""

    def __init__(self, cycle: list[str]):
        self.cycle = cycle
        self.msg = Msg(N_("computed fields depend on each other in a cycle: %(cycle)s"),
                       {"cycle": " -> ".join(cycle)})
        super().__init__(str(self.msg))


def _visit(name: str, reads: Mapping[str, list[str]], trail: list[str], done: list[str]) -> None:
    """Depth first: ``name`` goes after every formula it reads; meeting one on the trail is a cycle."""
    if name in done:
        return
    if name in trail:
        raise FormulaCycle([*trail[trail.index(name):], name])
    trail.append(name)
    for dependency in reads[name]:
        _visit(dependency, reads, trail, done)
    trail.pop()
    done.append(name)


def evaluation_order(formulas: Mapping[str, Any]) -> list[str]:
    """Computed fields in an order where each reads only those computed before it (else :class:`FormulaCycle`).

    Fields that do not depend on each other keep the order they are given in.
    """
    reads = {name: [other for other in formulas if other in used] for name, used in
             ((name, variables(expr)) for name, expr in formulas.items())}
    done: list[str] = []
    for name in formulas:
        _visit(name, reads, [], done)
    return done
