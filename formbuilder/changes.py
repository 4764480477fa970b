"""What publishing a draft changes, in words: the publish dialog's list ("added field 配件明细 (明细表)").

:func:`changes` compares two process documents (the latest published version and the draft) and
returns one :class:`Msg` per change, naming fields and steps by their labels, never by their keys:
the admin who pointed and dragged never saw a key. The order is the reader's: the process, then its
fields, then its steps (``changes_steps``). Messages are rendered late with the reader's
``gettext``; the words inside them (a field's kind, a mode) are Msgs too and render in the same
language. Documents are read defensively: a draft may still have problems of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from .changes_steps import Names, step_changes
from .fieldtypes import classify, options_schema
from .messages import N_, Msg

FIRST = N_("first version: %(fields)d fields, %(steps)d steps")
#: Top-level keys worded one line each when they change; ``name`` and ``number_prefix`` show both values.
_PROCESS_KEYS = {
    "format": N_("document format changed"),
    "description": N_("description changed"),
    "hint": N_("hint on the creation form changed"),
    "priority": N_("priority settings changed"),
    "web_form": N_("web form settings changed"),
    "notify_customer": N_("customer e-mail notifications changed"),
    "x-rules": N_("cross-field rules changed"),
}
#: Field schema keys some other line already words; any other difference is "settings changed".
_WORDED = {"title", "type", "x-widget", "format", "oneOf", "items", "x-dictionary", "x-cascade", "x-formula",
           "x-readers"}


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def properties(document: dict) -> dict:
    return _dict(_dict(document.get("schema")).get("properties"))


def changes(old: dict | None, new: dict, *, name_of: Callable[[str, str], str] | None = None) -> list[Msg]:
    """Every change from ``old`` to ``new``; ``old`` None is a first version (counts only).

    ``name_of(kind, code)`` may give a user's, role's or department's name for a handler
    (kind ``user``, ``role`` or ``department``); without it the codes are shown.
    """
    if old is None:
        steps = new.get("steps") if isinstance(new.get("steps"), list) else []
        return [Msg(FIRST, {"fields": len(properties(new)), "steps": len(steps)})]
    names = Names(old, new, name_of)
    return [*process_changes(old, new), *field_changes(old, new, names), *step_changes(old, new, names)]


def process_changes(old: dict, new: dict) -> list[Msg]:
    """The name, the ticket number prefix, then one line per other setting that changed."""
    found = []
    if old.get("name") != new.get("name"):
        found.append(Msg(N_("process name: %(old)s → %(new)s"), {"old": old.get("name"), "new": new.get("name")}))
    if old.get("number_prefix") != new.get("number_prefix"):
        found.append(Msg(N_("ticket number prefix: %(old)s → %(new)s"),
                         {"old": old.get("number_prefix") or "GD", "new": new.get("number_prefix") or "GD"}))
    found += [Msg(text) for key, text in _PROCESS_KEYS.items() if old.get(key) != new.get(key)]
    if _dict(old.get("schema")).get("allOf") != _dict(new.get("schema")).get("allOf"):
        found.append(Msg(N_("conditional rules changed")))
    return found


def field_changes(old: dict, new: dict, names: Names) -> list[Msg]:
    """Fields removed, added, then each kept field's changes, in the new document's order."""
    before, after = properties(old), properties(new)
    found = [Msg(N_("removed field %(field)s"), {"field": names.field(key)}) for key in before if key not in after]
    for key, schema in after.items():
        if key not in before:
            found.append(_added(names.field(key), _dict(schema)))
        else:
            found += _field_changed(key, _dict(before[key]), _dict(schema), names)
    kept = [key for key in after if key in before]
    if kept != [key for key in before if key in after]:
        found.append(Msg(N_("order of fields changed")))
    return found


def _kind(schema: dict) -> Msg | None:
    found = classify(schema)
    return Msg(found.label) if found else None


def _added(label: str, schema: dict) -> Msg:
    kind = _kind(schema)
    if kind is None:
        return Msg(N_("added field %(field)s"), {"field": label})
    return Msg(N_("added field %(field)s (%(kind)s)"), {"field": label, "kind": kind})


def _field_changed(key: str, old: dict, new: dict, names: Names) -> list[Msg]:
    label = names.field(key)
    found = []
    if old.get("title") != new.get("title"):
        found.append(Msg(N_("renamed field %(old)s to %(new)s"), {"old": old.get("title") or key, "new": label}))
    kind_old, kind_new = _kind(old), _kind(new)
    if kind_old != kind_new and kind_old and kind_new:
        found.append(Msg(N_("field %(field)s: type %(old)s → %(new)s"), {"field": label, "old": kind_old,
                                                                        "new": kind_new}))
    found += _options(label, old, new)
    found += _formula(label, old.get("x-formula"), new.get("x-formula"))
    if old.get("x-readers") != new.get("x-readers"):
        found.append(Msg(N_("field %(field)s: who may read it changed"), {"field": label}))
    found += _columns(label, old, new) if new.get("x-widget") == "table" == old.get("x-widget") else []
    if any(old.get(k) != new.get(k) for k in {*old, *new} - _WORDED) or _items_differ(old, new):
        found.append(Msg(N_("field %(field)s: settings changed"), {"field": label}))
    return found


def _items_differ(old: dict, new: dict) -> bool:
    """Whether an array's item schema changed beyond its options (a table's columns are worded apart)."""
    if new.get("x-widget") == "table" or not isinstance(new.get("items"), dict):
        return False
    strip = {"oneOf", "x-dictionary", "x-cascade"}
    return ({k: v for k, v in _dict(old.get("items")).items() if k not in strip}
            != {k: v for k, v in _dict(new.get("items")).items() if k not in strip})


def _choices(schema: dict) -> dict:
    """value -> label of a field's listed options (``oneOf`` of consts)."""
    listed = _dict(options_schema(schema)).get("oneOf")
    return {o["const"]: o.get("title") or str(o["const"]) for o in (listed if isinstance(listed, list) else [])
            if isinstance(o, dict) and "const" in o}


