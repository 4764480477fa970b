"""The flow designer's panels: a step's settings and a transition's label, target and guard.

Registered in :data:`admin.designer_panels.PANELS`. A panel normally shows the draft; when the
request posted this very step's section or transition and the draft is unchanged (the edit was
refused, or it was only a preview of the guard's field), it shows what was posted, so a
half-built countersign or guard is not lost while the admin completes it.
"""

from __future__ import annotations

import json

from flask import request
from flask_babel import gettext

from formbuilder import conditions
from formbuilder.conditions import NO_VALUE, OPERATORS
from formbuilder.fieldtypes import options_schema
from workflows.people.org import ROLES
from workflows.storage.models import Department, Dictionary, Process, User

from .designer_ops import Sel
from .designer_panels import panel
from .designer_steps import END, SECTIONS, default_pick, section_form
from .editor import revision
from .org import ROLE_LABELS
from .stepeditor import people_fields

SHOWN = 12  # handler candidates listed at once; a search narrows them
KIND_WORDS = {"user": "User", "role": "Role", "department": "Department", "field": "Field"}  # msgids


def _posted(doc: dict, **match: str) -> bool:
    """Whether this request posted the panel's own inputs and the draft is still as the page had it."""
    return request.form.get("rev") == revision(doc) and all(request.form.get(k) == v for k, v in match.items())


@panel("step")
def step_panel(process: Process, doc: dict, sel: Sel, step_key: str) -> dict:
    index = next(i for i, s in enumerate(doc["steps"]) if s["key"] == sel.key)
    step = doc["steps"][index]
    assignee = step.get("assignee") or {}
    section = request.form.get("section") if _posted(doc, key=step["key"]) else None
    query = request.form.get("who_q", "").strip()
    flows = section_form(doc, step, request.form, section if section in SECTIONS else None)
    return {"step": step, "index": index, "count": len(doc["steps"]), "handler": handler_text(doc, step),
            "handler_kind": assignee.get("type"), "pick": assignee.get("pick") or default_pick(assignee),
            "query": query, "found": candidates(doc, query),
            "transfer": {True: "within", "anyone": "anyone"}.get(step.get("allow_transfer"), "no"),
            "flows": flows, "open": {name: name in step or name == section for name in SECTIONS},
            "targets": [(s["key"], s.get("name") or s["key"]) for s in doc["steps"]] + [(END, gettext("End"))],
            "names": _names(doc), "decisions": _decisions(doc, flows.sign_decision.data),
            "processes": list(Process.select(Process.code, Process.name).where(Process.latest_version > 0)
                              .order_by(Process.name).tuples()),
            "process_names": dict(Process.select(Process.code, Process.name).tuples())}


def _names(doc: dict) -> dict[str, str]:
    return {**{s["key"]: s.get("name") or s["key"] for s in doc["steps"]}, END: gettext("End")}


def _decisions(doc: dict, decision: str | None) -> list[tuple[str, str]]:
    """The countersign decision field's options, to choose the passing one from (empty: typed)."""
    schema = doc["schema"]["properties"].get(decision or "")
    return value_options(schema) or [] if schema else []


def handler_text(doc: dict, step: dict) -> str:
    """Who handles the step, in words and names (never a bare key)."""
    assignee = step.get("assignee") or {}
    kind, value = assignee.get("type"), assignee.get("value")
    plain = {"creator": gettext("The creator"), "previous": gettext("Who sent it"),
             "choose": gettext("Picked by the sender")}
    if kind in plain:
        return plain[kind]
    names = {(c["kind"], c["value"]): c["label"] for c in candidates(doc, "", 0)}
    values = value if isinstance(value, list) else [value]
    shown = ", ".join(names.get((kind, v), str(v)) for v in values)
    return f"{gettext(KIND_WORDS.get(kind, 'Field'))}: {shown}" if kind else gettext("nobody yet")


