"""Format-2 flow keys of one step (issue 19): countersign, SLA, timeout, waiting, transfer, child tickets.

Like :mod:`editing`, :func:`set_flows` takes a document and returns a changed deep copy; it
writes only the keys it manages (``sign``, ``sla``, ``timeout``, ``allow_wait``,
``allow_transfer``, ``spawn`` and a list ``assignee.value``) and keeps every other key. Every
problem of the new settings is found at once (:func:`problems`) and refused together as
:class:`FlowError`, so a bad input saves nothing. What exists outside the document
(calendars, other processes, roles, departments, users) comes in a :class:`Known`: this
module reads no database.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .editing import step_index
from .fieldtypes import options_schema
from .messages import N_, Msg, Problem, pointer

FLOW_KEYS = ("sign", "sla", "timeout", "allow_wait", "allow_transfer", "spawn")
SIGN_MODES = ("all", "any", "ratio")
SIGNER_TYPES = ("role", "department", "user", "field")
PRIORITIES = ("urgent", "high", "normal", "low")
END = "$end"
TEXT_MAX = 200


class FlowError(Exception):
    """The settings were refused; ``problems`` lists every reason at its JSON path."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class Known:
    """What the settings may name outside the document."""

    calendars: frozenset = frozenset()
    #: process code -> the keys of its fields (a child's ``map`` names them)
    processes: Mapping[str, frozenset] = field(default_factory=dict)
    #: (kind, value) -> whether that role, department or user exists
    exists: Callable[[str, str], bool] = lambda kind, value: True


def _problem(path: list, msgid: str, **params) -> Problem:
    return Problem(pointer(path), Msg(msgid, params))


def set_flows(doc: dict, key: str, flows: dict, known: Known) -> dict:
    """Write the step's flow keys from ``flows`` (a key absent, None or False is removed).

    ``flows["assignee_value"]``, when given, replaces the assignee's value (several
    departments or roles are a list). Raises :class:`FlowError` with every problem.
    """
    index = step_index(doc, key)
    found = list(problems(doc, index, flows, known))
    if found:
        raise FlowError(found)
    out = copy.deepcopy(doc)
    step = out["steps"][index]
    for name in FLOW_KEYS:
        step.pop(name, None)
    step.update({name: copy.deepcopy(flows[name]) for name in FLOW_KEYS if flows.get(name) not in (None, False)})
    if flows.get("assignee_value") is not None and isinstance(step.get("assignee"), dict):
        step["assignee"]["value"] = copy.deepcopy(flows["assignee_value"])
    return out


def kept_order(before: dict, after: dict, key: str) -> dict:
    """``after`` with the step's old copy when nothing in it changed: re-saving keeps its key order."""
    index = step_index(after, key)
    old = next((s for s in before.get("steps", []) if s.get("key") == key), None)
    if old is not None and old == after["steps"][index]:
        after["steps"][index] = copy.deepcopy(old)
    return after


def problems(doc: dict, index: int, flows: dict, known: Known) -> Iterable[Problem]:
    """Every problem of ``flows`` for step ``index`` of ``doc``, each at the JSON path it would be written to."""
    base = ["steps", index]
    step = doc["steps"][index]
    if flows.get("assignee_value") is not None:
        kind = (step.get("assignee") or {}).get("type")
        yield from _candidates(base + ["assignee", "value"], kind, flows["assignee_value"], known)
    if flows.get("sign") is not None:
        yield from _sign(doc, base + ["sign"], flows["sign"], known)
    if flows.get("sla") is not None:
        yield from _sla(doc, step, base + ["sla"], flows["sla"], known)
    if flows.get("timeout") is not None:
        yield from _timeout(doc, base + ["timeout"], flows["timeout"], known)
    if flows.get("allow_transfer") not in (None, True, False, "anyone"):
        yield _problem(base + ["allow_transfer"], N_('choose no, within the candidates, or "anyone"'))
    for n, entry in enumerate(flows.get("spawn") or []):
        yield from _spawn(doc, base + ["spawn", n], entry, known)


def _candidates(path: list, kind: str | None, value, known: Known) -> Iterable[Problem]:
    """A role, department or user, or several roles or departments (a list), each existing."""
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        yield _problem(path, N_("choose at least one"))
        return
    if isinstance(value, list) and kind not in ("role", "department"):
        yield _problem(path, N_("only departments or roles may be several"))
    if len(set(values)) != len(values):
        yield _problem(path, N_("each may be chosen once"))
    for v in values:
        if kind in ("role", "department", "user") and not known.exists(kind, v):
            yield _problem(path, N_("no %(kind)s '%(value)s'"), kind=kind, value=v)


def _fields(doc: dict) -> dict:
    return doc.get("schema", {}).get("properties", {})


