"""Edits of a process document, one function per thing the visual editor does.

Each takes a document and returns a changed deep copy, touching nothing it
does not manage: keys written in the JSON view (rules in ``allOf``, unknown
``x-`` hints) survive every visual edit, so the screens and the JSON view edit
the same document. Refusals raise :class:`EditError` naming the JSON path.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .fieldtypes import classify
from .messages import N_, Msg, Problem, pointer

KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MODES = ("hidden", "readonly", "editable", "required")


class EditError(Exception):
    def __init__(self, path: list, message: str, **params: Any):
        self.problem = Problem(pointer(path), Msg(message, params))
        super().__init__(str(self.problem))


def _copy(doc: dict) -> dict:
    return copy.deepcopy(doc)


def _properties(doc: dict) -> dict:
    return doc.setdefault("schema", {"type": "object", "properties": {}}).setdefault("properties", {})


def skeleton(code: str, name: str, first_step: str) -> dict:
    """A new process: one creation step that closes the ticket, no fields yet."""
    return {"format": 1, "code": code, "name": name,
            "schema": {"type": "object", "properties": {}},
            "steps": [{"key": "register", "name": first_step, "fields": {}, "assignee": {"type": "creator"},
                       "transitions": [{"to": "$end", "label": "完成"}]}]}


def set_basics(doc: dict, basics: dict) -> dict:
    """Name, description, hint, number prefix and priority; empty optional texts are dropped."""
    new = _copy(doc)
    for key in ("name", "description", "hint", "number_prefix"):
        if basics.get(key):
            new[key] = basics[key]
        elif key != "name":
            new.pop(key, None)
    new["priority"] = {"enabled": bool(basics.get("priority_enabled")),
                       "default": basics.get("priority_default") or "normal"}
    if "web_form_enabled" in basics:
        _set_web_form(new, bool(basics["web_form_enabled"]))
    if "notify_created" in basics:
        _set_notify(new, basics)
    return new


def _set_notify(doc: dict, basics: dict) -> None:
    """Which events e-mail the customer (``notify_customer``), from ``notify_created/_steps/_closed``.

    Unticked flags are written only where the document already had them, and an absent
    setting stays absent while nothing is ticked, so saving unchanged changes nothing.
    """
    old = doc.get("notify_customer")
    setting = dict(old or {})
    for flag in ("created", "closed"):
        if basics.get(f"notify_{flag}") or flag in setting:
            setting[flag] = bool(basics.get(f"notify_{flag}"))
    ticked = set(basics.get("notify_steps") or [])
    steps = [step["key"] for step in doc.get("steps", []) if step["key"] in ticked]
    if steps or "steps" in setting:
        setting["steps"] = setting["steps"] if set(setting.get("steps") or []) == set(steps) else steps
    if old is not None or any(setting.values()):
        doc["notify_customer"] = setting


def _set_web_form(doc: dict, enabled: bool) -> None:
    """Opt the process in or out of the public web form.

    Turning it off keeps a title or intro for later; an absent or already-off
    setting is left as written, so re-saving the basics never changes it.
    """
    old = dict(doc.get("web_form") or {})
    if enabled:
        doc["web_form"] = {**old, "enabled": True}
    elif old.get("enabled"):
        rest = {k: v for k, v in old.items() if k != "enabled"}
        if rest:
            doc["web_form"] = {**old, "enabled": False}
        else:
            doc.pop("web_form")


def check_key(path: list, key: str, taken) -> None:
    if not KEY.match(key or ""):
        raise EditError(path, N_("key must match ^[a-z][a-z0-9_]{1,63}$"))
    if key in taken:
        raise EditError(path, N_("key '%(key)s' is already used"), key=key)


def put_field(doc: dict, key: str, schema: dict, *, new: bool) -> dict:
    """Add a field (hidden at every step until the matrix says otherwise) or replace one in place."""
    props = _properties(doc)
    if new:
        check_key(["schema", "properties", key], key, props)
    elif key not in props:
        raise EditError(["schema", "properties", key], N_("no such field"))
    if classify(schema) is None:
        raise EditError(["schema", "properties", key], N_("not a supported field type"))
    out = _copy(doc)
    _properties(out)[key] = _same_or(props.get(key), schema)
    return out


def _same_or(old: object, new: object) -> object:
    """``old`` when equal to ``new``: re-saving an unchanged form keeps the document's key order."""
    return copy.deepcopy(old) if old == new else new


