"""The static checks a process document passes before it is published (1-6; 7-9 and 12 of format 2).

They run after (and despite) meta-schema problems, so each check reads the
document defensively and skips what is malformed: the admin then sees every
problem in one pass instead of fixing them one save at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from jsonschema import Draft202012Validator, SchemaError

from . import checks_readers, tables
from .fieldtypes import classify
from .forms import StepForm
from .messages import N_, Msg, Problem, pointer
from .validator import compile_schema

END = "$end"


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _steps(document: dict) -> list[tuple[int, dict]]:
    steps = document.get("steps")
    return [(i, s) for i, s in enumerate(steps) if isinstance(s, dict)] if isinstance(steps, list) else []


def _properties(document: dict) -> dict:
    return _dict(_dict(document.get("schema")).get("properties"))


def _schema_problem(path: list, schema: object) -> Problem | None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        return Problem(pointer(path + list(error.path)), Msg(N_("invalid JSON Schema: %(detail)s"),
                                                             {"detail": error.message}))
    return None


#: Names the generated form class already uses (``data``, ``errors``, ``validate``, ``spec`` ...): a field
#: of that key would replace the form's own attribute and break every page of the step.
RESERVED_KEYS = frozenset({name for name in dir(StepForm) if not name.startswith("_")}
                          | {"spec", "meta", "form_errors"})


def field_types(properties: dict) -> Iterable[Problem]:
    """Check 1: every property is valid JSON Schema and one of the field types, under a key forms can hold."""
    for name, schema in properties.items():
        path = ["schema", "properties", name]
        invalid = _schema_problem(path, schema)
        if name in RESERVED_KEYS:
            yield Problem(pointer(path), Msg(N_("this key is reserved by the form: choose another")))
        if invalid:
            yield invalid
        elif classify(schema) is None:
            yield Problem(pointer(path), Msg(N_("unsupported field type")))
        elif "default" in schema and not compile_schema(schema).is_valid(schema["default"]):
            yield Problem(pointer(path + ["default"]), Msg(N_("default value is not valid for this field")))


def step_fields(steps, properties: dict) -> Iterable[Problem]:
    """Check 2: every field a step names exists in the schema."""
    for i, step in steps:
        for name in _dict(step.get("fields")):
            if name not in properties:
                yield Problem(pointer(["steps", i, "fields", name]), Msg(N_("no such field in schema")))


def _dictionary_of(schema: dict) -> tuple[list, object]:
    if "x-dictionary" in schema:
        return ["x-dictionary"], schema["x-dictionary"]
    items = _dict(schema.get("items"))
    return ["items", "x-dictionary"], items.get("x-dictionary")


def dictionary_refs(properties: dict, dictionaries: Mapping) -> Iterable[Problem]:
    """Check 3: dictionaries exist; a cascade's parent is a field of the same dictionary."""
    for name, schema in properties.items():
        schema = _dict(schema)
        path = ["schema", "properties", name]
        where, code = _dictionary_of(schema)
        if isinstance(code, str) and code not in dictionaries:  # any other type is the meta-schema's problem
            yield Problem(pointer(path + where), Msg(N_("unknown dictionary '%(code)s'"), {"code": code}))
        parent = schema.get("x-cascade")
        if parent is None:
            continue
        if not isinstance(parent, str) or parent == name or parent not in properties:
            yield Problem(pointer(path + ["x-cascade"]),
                          Msg(N_("cascade parent '%(parent)s' is not another field"), {"parent": parent}))
        elif _dict(properties[parent]).get("x-dictionary") != code:
            yield Problem(pointer(path + ["x-cascade"]),
                          Msg(N_("cascade parent '%(parent)s' must use dictionary '%(code)s'"),
                              {"parent": parent, "code": code}))


def step_graph(steps) -> Iterable[Problem]:
    """Check 4: step keys are unique; every transition targets a step or $end."""
    keys: set = set()
    for i, step in steps:
        key = step.get("key")
        if not isinstance(key, str):
            continue  # a missing or non-text key is the meta-schema's problem, reported once there
        if key in keys:
            yield Problem(pointer(["steps", i, "key"]), Msg(N_("duplicate step key '%(key)s'"), {"key": key}))
        keys.add(key)
    for i, step in steps:
        for j, transition in _transitions(step):
            target = transition.get("to")
            if isinstance(target, str) and target != END and target not in keys:
                yield Problem(pointer(["steps", i, "transitions", j, "to"]),
                              Msg(N_("no such step '%(to)s'"), {"to": target}))


def _transitions(step: dict) -> list[tuple[int, dict]]:
    transitions = step.get("transitions")
    if not isinstance(transitions, list):
        return []
    return [(j, t) for j, t in enumerate(transitions) if isinstance(t, dict)]


def _closure(start: Iterable, edges: Mapping) -> set:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _worker_moves(step: dict) -> list:
    """Format 2's moves the SLA worker takes: a ``timeout``'s and an escalation's target (docs/sla.md)."""
    timeout, sla = _dict(step.get("timeout")), _dict(step.get("sla"))
    return [timeout.get("to"), _dict(sla.get("escalate")).get("to")]


def _edges(steps) -> tuple[dict, dict]:
    """Transitions between text keys, forwards and backwards (other keys are the meta-schema's problem)."""
    forward: dict = {}
    backward: dict = {}
    for _, step in steps:
        for target in [t.get("to") for _, t in _transitions(step)] + _worker_moves(step):
            if isinstance(target, str):
                forward.setdefault(step["key"], set()).add(target)
                backward.setdefault(target, set()).add(step["key"])
    return forward, backward


