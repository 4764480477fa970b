"""The static checks of format 2's step keys (issue 19): sign, sla, timeout, spawn, several candidates.

Numbered as in ``../shared/design/process-format.md``: check 10's part for ``sign`` (the decision
field, its passing value, the signers' rule) and check 11 (calendars, timeout and escalation targets,
child processes). Like every check they read the document defensively (a malformed key is the
meta-schema's problem) and report every problem at its JSON path, all at once.

Pure: what exists outside the document (stored calendars, other processes) is passed in. ``None``
means "not known here" and skips that part, so a caller without a database (the editor's first
pass, a unit test) still gets every check that needs nothing but the document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from .checks import END, _dict, _possible
from .messages import N_, Msg, Problem, pointer
from .validator import compile_schema

NEEDS_2 = N_('%(key)s needs "format": 2')
#: Step keys format 2 adds, refused in format 1 at their path (``sla`` itself is format 1's).
STEP_KEYS_2 = ("sign", "timeout", "allow_wait", "spawn")
SLA_KEYS_2 = ("calendar", "warn", "escalate")
LISTS = ("role", "department")  # the assignee types whose value may name several candidates


def _is_format(document: dict, number: int) -> bool:
    value = document.get("format")
    return isinstance(value, int | float) and not isinstance(value, bool) and value == number


def _steps(document: dict) -> list[tuple[int, dict]]:
    steps = document.get("steps")
    return [(i, s) for i, s in enumerate(steps) if isinstance(s, dict)] if isinstance(steps, list) else []


def format_1_step_keys(document: dict) -> Iterable[Problem]:
    """A format-1 document may not use format 2's step keys: each is refused at its path.

    Part of the document's shape (``checks2.format_2_keys`` calls it), so a draft is refused too.
    """
    if not _is_format(document, 1):
        return
    for i, step in _steps(document):
        yield from (_needs([i, key], key) for key in STEP_KEYS_2 if key in step)
        sla = _dict(step.get("sla"))
        yield from (_needs([i, "sla", key], f"sla.{key}") for key in SLA_KEYS_2 if key in sla)
        if isinstance(sla.get("minutes"), dict):
            yield _needs([i, "sla", "minutes"], "sla.minutes per priority")
        if step.get("allow_transfer") == "anyone":
            yield _needs([i, "allow_transfer"], 'allow_transfer "anyone"')
        if isinstance(_dict(step.get("assignee")).get("value"), list):
            yield _needs([i, "assignee", "value"], "a list of assignee values")


def _needs(path: list, key: str) -> Problem:
    return Problem(pointer(["steps", *path]), Msg(NEEDS_2, {"key": key}))


def flow_checks(document: dict, steps, properties: dict, dictionaries: Mapping, *,
                calendars: Iterable[str] | None = None, processes: Mapping[str, dict] | None = None) -> list[Problem]:
    """Checks 10 (sign) and 11 of a format-2 document (format 1 refuses the keys instead)."""
    if not _is_format(document, 2):
        return []
    keys = {s["key"] for _, s in steps if isinstance(s.get("key"), str)}
    known = set(calendars) if calendars is not None else None
    found: list[Problem] = []
    for i, step in steps:
        found += several_values(["steps", i, "assignee"], step.get("assignee"))
        found += sign_problems(i, step, steps, properties, dictionaries)
        found += calendar_problems(i, step, known)
        found += target_problems(i, step, keys)
        found += spawn_problems(i, step, document, properties, processes)
    return found


def several_values(path: list, rule: object) -> list[Problem]:
    """A list of values names several candidates together: only roles and departments can be several."""
    rule = _dict(rule)
    if isinstance(rule.get("value"), list) and rule.get("type") not in LISTS:
        return [Problem(pointer(path + ["value"]), Msg(N_(
            "only a role or department assignee may name several values")))]
    return []


# Check 10: the countersign's decision field, its passing value and its signers.

def sign_problems(i: int, step: dict, steps, properties: dict, dictionaries: Mapping) -> list[Problem]:
    """``sign.decision`` is a field each signer fills at this step; ``pass`` a value it can hold; ``of`` a rule."""
    from .checks2 import _assignee_field  # check 10's part for assignee fields; checks2 imports this module

    sign = step.get("sign")
    if not isinstance(sign, dict):
        return []
    path = ["steps", i, "sign"]
    found = _decision_problems(path, sign, step, properties, dictionaries)
    of = sign.get("of")
    found += several_values(path + ["of"], of)
    if isinstance(of, dict) and of.get("type") == "field":
        found += _assignee_field(path + ["of"], of, step.get("key"), steps, properties)
    return found


def _decision_problems(path: list, sign: dict, step: dict, properties: dict, dictionaries: Mapping) -> list[Problem]:
    name = sign.get("decision")
    if not isinstance(name, str):
        return []  # the meta-schema's problem
    if not isinstance(properties.get(name), dict):
        return [Problem(pointer(path + ["decision"]), Msg(N_("no such field in schema")))]
    found = []
    if not _possible(_dict(step.get("fields")).get(name)) <= {"editable", "required"}:
        found.append(Problem(pointer(path + ["decision"]), Msg(N_(
            "the decision field '%(field)s' must be editable or required at this step"), {"field": name})))
    if "pass" in sign and not _allows(properties[name], sign["pass"], dictionaries):
        found.append(Problem(pointer(path + ["pass"]), Msg(N_(
            "the decision field '%(field)s' cannot hold %(value)s"), {"field": name, "value": _shown(sign["pass"])})))
    return found


def _allows(schema: dict, value: object, dictionaries: Mapping) -> bool:
    """Whether one signer's choice can be ``value``: valid for the field, and an item of its dictionary."""
    if schema.get("type") == "array":
        return False  # a decision is one value; a multi-select holds a list
    try:
        if not compile_schema(schema).is_valid(value):
            return False
    except Exception:  # noqa: BLE001 - an invalid field schema is check 1's problem
        return True
    index = dictionaries.get(schema.get("x-dictionary")) if isinstance(schema.get("x-dictionary"), str) else None
    items = getattr(index, "items", None)
    return items is None or value in items


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# Check 11: calendars, targets and child processes exist.