def remove_field(doc: dict, key: str) -> dict:
    """Drop the field and its cells; conditions naming it are left for the checks to report."""
    out = _copy(doc)
    if _properties(out).pop(key, None) is None:
        raise EditError(["schema", "properties", key], N_("no such field"))
    for step in out.get("steps", []):
        step.get("fields", {}).pop(key, None)
    return out


def _moved(items: list, index: int, delta: int) -> list:
    target = min(max(index + delta, 0), len(items) - 1)
    items.insert(target, items.pop(index))
    return items


def move_field(doc: dict, key: str, delta: int) -> dict:
    out = _copy(doc)
    props = _properties(out)
    if key not in props:
        raise EditError(["schema", "properties", key], N_("no such field"))
    order = _moved(list(props), list(props).index(key), delta)
    out["schema"]["properties"] = {name: props[name] for name in order}
    return out


def step_index(doc: dict, key: str) -> int:
    for index, step in enumerate(doc.get("steps", [])):
        if step.get("key") == key:
            return index
    raise EditError(["steps"], N_("no such step '%(key)s'"), key=key)


def add_step(doc: dict, key: str, name: str, end_label: str) -> dict:
    """Append a step that closes the ticket; transitions into it are added where they belong."""
    check_key(["steps", len(doc.get("steps", [])), "key"], key, {"$end", *(s.get("key") for s in doc["steps"])})
    out = _copy(doc)
    out["steps"].append({"key": key, "name": name, "fields": {}, "assignee": {"type": "creator"},
                         "transitions": [{"to": "$end", "label": end_label}]})
    return out


def update_step(doc: dict, key: str, settings: dict) -> dict:
    """Replace a step's settings (not its key or fields), keeping keys the editor does not manage."""
    out = _copy(doc)
    index = step_index(out, key)
    step = out["steps"][index]
    for name in ("allow_return", "allow_transfer", "sla"):
        step.pop(name, None)
    step.update({k: v for k, v in settings.items() if v not in (None, False)})
    out["steps"][index] = _same_or(doc["steps"][index], step)
    return out


def remove_step(doc: dict, key: str) -> dict:
    if len(doc.get("steps", [])) == 1:
        raise EditError(["steps"], N_("a process needs at least one step"))
    out = _copy(doc)
    del out["steps"][step_index(out, key)]
    return out


def move_step(doc: dict, key: str, delta: int) -> dict:
    out = _copy(doc)
    _moved(out["steps"], step_index(out, key), delta)
    return out


def set_cells(doc: dict, cells: dict[str, dict[str, Any]]) -> dict:
    """Write the field matrix: ``cells[step][field]`` is a mode or a conditional mode.

    Each step lists its visible fields in the template's order; hidden is left out.
    """
    out = _copy(doc)
    order = list(_properties(out))
    for step in out["steps"]:
        given = cells.get(step["key"], {})
        fields = {name: given[name] for name in order if given.get(name, "hidden") != "hidden"}
        old = step.get("fields", {})
        step["fields"] = old if {k: v for k, v in old.items() if v != "hidden"} == fields else fields
    return out


def field_users(doc: dict, key: str) -> list[str]:
    """Fields whose cascade hangs on ``key`` (they break when it goes)."""
    return [name for name, schema in _properties(doc).items() if schema.get("x-cascade") == key]