def _sign(doc: dict, path: list, sign: dict, known: Known) -> Iterable[Problem]:
    mode, ratio = sign.get("mode"), sign.get("ratio")
    if mode not in SIGN_MODES:
        yield _problem(path + ["mode"], N_("choose all, any or ratio"))
    if mode == "ratio" and ratio is None:
        yield _problem(path + ["ratio"], N_("a ratio sign needs the share of signers, above 0 and at most 1"))
    elif ratio is not None and mode != "ratio":
        yield _problem(path + ["ratio"], N_('a share of signers is only used with the mode "ratio"'))
    elif ratio is not None and not (_number(ratio) and 0 < ratio <= 1):
        yield _problem(path + ["ratio"], N_("the share of signers must be above 0 and at most 1"))
    of = sign.get("of") if isinstance(sign.get("of"), dict) else {}
    if of.get("type") not in SIGNER_TYPES:
        yield _problem(path + ["of", "type"], N_("say who signs: roles, departments, a user or a field"))
    elif of.get("type") == "field":
        if of.get("value") not in _fields(doc):
            yield _problem(path + ["of", "value"], N_("no field '%(value)s'"), value=of.get("value"))
    else:
        yield from _candidates(path + ["of", "value"], of["type"], of.get("value"), known)
    yield from _decision(doc, path, sign)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decision(doc: dict, path: list, sign: dict) -> Iterable[Problem]:
    """The decision field exists and ``pass`` is a value it may hold."""
    name, passed = sign.get("decision"), sign.get("pass")
    if name not in _fields(doc):
        yield _problem(path + ["decision"], N_("choose the field that holds each signer's decision"))
        return
    if passed is None or passed == "":
        yield _problem(path + ["pass"], N_("say which decision passes"))
        return
    allowed = option_values(_fields(doc)[name])
    if allowed and passed not in allowed:
        yield _problem(path + ["pass"], N_("'%(value)s' is not an option of the decision field"), value=passed)


def option_values(schema: dict) -> list:
    """The values a field's options allow (``oneOf`` consts or ``enum``); empty when it has none listed."""
    source = options_schema(schema) if isinstance(schema, dict) else {}
    return [o["const"] for o in source.get("oneOf", []) if isinstance(o, dict) and "const" in o] or \
        list(source.get("enum", []))


def typed_pass(schema: dict | None, text: str):
    """The pass value as the decision field holds it: a number or a boolean field's value is not text."""
    kind = (schema or {}).get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text) if "." in text or "e" in text.lower() else int(text)
    except ValueError:
        return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _minutes(path: list, value) -> Iterable[Problem]:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        yield _problem(path, N_("give whole minutes, at least 1"))


def _calendar(path: list, code, known: Known) -> Iterable[Problem]:
    if code is not None and code not in known.calendars:
        yield _problem(path, N_("no calendar '%(code)s'"), code=code)


def _step_key(doc: dict, path: list, key, *, end: bool) -> Iterable[Problem]:
    keys = {s.get("key") for s in doc.get("steps", [])} | ({END} if end else set())
    if key not in keys:
        yield _problem(path, N_("no step '%(key)s'"), key=key)


def _sla(doc: dict, step: dict, path: list, sla: dict, known: Known) -> Iterable[Problem]:
    minutes = sla.get("minutes")
    if isinstance(minutes, dict):
        if not minutes:
            yield _problem(path + ["minutes"], N_("give the time limit of at least one priority"))
        for priority, value in minutes.items():
            if priority not in PRIORITIES:
                yield _problem(path + ["minutes", priority], N_("no priority '%(key)s'"), key=priority)
            yield from _minutes(path + ["minutes", priority], value)
    elif minutes is None:
        yield _problem(path + ["minutes"], N_("a warning, calendar or escalation needs a time limit"))
    else:
        yield from _minutes(path + ["minutes"], minutes)
    yield from _calendar(path + ["calendar"], sla.get("calendar"), known)
    warn = sla.get("warn")
    if warn is not None and not (_number(warn) and 0 < warn < 1):
        yield _problem(path + ["warn"], N_("warn when between 1 and 99 percent of the time is used"))
    escalate = sla.get("escalate")
    if isinstance(escalate, dict) and "to" in escalate:
        yield from _step_key(doc, path + ["escalate", "to"], escalate["to"], end=False)
        if escalate["to"] == step.get("key"):
            yield _problem(path + ["escalate", "to"], N_("escalate to another step"))
    elif escalate is not None and escalate != {"notify": "manager"}:
        yield _problem(path + ["escalate"], N_("escalate to a step or notify the manager"))


def _timeout(doc: dict, path: list, timeout: dict, known: Known) -> Iterable[Problem]:
    if timeout.get("minutes") is None:
        yield _problem(path + ["minutes"], N_("a timeout needs its minutes"))
    else:
        yield from _minutes(path + ["minutes"], timeout["minutes"])
    if not timeout.get("to"):
        yield _problem(path + ["to"], N_("say where the timeout moves the ticket"))
    else:
        yield from _step_key(doc, path + ["to"], timeout["to"], end=True)
    label = timeout.get("label")
    if label is not None and not (isinstance(label, str) and 0 < len(label) <= TEXT_MAX):
        yield _problem(path + ["label"], N_("at most %(max)d characters"), max=TEXT_MAX)
    yield from _calendar(path + ["calendar"], timeout.get("calendar"), known)


def _spawn(doc: dict, path: list, entry: dict, known: Known) -> Iterable[Problem]:
    code, label = entry.get("process"), entry.get("label")
    if code not in known.processes:
        yield _problem(path + ["process"], N_("no process '%(code)s'"), code=code)
    if not (isinstance(label, str) and 0 < len(label.strip()) and len(label) <= TEXT_MAX):
        yield _problem(path + ["label"], N_("give the child ticket's button a label (at most %(max)d characters)"),
                       max=TEXT_MAX)
    children = known.processes.get(code, frozenset())
    for child, parent in (entry.get("map") or {}).items():
        if code in known.processes and child not in children:
            yield _problem(path + ["map", child], N_("the process '%(code)s' has no field '%(key)s'"),
                           code=code, key=child)
        if parent not in _fields(doc):
            yield _problem(path + ["map", child], N_("no field '%(key)s' in this process"), key=parent)