def calendar_problems(i: int, step: dict, known: set[str] | None) -> list[Problem]:
    """Every ``sla.calendar`` and ``timeout.calendar`` names a stored calendar (when they are known)."""
    if known is None:
        return []
    found = []
    for key in ("sla", "timeout"):
        code = _dict(step.get(key)).get("calendar")
        if isinstance(code, str) and code not in known:
            found.append(Problem(pointer(["steps", i, key, "calendar"]),
                                 Msg(N_("unknown calendar '%(code)s'"), {"code": code})))
    return found


def target_problems(i: int, step: dict, keys: set[str]) -> list[Problem]:
    """``timeout.to`` is a step or $end; ``sla.escalate.to`` is a step (escalating ends nothing)."""
    found = []
    target = _dict(step.get("timeout")).get("to")
    if isinstance(target, str) and target != END and target not in keys:
        found.append(Problem(pointer(["steps", i, "timeout", "to"]), Msg(N_("no such step '%(to)s'"), {"to": target})))
    target = _dict(_dict(step.get("sla")).get("escalate")).get("to")
    if isinstance(target, str) and target not in keys:
        msg = Msg(N_("an escalation goes to a step, not to $end")) if target == END else \
            Msg(N_("no such step '%(to)s'"), {"to": target})
        found.append(Problem(pointer(["steps", i, "sla", "escalate", "to"]), msg))
    return found


def spawn_problems(i: int, step: dict, document: dict, properties: dict,
                   processes: Mapping[str, dict] | None) -> list[Problem]:
    """Each child process exists; ``map`` pre-fills a field of the child from a field of this process."""
    spawn = step.get("spawn")
    found = []
    for k, entry in enumerate(spawn if isinstance(spawn, list) else []):
        if not isinstance(entry, dict):
            continue
        path = ["steps", i, "spawn", k]
        child, code = _child(entry.get("process"), document, processes)
        if child is None and isinstance(code, str) and processes is not None:
            found.append(Problem(pointer(path + ["process"]), Msg(N_("unknown process '%(code)s'"), {"code": code})))
        for key, source in _dict(entry.get("map")).items():
            found += _map_problems(path + ["map", key], key, source, child, code, properties)
    return found


def _child(code: object, document: dict, processes: Mapping[str, dict] | None) -> tuple[dict | None, object]:
    """The child's field schemas (this document's own when it spawns its own kind), or None when unknown."""
    if not isinstance(code, str):
        return None, code
    if code == document.get("code"):
        return _dict(_dict(document.get("schema")).get("properties")), code
    found = processes.get(code) if processes is not None else None
    return (_dict(_dict(found.get("schema")).get("properties")) if isinstance(found, dict) else None), code


def _map_problems(path: list, key: str, source: object, child: dict | None, code: object,
                  properties: dict) -> list[Problem]:
    found = []
    if child is not None and key not in child:
        found.append(Problem(pointer(path), Msg(N_("process '%(code)s' has no field '%(field)s'"),
                                                {"code": code, "field": key})))
    elif child is not None and "x-formula" in _dict(child[key]):
        found.append(Problem(pointer(path), Msg(N_("'%(field)s' is computed in the child: it cannot be pre-filled"),
                                                {"field": key})))
    if isinstance(source, str) and source not in properties:
        found.append(Problem(pointer(path), Msg(N_("no such field in schema"))))
    return found