def reachability(steps) -> Iterable[Problem]:
    """Check 5: every step is reachable from the first and can reach $end."""
    keyed = [(i, step) for i, step in steps if isinstance(step.get("key"), str)]
    if not keyed:
        return
    forward, backward = _edges(keyed)
    first = steps[0][1].get("key")
    reached = _closure([first], forward) if isinstance(first, str) else None
    finishing = _closure([END], backward)
    for i, step in keyed:
        key = step["key"]
        if reached is not None and key not in reached:
            yield Problem(pointer(["steps", i]),
                          Msg(N_("step '%(key)s' is not reachable from the first step"), {"key": key}))
        if key not in finishing:
            yield Problem(pointer(["steps", i]), Msg(N_("step '%(key)s' cannot reach $end"), {"key": key}))


def named_fields(schema: object) -> set[str]:
    """Field names a condition refers to (properties, required, dependencies)."""
    names: set[str] = set()
    if not isinstance(schema, dict):
        return names
    names.update(_dict(schema.get("properties")))
    required = schema.get("required")
    names.update(r for r in required if isinstance(r, str)) if isinstance(required, list) else None
    names.update(_dict(schema.get("dependentRequired")))
    for key in ("not", "if", "then", "else"):
        names |= named_fields(schema.get(key))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            names |= named_fields(sub)
    return names


def _conditions(document: dict, steps) -> Iterable[tuple[list, object]]:
    for k, rule in enumerate(_dict(document.get("schema")).get("allOf") or []):
        yield ["schema", "allOf", k], rule
    for i, step in steps:
        for j, transition in _transitions(step):
            if "when" in transition:
                yield ["steps", i, "transitions", j, "when"], transition["when"]
        for name, mode in _dict(step.get("fields")).items():
            if isinstance(mode, dict) and "when" in mode:
                yield ["steps", i, "fields", name, "when"], mode["when"]


def conditions(document: dict, steps, properties: dict) -> Iterable[Problem]:
    """Check 6: every condition is valid JSON Schema naming only fields of the process."""
    for path, condition in _conditions(document, steps):
        invalid = _schema_problem(path, condition)
        if invalid:
            yield invalid
            continue
        for name in sorted(named_fields(condition) - set(properties)):
            yield Problem(pointer(path), Msg(N_("condition names unknown field '%(field)s'"), {"field": name}))


def _possible(raw: object) -> frozenset[str]:
    """The modes a step's entry may take (a malformed entry counts as hidden: the meta-schema reports it)."""
    if isinstance(raw, dict):
        return frozenset(m for m in (raw.get("mode"), raw.get("else", "hidden")) if isinstance(m, str))
    return frozenset({raw if isinstance(raw, str) else "hidden"})


def cascades_shown_with_parents(steps, properties: dict) -> Iterable[Problem]:
    """Check 9: a cascade child is never visible where its parent may be hidden.

    Its options are the parent's children, so showing them (or an error naming the
    parent) would tell the reader what the hidden parent holds.
    """
    cascades = {n: p for n, s in properties.items()
                if isinstance(p := _dict(s).get("x-cascade"), str) and p in properties and p != n}
    for i, step in steps:
        modes = _dict(step.get("fields"))
        for child, parent in cascades.items():
            if _possible(modes.get(child)) - {"hidden"} and "hidden" in _possible(modes.get(parent)):
                yield Problem(pointer(["steps", i, "fields", child]),
                              Msg(N_("cascade field is visible while its parent '%(parent)s' may be hidden"),
                                  {"parent": parent}))


def static_checks(document: dict, dictionaries: Mapping, *, calendars: Iterable[str] | None = None,
                  processes: Mapping[str, dict] | None = None) -> list[Problem]:
    """Every check; ``calendars`` and ``processes`` (code -> document) are what exists, None when not known."""
    from . import checks2, checks_flows  # the checks format 2 adds; they read this module's helpers

    properties, steps = _properties(document), _steps(document)
    return [
        *field_types(properties),
        *step_fields(steps, properties),
        *dictionary_refs(properties, dictionaries),
        *step_graph(steps),
        *reachability(steps),
        *conditions(document, steps, properties),
        *checks2.format_2_checks(document, steps, properties, dictionaries),
        *tables.problems(properties, dictionaries),
        *checks2.people_fields(document, steps, properties),
        *cascades_shown_with_parents(steps, properties),
        *checks2.required_readable(document, steps, properties),
        *checks_readers.leaks(document, properties),
        *checks_flows.flow_checks(document, steps, properties, dictionaries, calendars=calendars,
                                  processes=processes),
    ]


def unique_values(items: list, path: list, seen: set) -> list[Problem]:
    """Dictionary values are unique across the whole tree, not per level."""
    problems = []
    for i, item in enumerate(items):
        if item["value"] in seen:
            problems.append(Problem(pointer(path + [i, "value"]),
                                    Msg(N_("duplicate value '%(value)s'"), {"value": item["value"]})))
        seen.add(item["value"])
        problems += unique_values(item.get("children", []), path + [i, "children"], seen)
    return problems


def item_data_needs_format_2(document: object) -> list[Problem]:
    """Item attributes (``data``) are a format-2 key: a format-1 dictionary naming them is refused at each item.

    Read defensively (it runs despite meta-schema problems), so every such item is named in one pass.
    """
    if not isinstance(document, dict) or document.get("format") != 1:
        return []
    problems, pending = [], [(["items"], document.get("items"))]
    while pending:
        path, items = pending.pop()
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and "data" in item:
                problems.append(Problem(pointer(path + [i, "data"]), Msg(
                    N_("item '%(value)s' carries attributes (data): they need \"format\": 2"),
                    {"value": item.get("value")})))
            pending.append((path + [i, "children"], _dict(item).get("children")))
    return problems
