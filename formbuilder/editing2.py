"""Format-2 edits of a process document: a table's columns, computed fields' modes, cross-field rules.

Like :mod:`editing`, each function takes a document and returns a changed deep copy,
refusing with :class:`editing.EditError` at the JSON path; keys the visual editor does
not manage survive. :func:`upgraded` is applied after every visual edit, so setting a
format-2 key in a format-1 draft makes it a format-2 draft in the same change.
"""

from __future__ import annotations

import copy

from .checks2 import format_2_keys
from .editing import EditError, check_key
from .messages import N_
from .tables import columns, is_table


def upgraded(doc: dict) -> tuple[dict, bool]:
    """``doc`` at format 2 when, at format 1, it uses a format-2 key (and whether it was raised).

    Format 2 is a superset of format 1, so nothing else changes meaning; the ``format`` key
    keeps its place, so the rest of the document reads the same.
    """
    if doc.get("format") == 1 and (next(iter(format_2_keys(doc)), None) is not None or _field_assignee(doc)):
        return {**doc, "format": 2}, True
    return doc, False


def _field_assignee(doc: dict) -> bool:
    """A step handed to whoever a field holds (``assignee.type: "field"``, format 2)."""
    return any(isinstance(step, dict) and isinstance(step.get("assignee"), dict)
               and step["assignee"].get("type") == "field" for step in doc.get("steps", []))


# -- detail tables -------------------------------------------------------------------------------

def _table(doc: dict, key: str) -> dict:
    """The table field ``key`` of ``doc`` (a copy's, for writing), else an EditError at the field."""
    schema = doc.get("schema", {}).get("properties", {}).get(key)
    if not is_table(schema):
        raise EditError(["schema", "properties", key], N_("not a detail table"))
    return schema


def _columns_path(key: str) -> list:
    return ["schema", "properties", key, "items", "properties"]


def put_column(doc: dict, key: str, column: str, schema: dict, *, required: bool, new: bool) -> dict:
    """Add a column (at the end) or replace one in place; ``required``: required in every row."""
    out = copy.deepcopy(doc)
    items = _table(out, key)["items"]
    props = items.setdefault("properties", {})
    if new:
        check_key([*_columns_path(key), column], column, props)
    elif column not in props:
        raise EditError([*_columns_path(key), column], N_("no such column in the table"))
    props[column] = copy.deepcopy(props[column]) if props.get(column) == schema else schema
    _set_required(items, column, required)
    return out


def _set_required(items: dict, column: str, required: bool) -> None:
    """Name or drop ``column`` in ``items.required``; an empty list is dropped, order kept."""
    names = [name for name in items.get("required", []) if name != column or required]
    if required and column not in names:
        names.append(column)
    if names:
        items["required"] = names if names != items.get("required") else items["required"]
    else:
        items.pop("required", None)


def remove_column(doc: dict, key: str, column: str) -> dict:
    """Drop a column and its ``required`` entry; formulas naming it are left for check 7 to report."""
    out = copy.deepcopy(doc)
    items = _table(out, key)["items"]
    if column not in columns({"items": items}):
        raise EditError([*_columns_path(key), column], N_("no such column in the table"))
    if len(items["properties"]) == 1:
        raise EditError([*_columns_path(key), column], N_("a table needs at least one column"))
    del items["properties"][column]
    _set_required(items, column, False)
    return out


def move_column(doc: dict, key: str, column: str, delta: int) -> dict:
    out = copy.deepcopy(doc)
    items = _table(out, key)["items"]
    order = list(columns({"items": items}))
    if column not in order:
        raise EditError([*_columns_path(key), column], N_("no such column in the table"))
    order.insert(min(max(order.index(column) + delta, 0), len(order) - 1), order.pop(order.index(column)))
    items["properties"] = {name: items["properties"][name] for name in order}
    return out


# -- computed fields -----------------------------------------------------------------------------

def _read_only(mode: object) -> object:
    """``mode`` with editable and required (in either branch of a conditional mode) made readonly."""
    if mode in ("editable", "required"):
        return "readonly"
    if isinstance(mode, dict):
        return {k: _read_only(v) if k in ("mode", "else") else v for k, v in mode.items()}
    return mode


def computed_read_only(doc: dict, key: str) -> tuple[dict, list[str]]:
    """Check 8 kept: the computed field ``key`` made read-only wherever a step had it editable or required.

    Returns the document and the names of the steps changed (the editor says which).
    """
    out, changed = copy.deepcopy(doc), []
    for step in out.get("steps", []):
        fields = step.get("fields") or {}
        if key in fields and _read_only(fields[key]) != fields[key]:
            fields[key] = _read_only(fields[key])
            changed.append(step.get("name") or step.get("key"))
    return out, changed


# -- cross-field rules ---------------------------------------------------------------------------

def put_rule(doc: dict, index: int | None, rule: dict) -> dict:
    """Append a rule (``index`` None) or replace rule ``index``, keeping keys the editor does not manage."""
    out = copy.deepcopy(doc)
    rules = out.setdefault("x-rules", [])
    if index is None:
        rules.append(rule)
    elif 0 <= index < len(rules):
        old = rules[index] if isinstance(rules[index], dict) else {}
        merged = {**old, **rule}
        rules[index] = copy.deepcopy(old) if merged == old else merged
    else:
        raise EditError(["x-rules", index], N_("no such rule"))
    return out


def remove_rule(doc: dict, index: int) -> dict:
    """Drop rule ``index``; the last one takes ``x-rules`` with it (the document stays at format 2)."""
    out = copy.deepcopy(doc)
    rules = out.get("x-rules")
    if not isinstance(rules, list) or not 0 <= index < len(rules):
        raise EditError(["x-rules", index], N_("no such rule"))
    del rules[index]
    if not rules:
        del out["x-rules"]
    return out
