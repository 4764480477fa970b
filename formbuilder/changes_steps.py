"""The steps' part of :func:`formbuilder.changes.changes`: steps, handlers, field modes and transitions.

Steps are matched by key (a renamed step is the same step), transitions of a step by target, in
order (the second transition to ``$end`` is matched with the second one before). Modes and handlers
are worded as Msgs, so "field 故障描述 at step 上门维修: hidden → required" reads in one language.
"""

from __future__ import annotations

from collections.abc import Callable

from .messages import N_, Msg

END = "$end"
MODES = {"hidden": N_("hidden"), "readonly": N_("read-only"), "editable": N_("editable"), "required": N_("required")}
_WHO = {"creator": N_("the creator"), "previous": N_("whoever sent it here"), "user": N_("user %(value)s"),
        "role": N_("role %(value)s"), "department": N_("department %(value)s"),
        "choose": N_("anyone the sender chooses"), "field": N_("whoever field %(value)s names")}
_PICKS = {"manual": N_("picked by the sender"), "round_robin": N_("round robin"),
          "least_loaded": N_("fewest open tickets")}
#: Step keys worded one line each; any other difference (return, transfer, wait, spawn) is "settings".
_STEP_KEYS = {"sign": N_("countersign settings of step %(step)s changed"),
              "sla": N_("time limit of step %(step)s changed"),
              "timeout": N_("timeout of step %(step)s changed")}
_WORDED = {"key", "name", "fields", "assignee", "transitions", *_STEP_KEYS}


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def steps_of(document: dict) -> dict[str, dict]:
    """key -> step, in document order (steps without a text key cannot be matched and are left out)."""
    return {s["key"]: s for s in _list(document.get("steps")) if isinstance(s, dict) and isinstance(s.get("key"), str)}


class Names:
    """Labels of fields and steps (the new document's, else the old one's) and of handlers."""

    def __init__(self, old: dict, new: dict, name_of: Callable[[str, str], str] | None = None):
        self._fields, self._steps = {}, {}
        for document in (old, new):  # the new label wins
            properties = _dict(_dict(document.get("schema")).get("properties"))
            self._fields.update({k: _dict(s).get("title") or k for k, s in properties.items()})
            self._steps.update({k: s.get("name") or k for k, s in steps_of(document).items()})
        self._name_of = name_of or (lambda kind, code: code)

    def field(self, key: str) -> str:
        return str(self._fields.get(key, key))

    def step(self, key: str) -> str | Msg:
        return Msg(N_("End")) if key == END else str(self._steps.get(key, key))

    def who(self, kind: str, value: object) -> str:
        """A handler's name: a field's label for ``field``, else ``name_of``'s; a list joined by commas."""
        values = value if isinstance(value, list) else [value]
        name = self.field if kind == "field" else lambda code: self._name_of(kind, code)
        return ", ".join(name(str(v)) for v in values)


def handler(assignee: object, names: Names) -> Msg:
    """Who handles a step, with the pick among several (``round robin``)."""
    assignee = _dict(assignee)
    kind = assignee.get("type")
    if kind not in _WHO:
        return Msg(N_("nobody named"))
    if kind == "choose" and assignee.get("value"):
        who = Msg(N_("anyone the sender chooses among %(value)s"), {"value": names.who("choose", assignee["value"])})
    else:
        who = Msg(_WHO[kind], {"value": names.who(kind, assignee.get("value"))} if "%(value)s" in _WHO[kind] else {})
    pick = assignee.get("pick")
    return Msg(N_("%(who)s, %(pick)s"), {"who": who, "pick": Msg(_PICKS[pick])}) if pick in _PICKS else who


def mode(raw: object) -> Msg:
    """A step's mode of a field in words; a conditional one names both branches."""
    if isinstance(raw, dict):
        return Msg(N_("%(mode)s when its condition holds, otherwise %(otherwise)s"),
                   {"mode": mode(raw.get("mode")), "otherwise": mode(raw.get("else", "hidden"))})
    return Msg(MODES.get(raw, MODES["hidden"]) if isinstance(raw, str) else MODES["hidden"])


def step_changes(old: dict, new: dict, names: Names) -> list[Msg]:
    """Steps removed, added, renamed and moved, then each kept step's changes in the new order."""
    before, after = steps_of(old), steps_of(new)
    found = [Msg(N_("removed step %(step)s"), {"step": names.step(k)}) for k in before if k not in after]
    found += [_added_step(k, step, names) for k, step in after.items() if k not in before]
    found += [Msg(N_("renamed step %(old)s to %(new)s"), {"old": before[k].get("name") or k, "new": names.step(k)})
              for k in after if k in before and before[k].get("name") != after[k].get("name")]
    keys = list(after)
    found += [Msg(N_("moved step %(step)s to position %(position)d"), {"step": names.step(k),
                                                                       "position": keys.index(k) + 1})
              for k in moved(list(before), keys)]
    for key, step in after.items():
        if key in before:
            found += _step_changed(key, before[key], step, old, new, names)
    return found