def _options(label: str, old: dict, new: dict) -> list[Msg]:
    """Options added and removed by label; relabelled, reordered or a new dictionary as one line."""
    before, after = _choices(old), _choices(new)
    found = []
    added = [after[v] for v in after if v not in before]
    removed = [before[v] for v in before if v not in after]
    if added:
        found.append(Msg(N_("field %(field)s: added options %(options)s"), {"field": label,
                                                                           "options": ", ".join(added)}))
    if removed:
        found.append(Msg(N_("field %(field)s: removed options %(options)s"), {"field": label,
                                                                             "options": ", ".join(removed)}))
    source = ("oneOf", "x-dictionary", "x-cascade")
    if not found and any(_dict(options_schema(old)).get(k) != _dict(options_schema(new)).get(k) for k in source):
        found.append(Msg(N_("field %(field)s: options changed"), {"field": label}))
    return found


def _formula(label: str, old: object, new: object) -> list[Msg]:
    if old == new:
        return []
    if old is None:
        return [Msg(N_("field %(field)s is now computed"), {"field": label})]
    if new is None:
        return [Msg(N_("field %(field)s is no longer computed"), {"field": label})]
    return [Msg(N_("field %(field)s: formula changed"), {"field": label})]


def _columns(label: str, old: dict, new: dict) -> list[Msg]:
    """A detail table's columns added, removed, renamed, changed, and which of them every row requires."""
    items_old, items_new = _dict(old.get("items")), _dict(new.get("items"))
    before, after = _dict(items_old.get("properties")), _dict(items_new.get("properties"))
    required = [set(r) if isinstance(r := items.get("required"), list) else set() for items in (items_old, items_new)]

    def column(key: str) -> str:
        return _dict(after.get(key) or before.get(key)).get("title") or key

    def line(text: str, key: str) -> Msg:
        return Msg(text, {"field": label, "column": column(key)})

    found = [line(N_("table %(field)s: removed column %(column)s"), k) for k in before if k not in after]
    found += [line(N_("table %(field)s: added column %(column)s"), k) for k in after if k not in before]
    found += [line(N_("table %(field)s: column %(column)s changed"), k) for k in after
              if k in before and before[k] != after[k]]
    found += [line(N_("table %(field)s: column %(column)s is now required"), k) for k in after
              if k in required[1] - required[0]]
    found += [line(N_("table %(field)s: column %(column)s is no longer required"), k) for k in after
              if k in required[0] - required[1] and k in before]
    return found
