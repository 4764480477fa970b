"""The static checks format 2 adds (7, 8, 10, 12) and the refusal of format-2 keys in format 1.

Numbered as in ``../shared/design/process-format.md``; ``checks.static_checks`` runs them with
checks 1-6 and 9 and reports every problem at once. The step keys of issue 19 (check 10's part for
``sign``, check 11, their refusal in format 1) are ``checks_flows``; detail tables' own checks are
``tables.problems``, readers leaking through formulas and rules ``checks_readers``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from . import checks_flows, logic, readers
from .checks import _dict, _edges, _possible, _properties
from .fieldtypes import classify
from .messages import N_, Msg, Problem, pointer

#: The keys format 2 adds that this step of issue 18 accepts: on a field, and at the top of the document.
FIELD_KEYS_2 = ("x-formula", "x-readers", "x-role", "x-department")
DOCUMENT_KEYS_2 = ("x-rules",)
#: The field types format 2 adds, named by their ``x-widget``.
WIDGETS_2 = ("table", "user", "department")


def _is_format(document: dict, number: int) -> bool:
    """As the meta-schema reads it: ``1.0`` is 1, ``true`` is not."""
    value = document.get("format")
    return isinstance(value, int | float) and not isinstance(value, bool) and value == number


def format_2_keys(document: dict) -> Iterable[Problem]:
    """A format-1 document may not use a format-2 key: it would be stored with a meaning format 1 lacks.

    Part of the document's shape (the meta-schema accepts the keys in either format), so a draft
    is refused too, one problem per key at its path.
    """
    if not _is_format(document, 1):
        return
    found = [([key], key) for key in DOCUMENT_KEYS_2 if key in document]
    found += [(["schema", "properties", name, key], key) for name, schema in _properties(document).items()
              for key in FIELD_KEYS_2 if key in _dict(schema)]
    found += [(["schema", "properties", name, "x-widget"], f'x-widget "{widget}"')
              for name, schema in _properties(document).items()
              if (widget := _widget(_dict(schema))) in WIDGETS_2]
    for path, key in found:
        yield Problem(pointer(path), Msg(N_('%(key)s needs "format": 2'), {"key": key}))
    yield from checks_flows.format_1_step_keys(document)


def _widget(schema: dict) -> object:
    """A field's widget, or its items' (several members are an array of member schemas)."""
    return schema.get("x-widget", _dict(schema.get("items")).get("x-widget"))


def _formulas(properties: dict) -> dict:
    """The computed fields and their formulas, in document order."""
    return {name: schema["x-formula"] for name, schema in properties.items()
            if isinstance(schema, dict) and "x-formula" in schema}


def _rules(document: dict) -> list[tuple[int, dict]]:
    rules = document.get("x-rules")
    return [(k, r) for k, r in enumerate(rules) if isinstance(r, dict)] if isinstance(rules, list) else []


def _tables(properties: dict) -> dict[str, list]:
    """Detail tables and their columns (none can exist before the table field type does)."""
    return {name: list(_dict(_dict(schema.get("items")).get("properties"))) for name, schema in properties.items()
            if isinstance(schema, dict) and schema.get("x-widget") == "table"}


def _expression_problems(path: list, expr: object, properties: dict, dictionaries: Mapping) -> list[Problem]:
    """``logic.problems`` of one expression, each moved under the expression's own JSON path."""
    found = logic.problems(expr, properties, _tables(properties), dictionaries)
    return [Problem(pointer(path) + problem.path, problem.msg) for problem in found]


COMPUTABLE = ("number", "integer", "string")


def expressions(document: dict, properties: dict, dictionaries: Mapping) -> Iterable[Problem]:
    """Check 7: formulas and rule checks are JSON Logic naming only fields of the process.

    A computed field must hold what a formula yields (a number, text or date), and a rule must
    belong to a field: its message is shown there.
    """
    for name, formula in _formulas(properties).items():
        path = ["schema", "properties", name, "x-formula"]
        yield from _expression_problems(path, formula, properties, dictionaries)
        if properties[name].get("type") not in COMPUTABLE:
            yield Problem(pointer(path), Msg(N_("a computed field must be a number, integer, text or date field")))
    for k, rule in _rules(document):
        if "check" in rule:
            yield from _expression_problems(["x-rules", k, "check"], rule["check"], properties, dictionaries)
        if isinstance(rule.get("field"), str) and rule["field"] not in properties:
            yield Problem(pointer(["x-rules", k, "field"]), Msg(N_("no such field in schema")))
    yield from formula_cycle(properties)


def formula_cycle(properties: dict) -> Iterable[Problem]:
    """Check 7: no order computes formulas that read each other in a cycle; reported once, at its first field."""
    try:
        logic.evaluation_order(_formulas(properties))
    except logic.FormulaCycle as cycle:
        yield Problem(pointer(["schema", "properties", cycle.cycle[0], "x-formula"]), cycle.msg)
    except RecursionError:
        return  # too deep to read: the expression's own problems say so