def _added_step(key: str, step: dict, names: Names) -> Msg:
    who = handler(step["assignee"], names) if "assignee" in step else Msg(N_("the countersigners"))
    shown = sum(1 for raw in _dict(step.get("fields")).values() if raw != "hidden")
    return Msg(N_("added step %(step)s, handled by %(handler)s; fields shown: %(count)d"),
               {"step": names.step(key), "handler": who, "count": shown})


def moved(before: list[str], after: list[str]) -> list[str]:
    """The kept keys out of their old relative order: those off a longest common subsequence, in new order."""
    a = [k for k in before if k in after]
    b = [k for k in after if k in before]
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            lengths[i][j] = lengths[i + 1][j + 1] + 1 if a[i] == b[j] else max(lengths[i + 1][j], lengths[i][j + 1])
    kept, i, j = set(), 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            kept.add(a[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] > lengths[i][j + 1]:
            i += 1
        else:
            j += 1  # on a tie the old order's earlier step stays: the later one is the one moved
    return [k for k in b if k not in kept]


def _step_changed(key: str, old: dict, new: dict, old_doc: dict, new_doc: dict, names: Names) -> list[Msg]:
    step = names.step(key)
    found = []
    if old.get("assignee") != new.get("assignee"):
        found.append(Msg(N_("step %(step)s: handler %(old)s → %(new)s"),
                         {"step": step, "old": handler(old.get("assignee"), names),
                          "new": handler(new.get("assignee"), names)}))
    found += _modes(step, old, new, old_doc, new_doc, names)
    found += _transitions(step, _list(old.get("transitions")), _list(new.get("transitions")), names)
    found += [Msg(text, {"step": step}) for k, text in _STEP_KEYS.items() if old.get(k) != new.get(k)]
    if any(old.get(k) != new.get(k) for k in {*old, *new} - _WORDED):
        found.append(Msg(N_("settings of step %(step)s changed"), {"step": step}))
    return found


def _modes(step: str | Msg, old: dict, new: dict, old_doc: dict, new_doc: dict, names: Names) -> list[Msg]:
    """Each field's mode at a kept step, in the new schema's order; a field new to the process is "added"."""
    existed = _dict(_dict(old_doc.get("schema")).get("properties"))
    before, after = _dict(old.get("fields")), _dict(new.get("fields"))
    found = []
    for key in _dict(_dict(new_doc.get("schema")).get("properties")):
        was, now = before.get(key, "hidden"), after.get(key, "hidden")
        params = {"field": names.field(key), "step": step, "old": mode(was), "new": mode(now)}
        if key not in existed:
            if now != "hidden":
                found.append(Msg(N_("added field %(field)s to step %(step)s, %(new)s"), params))
        elif was != now:
            text = N_("field %(field)s at step %(step)s: condition changed") if mode(was) == mode(now) else \
                N_("field %(field)s at step %(step)s: %(old)s → %(new)s")
            found.append(Msg(text, params))
    return found


def _by_target(transitions: list) -> dict[object, list[dict]]:
    grouped: dict[object, list[dict]] = {}
    for transition in transitions:
        if isinstance(transition, dict) and isinstance(transition.get("to"), str):
            grouped.setdefault(transition["to"], []).append(transition)
    return grouped


def _transitions(step: str | Msg, old: list, new: list, names: Names) -> list[Msg]:
    """Transitions removed, added, relabelled and with a changed guard (``when``)."""
    before, after = _by_target(old), _by_target(new)
    found = []
    for target in [*before, *(t for t in after if t not in before)]:
        was, now = before.get(target, []), after.get(target, [])
        for a, b in zip(was, now, strict=False):
            found += _transition_changed(step, target, a, b, names)
        found += [_transition(N_("step %(step)s: removed transition %(label)s to %(to)s"), step, t, names)
                  for t in was[len(now):]]
        found += [_transition(N_("step %(step)s: added transition %(label)s to %(to)s"), step, t, names)
                  for t in now[len(was):]]
    return found


def _transition(text: str, step: str | Msg, transition: dict, names: Names) -> Msg:
    return Msg(text, {"step": step, "label": transition.get("label") or "", "to": names.step(transition["to"])})


def _transition_changed(step: str | Msg, target: str, a: dict, b: dict, names: Names) -> list[Msg]:
    found = []
    if a.get("label") != b.get("label"):
        found.append(Msg(N_("step %(step)s: transition to %(to)s relabelled %(old)s → %(new)s"),
                         {"step": step, "to": names.step(target), "old": a.get("label") or "",
                          "new": b.get("label") or ""}))
    if a.get("when") != b.get("when"):
        found.append(_transition(N_("step %(step)s: condition of transition %(label)s changed"), step, b, names))
    return found