def candidates(doc: dict, query: str, limit: int = SHOWN) -> list[dict]:
    """Roles, member fields, departments and users whose name or key contains ``query`` (all when 0)."""
    found = [("role", role, str(ROLE_LABELS.get(role, role))) for role in ROLES]
    found += [("field", name, label) for name, label in people_fields(doc)]
    found += [("department", code, f"{name} ({code})") for code, name in
              Department.select(Department.code, Department.name).order_by(Department.code).tuples()]
    found += [("user", name, f"{full or name} ({name})") for name, full in
              User.select(User.username, User.name).where(User.active).order_by(User.username).tuples()]
    needle = query.casefold()
    matched = [{"kind": k, "value": v, "label": label, "word": gettext(KIND_WORDS[k])} for k, v, label in found
               if needle in label.casefold() or needle in v.casefold()]
    return matched[:limit] if limit else matched


@panel("transition")
def transition_panel(process: Process, doc: dict, sel: Sel, step_key: str) -> dict:
    step = next(s for s in doc["steps"] if s["key"] == sel.key)
    transition = step["transitions"][sel.index]
    posted = _posted(doc, key=sel.key, index=str(sel.index))
    guard = _posted_guard() if posted else _guard(doc, transition)
    schema = doc["schema"]["properties"].get(guard["field"])
    return {"step": step, "index": sel.index, "transition": transition,
            "label": request.form.get("label", "") if posted else transition.get("label", ""),
            "to": request.form.get("to", "") if posted else transition.get("to"),
            "guard": guard, "names": _names(doc),
            "targets": [(s["key"], s.get("name") or s["key"]) for s in doc["steps"]] + [(END, gettext("End"))],
            "fields": [(n, s.get("title") or n) for n, s in doc["schema"]["properties"].items()],
            "operators": operators_for(schema), "no_value": NO_VALUE,
            "options": value_options(schema) if schema else None}


def _guard(doc: dict, transition: dict) -> dict:
    """The pickers of the stored ``when``; raw JSON when they cannot express it."""
    when = transition.get("when")
    found = conditions.from_schema(when) if when is not None else None
    if when is None or found is None or found.field not in doc["schema"]["properties"]:
        return {"field": "", "op": "eq", "values": [], "raw": "" if when is None else json.dumps(
            when, ensure_ascii=False), "set": when is not None}
    field = doc["schema"]["properties"][found.field]
    values = found.value if isinstance(found.value, list) else [] if found.value is None else [found.value]
    return {"field": found.field, "op": found.op, "values": [_text(v) for v in values],
            "shown": conditions.display(field, found.value), "raw": "", "set": True}


def _posted_guard() -> dict:
    values = [v for v in request.form.getlist("guard_value") if v.strip()]
    return {"field": request.form.get("guard_field", ""), "op": request.form.get("guard_op") or "eq",
            "values": values, "shown": ", ".join(values), "raw": request.form.get("when_json", ""),
            "set": bool(request.form.get("guard_field") or request.form.get("when_json"))}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def operators_for(schema: dict | None) -> dict[str, str]:
    """The operators that make sense for the field: order for numbers and dates, "contains" for lists."""
    kind = (schema or {}).get("type")
    if kind == "array":
        wanted = ("contains", "filled", "empty")
    elif kind in ("integer", "number") or (schema or {}).get("format") in ("date", "date-time"):
        wanted = ("eq", "ne", "gt", "ge", "lt", "le", "filled", "empty")
    else:
        wanted = ("eq", "ne", "in", "filled", "empty")
    return {op: OPERATORS[op] for op in wanted}


def value_options(schema: dict) -> list[tuple[str, str]] | None:
    """(value, label) a condition on the field may compare with: its options, its dictionary's items, yes/no."""
    source = options_schema(schema)
    if source.get("oneOf"):
        return [(_text(o.get("const")), str(o.get("title") or o.get("const"))) for o in source["oneOf"]
                if isinstance(o, dict) and "const" in o]
    if source.get("x-dictionary"):
        row = Dictionary.get_or_none(Dictionary.code == source["x-dictionary"])
        return list(_items((row.document or {}).get("items", []), "")) if row else []
    if source.get("type") == "boolean":
        return [("true", gettext("Yes")), ("false", gettext("No"))]
    return None


def _items(items: list, prefix: str):
    """A dictionary's items depth first, a child labelled after its parent (华为 › Mate 60)."""
    for item in items:
        if isinstance(item, dict) and "value" in item:
            label = prefix + str(item.get("label") or item["value"])
            yield _text(item["value"]), label
            yield from _items(item.get("children") or [], label + " › ")