def computed_read_only(steps, properties: dict) -> Iterable[Problem]:
    """Check 8: a computed field is never editable or required, in any branch of a conditional mode.

    The engine computes it after every change; a value typed by a person would be overwritten or,
    if kept, contradict its formula.
    """
    computed = _formulas(properties)
    for i, step in steps:
        modes = _dict(step.get("fields"))
        for name in computed:
            if _possible(modes.get(name)) & {"editable", "required"}:
                yield Problem(pointer(["steps", i, "fields", name]),
                              Msg(N_("a computed field cannot be editable or required")))


def format_2_checks(document: dict, steps, properties: dict, dictionaries: Mapping) -> list[Problem]:
    """Checks 7 and 8: only a format-2 document has formulas and rules (format 1 refuses them)."""
    if not _is_format(document, 2):
        return []
    return [*expressions(document, properties, dictionaries), *computed_read_only(steps, properties)]


def required_readable(document: dict, steps, properties: dict) -> Iterable[Problem]:
    """Check 12: a field a step requires is readable by every possible handler of that step (``x-readers``).

    A handler who may not read it could never complete the step (``readers.handlers_read`` says who
    the document lets hold a step, and which of them are known to read). Readers are a whole field's
    (``tables.py`` refuses them on a column).
    """
    if not _is_format(document, 2):
        return
    restricted = readers.restricted({"properties": properties})
    web_form = _dict(document.get("web_form")).get("enabled") is True
    for i, step in steps:
        for name in sorted(restricted):
            if "required" in _possible(_dict(step.get("fields")).get(name)) and \
                    not readers.handlers_read(restricted[name], step, first=i == 0, web_form=web_form):
                yield Problem(pointer(["steps", i, "fields", name]), Msg(N_(
                    "not every possible handler of this step may read this field (x-readers): it cannot be required")))


PEOPLE_WIDGETS = ("user", "department")
NEEDS_2 = N_('%(key)s needs "format": 2')


def people_fields(document: dict, steps, properties: dict) -> Iterable[Problem]:
    """``assignee.type: "field"`` is format 2 (refused at its path in format 1), and check 10's part for it."""
    if not _is_format(document, 1):
        for i, step in steps:
            if _dict(step.get("assignee")).get("type") == "field":
                yield from _assignee_field(["steps", i, "assignee"], step["assignee"], step.get("key"), steps,
                                           properties)
        return
    for i, step in steps:  # the widgets themselves are refused in format 1 by format_2_keys (WIDGETS_2)
        if _dict(step.get("assignee")).get("type") == "field":
            yield Problem(pointer(["steps", i, "assignee", "type"]), Msg(NEEDS_2, {"key": 'assignee type "field"'}))


def _assignee_field(path: list, rule: dict, key: object, steps, properties: dict) -> list[Problem]:
    """Check 10: ``value`` names a single member or a department field that is filled before the step ``key``.

    For a step's ``assignee`` and for its countersign's signers (``sign.of``, ``checks_flows``)."""
    return list(_field_rule(path, rule, key, steps, properties))


def _field_rule(path: list, rule: dict, key: object, steps, properties: dict) -> Iterable[Problem]:
    name, pick = rule.get("value"), rule.get("pick")
    kind = classify(properties[name]) if isinstance(name, str) and isinstance(properties.get(name), dict) else None
    if not isinstance(name, str):
        return  # the meta-schema's problem
    if name not in properties:
        yield Problem(pointer(path + ["value"]), Msg(N_("no such field in schema")))
    elif kind is None or kind.name not in PEOPLE_WIDGETS:
        yield Problem(pointer(path + ["value"]), Msg(N_("'%(field)s' is not a member field or a department field"),
                                                     {"field": name}))
    elif key in _entered_empty(steps, name, properties):
        yield Problem(pointer(path + ["value"]), Msg(N_(
            "'%(field)s' may be empty when this step is reached: require it at every step before, or compute it"),
            {"field": name}))
    if kind is not None and kind.name == "department" and pick == "manual":
        yield Problem(pointer(path + ["pick"]), Msg(N_("a department field's handler is picked by round robin "
                                                       "or fewest open tickets")))


def _entered_empty(steps, name: str, properties: dict) -> set:
    """The steps a ticket may enter while ``name`` is still empty: walked from the first step, never past
    a step that requires it (in every branch of its mode); a computed field is never empty."""
    if "x-formula" in properties[name] or not steps:
        return set()
    fills = {s.get("key") for _, s in steps if _possible(_dict(s.get("fields")).get(name)) == {"required"}}
    forward, _ = _edges([(i, s) for i, s in steps if isinstance(s.get("key"), str)])
    first = steps[0][1].get("key")
    entered, seen, todo = set(), {first}, [first]
    while todo:
        here = todo.pop()
        for nxt in forward.get(here, ()) if here not in fills else ():
            entered.add(nxt)
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return entered
