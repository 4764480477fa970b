"""Static check: no field with readers (``x-readers``) leaks through a formula or a cross-field rule.

A computed field is stored and shown like any other field, so a formula reading a field with readers
passes on what that field holds (a copy, a sum, an "is it empty") to everyone who may read the
computed field. A rule's message at its field tells whoever edits that field whether the check held:
a yes/no about every field the check reads. So a formula that reads such a field, directly or through
another computed field, needs its computed field to name readers no wider than the field it reads
(``readers.no_wider``), and a rule whose check reads one needs the same of the rule's ``field``.

An expression that reads the data by a name it does not spell out (``{"var": ""}``, the whole data; a
name computed by an operation, ``{"var": {"cat": ["led", "ger"]}}``; a ``missing`` list that is not
literal) may read any field: it is taken to read every field. Problems are reported at the
expression, naming the field read: ``/schema/properties/copy/x-formula``, ``/x-rules/0/check``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from . import logic, readers
from .messages import N_, Msg, Problem, pointer

FORMULA_LEAK = N_("the formula reads '%(field)s', which names readers (x-readers): this field must name "
                  "only roles and departments that '%(field)s' names")
RULE_LEAK = N_("the check reads '%(field)s', which names readers (x-readers): the rule's field '%(rule_field)s' "
               "must name only roles and departments that '%(field)s' names")


def _spelt(names: object) -> bool:
    """Whether a ``missing`` list is written out, as ``logic.variables`` reads it: text, lists, ``merge``
    and the branches of ``if``. Any other operation computes the names at run time."""
    if isinstance(names, str):
        return True
    if isinstance(names, list):
        return all(_spelt(part) for part in names)
    if not isinstance(names, dict) or len(names) != 1:
        return False
    ((op, raw),) = names.items()
    args = raw if isinstance(raw, list) else [raw]
    if op == "merge":
        return _spelt(args)
    return op in ("if", "?:") and all(_spelt(a) for i, a in enumerate(args) if i % 2 or i == len(args) - 1)


def _unspelt(node) -> bool:
    """Whether one operation reads the ticket data by a name the document does not write out."""
    if node.op == "var":
        return not node.args or not isinstance(node.args[0], str) or node.args[0] == ""
    if node.op == "missing":
        return not _spelt(node.args[0] if len(node.args) == 1 else node.args)
    return node.op == "missing_some" and (len(node.args) < 2 or not _spelt(node.args[1]))


def _direct(expr: object, fields: Iterable[str]) -> set[str]:
    """The fields ``expr`` reads itself; every field when it reads one by a name it does not spell out.

    Only the ticket's scope counts: inside ``map``/``reduce``... ``var`` reads a row (a column), as in
    ``logic.variables``; columns name no readers (``tables.py`` refuses them there).
    """
    try:
        nodes = [node for node in logic._walk(expr, logic._TOP, [], {}) if node.scope.kind == "top"]
    except RecursionError:
        return set(fields)  # too deep to read (check 7 says so): it may read anything
    if any(_unspelt(node) for node in nodes):
        return set(fields)
    return logic.variables(expr) & set(fields)


def _reached(start: set[str], formulas: Mapping[str, set[str]]) -> set[str]:
    """``start`` and every field a computed field among them reads, and so on (a cycle is check 7's)."""
    seen, todo = set(start), list(start)
    while todo:
        for name in formulas.get(todo.pop(), ()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def _too_wide(schema: object, read: set[str], restricted: Mapping[str, Mapping]) -> list[str]:
    """The fields with readers in ``read`` whose readers are narrower than ``schema``'s, sorted."""
    own = readers.readers_of(schema)
    return sorted(name for name in read & set(restricted) if not readers.no_wider(own, restricted[name]))


def _formula_problems(properties: dict, formulas: dict, restricted: Mapping) -> Iterable[Problem]:
    for name in formulas:
        path = pointer(["schema", "properties", name, "x-formula"])
        for field in _too_wide(properties[name], _reached(formulas[name], formulas) - {name}, restricted):
            yield Problem(path, Msg(FORMULA_LEAK, {"field": field}))


def _rule_problems(document: dict, properties: dict, formulas: dict, restricted: Mapping) -> Iterable[Problem]:
    rules = document.get("x-rules")
    for k, rule in enumerate(rules if isinstance(rules, list) else []):
        target = rule.get("field") if isinstance(rule, dict) else None
        if not isinstance(target, str) or target not in properties or "check" not in rule:
            continue  # check 7 reports a rule without a field of the process
        read = _reached(_direct(rule["check"], properties), formulas)
        for field in _too_wide(properties[target], read, restricted):
            yield Problem(pointer(["x-rules", k, "check"]), Msg(RULE_LEAK, {"field": field, "rule_field": target}))


def leaks(document: dict, properties: dict) -> list[Problem]:
    """The check, on a format-2 document (format 1 has no formulas, rules or readers: it refuses them)."""
    version = document.get("format")
    if isinstance(version, bool) or version != 2:
        return []
    restricted = readers.restricted({"properties": properties})
    if not restricted:
        return []
    formulas = {name: _direct(schema["x-formula"], properties) for name, schema in properties.items()
                if isinstance(schema, dict) and "x-formula" in schema}
    return [*_formula_problems(properties, formulas, restricted),
            *_rule_problems(document, properties, formulas, restricted)]
