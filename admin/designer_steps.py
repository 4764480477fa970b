"""The flow designer's edits: steps (add, rename, hand over, move, remove, format-2 settings) and transitions.

Registered in :data:`admin.designer_ops.OPS` like the field edits, so each is one audited draft
edit. Step keys come from names (``keys.step_key_for``); the format-2 settings go through
``editing_flows.set_flows`` (every problem at its JSON path), read from the same ``FlowsForm``
as the step page (``admin.stepflows``), so both pages write the same JSON.
"""

from __future__ import annotations

import json

from flask_babel import gettext

from formbuilder import conditions, editing, strictjson
from formbuilder import editing_flows as flows_edit
from formbuilder.editing import EditError
from formbuilder.editing_flows import FLOW_KEYS, PRIORITIES, FlowError
from formbuilder.keys import step_key_for
from formbuilder.messages import N_
from workflows.people.org import ROLES
from workflows.processes import documents as docs
from workflows.storage.models import Department

from . import stepflows
from .designer_ops import FOCUS, Ctx, Sel, op
from .matrix import picked_when
from .stepeditor import people_fields

END = "$end"
HANDLERS = ("creator", "previous", "choose", "user", "role", "department", "field")
NAMED = ("user", "role", "department", "field")  # handlers that need a value
PICKS = ("", "manual", "round_robin", "least_loaded")
TRANSFERS = {"no": False, "within": True, "anyone": "anyone"}
SOLUTIONS = ("", "optional", "required")  # x-solution: none, offered, required to leave the step (docs/kb.md)
#: The step panel's format-2 sections, each saved on its own: the ``FlowsForm`` inputs it posts.
SECTIONS = {
    "sla": ("sla_minutes", *(f"sla_{p}" for p in PRIORITIES), "sla_calendar", "sla_warn", "sla_escalate"),
    "timeout": ("timeout_minutes", "timeout_to", "timeout_label", "timeout_calendar"),
    "sign": ("sign_mode", "sign_ratio", "sign_of_type", "sign_of_roles", "sign_of_departments", "sign_of_user",
             "sign_of_field", "sign_decision", "sign_pass"),
}
FOCUS.update({"add_step": "lzs-name", "add_transition": "lzt-label"})


def the_step(doc: dict, key: str) -> tuple[int, dict]:
    index = editing.step_index(doc, key)
    return index, doc["steps"][index]


def _transition(doc: dict, ctx: Ctx) -> tuple[int, dict, int]:
    """(step index, step, transition index) of the posted ``key`` and ``index``."""
    index, step = the_step(doc, ctx.text("key"))
    n = ctx.text("index")
    if not n.isdigit() or int(n) >= len(step.get("transitions", [])):
        raise EditError(["steps", index, "transitions", n or "-"], N_("no such transition"))
    return index, step, int(n)


def _with_step(doc: dict, index: int, step: dict) -> dict:
    return {**doc, "steps": [step if i == index else s for i, s in enumerate(doc["steps"])]}


def _ordered(old: dict, new: dict) -> dict:
    """``new`` with ``old``'s key order (``set_flows`` re-adds the flow keys at the end)."""
    return {**{k: new[k] for k in old if k in new}, **{k: v for k, v in new.items() if k not in old}}


def with_flows(doc: dict, index: int, step: dict, changes: dict) -> dict:
    """``step`` written at ``index`` with its flow keys updated by ``changes``, checked by ``set_flows``."""
    flows = {**{k: step.get(k) for k in FLOW_KEYS}, **changes}
    try:
        out = flows_edit.set_flows(_with_step(doc, index, step), step["key"], flows, stepflows.known())
    except FlowError as error:
        raise docs.DocumentError(error.problems) from None
    out["steps"][index] = _ordered(doc["steps"][index], out["steps"][index])
    return flows_edit.kept_order(doc, out, step["key"])


# -- steps ----------------------------------------------------------------------------------------

@op("add_step")
def add_step(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """A step after the selected one (else the last), shown and selected, its name ready to be typed over.

    The step it follows hands over its transitions to End: S → End becomes S → new → End, so
    building a chain is one click per step.
    """
    name = ctx.text("name") or gettext("New step")
    key = step_key_for(name, {s["key"] for s in doc["steps"]} | {END})
    after = _anchor(doc, ctx)
    out = editing.add_step(doc, key, name, gettext("Done"))
    new = out["steps"].pop()
    for transition in out["steps"][after].get("transitions", []):
        if transition.get("to") == END:
            transition["to"] = key
    out["steps"].insert(after + 1, new)
    ctx.step = key
    return out, Sel("step", key)


def _anchor(doc: dict, ctx: Ctx) -> int:
    keys = [s["key"] for s in doc["steps"]]
    return keys.index(ctx.sel.key) if ctx.sel.kind in ("step", "transition") and ctx.sel.key in keys \
        else len(keys) - 1


@op("update_step")
def update_step(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """Name (an unpublished key made from the old name follows it), pick, return, transfer and waiting."""
    index, step = the_step(doc, ctx.text("key"))
    base, name, pick, transfer = ["steps", index], ctx.text("name"), ctx.text("pick"), ctx.text("allow_transfer")
    if not name:
        raise EditError(base + ["name"], N_("the step needs a name"))
    if pick not in PICKS:
        raise EditError(base + ["assignee", "pick"], N_("choose manual, round robin or least loaded"))
    if transfer not in TRANSFERS:
        raise EditError(base + ["allow_transfer"], N_('choose no, within the candidates, or "anyone"'))
    new = {**step, "name": name, "allow_return": True}
    if ctx.form.get("allow_return") != "1":
        new.pop("allow_return")
    assignee = dict(step.get("assignee") or {})
    if assignee.get("type") in ("role", "department", "field"):
        kept = pick and (pick != default_pick(assignee) or "pick" in assignee)  # the default stays unwritten
        assignee = {k: v for k, v in {**assignee, "pick": pick if kept else None}.items() if v is not None}
        new["assignee"] = _ordered(step.get("assignee") or {}, assignee)
    _set_solution(new, ctx.form.get("solution"), base)
    changes = {"allow_transfer": TRANSFERS[transfer], "allow_wait": ctx.form.get("allow_wait") == "1"}
    out, key = with_flows(doc, index, new, changes), step["key"]
    others = [s["key"] for s in doc["steps"] if s["key"] != key]
    if name != step["name"] and f"step:{key}" not in ctx.published and key == step_key_for(step["name"], others):
        key = step_key_for(name, others)  # a key made from the old name follows the new one until published
        out = renamed_step(out, step["key"], key)
        ctx.step = key if ctx.step == step["key"] else ctx.step
    return out, Sel("step", key)


def _set_solution(step: dict, solution: str | None, base: list) -> None:
    """``x-solution`` (docs/kb.md): a solution article to leave the step, "required" or "optional"; "" none.
    A form without the control (an older page) leaves it as it was."""
    if solution is None:
        return
    if solution not in SOLUTIONS:
        raise EditError(base + ["x-solution"], N_("choose none, optional or required"))
    step.pop("x-solution", None)
    if solution:
        step["x-solution"] = solution


def renamed_step(doc: dict, old: str, new: str) -> dict:
    """Step ``old`` keyed ``new``, and every transition, timeout and notice that names it."""
    def to(value):
        return new if value == old else value

    steps = []
    for step in doc["steps"]:
        step = {**step, "key": to(step["key"]),
                "transitions": [{**t, "to": to(t.get("to"))} for t in step.get("transitions", [])]}
        if isinstance(step.get("timeout"), dict):
            step["timeout"] = {**step["timeout"], "to": to(step["timeout"].get("to"))}
        escalate = (step.get("sla") or {}).get("escalate") if isinstance(step.get("sla"), dict) else None
        if isinstance(escalate, dict) and "to" in escalate:
            step["sla"] = {**step["sla"], "escalate": {**escalate, "to": to(escalate["to"])}}
        steps.append(step)
    out = {**doc, "steps": steps}
    notify = doc.get("notify_customer")
    if isinstance(notify, dict) and isinstance(notify.get("steps"), list):
        out["notify_customer"] = {**notify, "steps": [to(k) for k in notify["steps"]]}
    return out


def default_pick(assignee: dict) -> str:
    """The engine's pick when none is written: round robin for a department field, else the sender picks."""
    return "round_robin" if assignee.get("type") == "field" else "manual"


@op("set_handler")
def set_handler(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """Who handles the step: a kind, and for users, roles, departments and fields the one chosen by name."""
    index, step = the_step(doc, ctx.text("key"))
    kind, value, path = ctx.text("kind"), ctx.text("value"), ["steps", index, "assignee"]
    if kind not in HANDLERS:
        raise EditError(path + ["type"], N_("choose who handles the step"))
    if kind == "choose" and value:  # the sender picks among a role's or a department's members
        return _narrowed_choice(doc, index, step, value, path)
    if kind in NAMED and not value:
        raise EditError(path + ["value"], N_("choose who handles the step"))
    if kind == "field" and value not in dict(people_fields(doc)):
        raise EditError(path + ["value"], N_("no member or department field '%(value)s'"), value=value)
    assignee = {"type": kind, **({"value": value} if kind in NAMED else {})}
    pick = (step.get("assignee") or {}).get("pick")
    if pick and kind in ("role", "department", "field"):
        assignee["pick"] = pick
    changes = {"assignee_value": value} if kind in ("user", "role", "department") else {}
    return with_flows(doc, index, {**step, "assignee": assignee}, changes), Sel("step", step["key"])


def _narrowed_choice(doc: dict, index: int, step: dict, value: str, path: list) -> tuple[dict, Sel]:
    if value not in ROLES and not Department.select().where(Department.code == value).exists():
        raise EditError(path + ["value"], N_("no role or department '%(value)s'"), value=value)
    narrowed = {**step, "assignee": {"type": "choose", "value": value}}
    return with_flows(doc, index, narrowed, {}), Sel("step", step["key"])


@op("add_candidate")
def add_candidate(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """One more role or department of the same kind as the handler: several together (format 2, a list)."""
    index, step = the_step(doc, ctx.text("key"))
    assignee, value = dict(step.get("assignee") or {}), ctx.text("value")
    now = assignee.get("value")
    values = now if isinstance(now, list) else [now] if now else []
    if assignee.get("type") not in ("role", "department") or not value:
        raise EditError(["steps", index, "assignee", "value"], N_("only a role or department handler takes several"))
    values = [*values, value] if value not in values else values
    return with_flows(doc, index, step, {"assignee_value": values}), Sel("step", step["key"])


@op("move_transition")
def move_transition(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """A transition one place earlier or later: the order of the step's buttons."""
    index, step = the_step(doc, ctx.text("key"))
    moves = list(step.get("transitions") or [])
    raw = ctx.text("index")
    at, delta = int(raw) if raw.isdigit() else -1, -1 if ctx.text("delta") == "-1" else 1
    if not 0 <= at < len(moves) or not 0 <= at + delta < len(moves):
        raise EditError(["steps", index, "transitions", ctx.text("index")], N_("no such transition"))
    moves.insert(at + delta, moves.pop(at))
    return _with_step(doc, index, {**step, "transitions": moves}), Sel("step", step["key"])


@op("update_flows")
def update_flows(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """One format-2 section of the step (time limit, timeout or countersign), read as the step page reads it."""
    section = ctx.text("section")
    if section not in SECTIONS:
        raise EditError(["section"], N_("no such setting"))
    index, step = the_step(doc, ctx.text("key"))
    base, form = ["steps", index], section_form(doc, step, ctx.form, section)
    for name in SECTIONS[section]:
        if not form[name].validate(form):
            raise EditError(base + stepflows.PATHS.get(name, [section]), N_("%(label)s: %(error)s"),
                            label=str(form[name].label.text), error=str(form[name].errors[0]))
    found: list = []
    value = {"sla": lambda: stepflows.sla_of(form, base, found), "timeout": lambda: stepflows.timeout_of(form),
             "sign": lambda: stepflows.sign_of(form, doc, base, found)}[section]()
    if found:
        raise docs.DocumentError(found)
    return with_flows(doc, index, step, {section: value}), Sel("step", step["key"])


def section_form(doc: dict, step: dict, posted, section: str | None) -> stepflows.FlowsForm:
    """The step page's flow form filled from the step, with ``section``'s inputs as posted (when given)."""
    form = stepflows.FlowsForm(data=stepflows.initial(step), prefix=stepflows.PREFIX)
    for name in SECTIONS.get(section or "", ()):
        form[name].process(posted)
    stepflows.set_choices(form, doc, step)
    return form


@op("move_step")
def move_step(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    key = ctx.text("key")
    the_step(doc, key)
    return editing.move_step(doc, key, -1 if ctx.text("delta") == "-1" else 1), Sel("step", key)


@op("remove_step")
def remove_step(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """The step goes; transitions into it now lead where its first transition led (End when none).

    The inverse of "+ Step": S → X → End without X is S → End. A timeout or escalation naming it
    is left for the checks to report, as a removed field's conditions are.
    """
    index, step = the_step(doc, ctx.text("key"))
    onward = next((t.get("to") for t in step.get("transitions", []) if t.get("to") != step["key"]), END)
    out = editing.remove_step(doc, step["key"])
    for other in out["steps"]:
        for transition in other.get("transitions", []):
            if transition.get("to") == step["key"]:
                transition["to"] = onward
    keys = [s["key"] for s in out["steps"]]
    ctx.step = ctx.step if ctx.step in keys else keys[max(index - 1, 0)]
    return out, Sel("step", keys[max(index - 1, 0)])


# -- transitions ----------------------------------------------------------------------------------

def _targets(doc: dict) -> dict[str, str]:
    return {**{s["key"]: s.get("name") or s["key"] for s in doc["steps"]}, END: gettext("End")}


@op("add_transition")
def add_transition(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """An arrow from the step to ``to``, labelled after its target; selected with its label ready to type over."""
    index, step = the_step(doc, ctx.text("key"))
    to, targets = ctx.text("to"), _targets(doc)
    if to not in targets:
        raise EditError(["steps", index, "transitions", "-", "to"], N_("no step '%(key)s'"), key=to)
    label = gettext("Done") if to == END else gettext("To %(step)s", step=targets[to])
    transitions = [*step.get("transitions", []), {"to": to, "label": label}]
    return _with_step(doc, index, {**step, "transitions": transitions}), \
        Sel("transition", step["key"], len(transitions) - 1)


@op("update_transition")
def update_transition(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """Label, target and guard (field, operator and value pickers; raw JSON kept when they cannot express it)."""
    index, step, n = _transition(doc, ctx)
    path = ["steps", index, "transitions", n]
    label, to = ctx.text("label"), ctx.text("to")
    if not label:
        raise EditError(path + ["label"], N_("the button needs a label"))
    if to not in _targets(doc):
        raise EditError(path + ["to"], N_("no step '%(key)s'"), key=to)
    old = step["transitions"][n]
    new = {**old, "to": to, "label": label}
    when = _guard(doc, ctx, path + ["when"])
    new = {k: v for k, v in {**new, "when": when}.items() if v is not None}
    return _with_transition(doc, index, step, n, _ordered(old, new)), Sel("transition", step["key"], n)


def _guard(doc: dict, ctx: Ctx, path: list) -> dict | None:
    """The ``when`` of the posted pickers (several values of "is one of" joined as the picker's text)."""
    field, op_name = ctx.text("guard_field"), ctx.text("guard_op") or "eq"
    if field and field not in doc["schema"]["properties"]:
        raise EditError(path, N_("no such field"))
    if op_name not in conditions.OPERATORS:
        raise EditError(path, N_("not an operator"))
    value = ",".join(v.strip() for v in ctx.form.getlist("guard_value") if v.strip())
    try:
        return picked_when(doc, field, op_name, value, ctx.text("when_json"))
    except json.JSONDecodeError as error:
        raise EditError(path, N_("Not valid JSON: %(error)s"), error=error.msg) from None
    except strictjson.NotStandardJSON as error:
        raise EditError(path, error.msg.msgid, **error.msg.params) from None
    except ValueError as error:
        raise EditError(path, N_("The condition's value: %(detail)s"), detail=gettext(str(error))) from None


def _with_transition(doc: dict, index: int, step: dict, n: int, transition: dict | None) -> dict:
    transitions = [t for i, t in enumerate(step["transitions"]) if i != n or transition is not None]
    if transition is not None:
        transitions[n] = transition
    return _with_step(doc, index, {**step, "transitions": transitions})


@op("clear_guard")
def clear_guard(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    index, step, n = _transition(doc, ctx)
    transition = {k: v for k, v in step["transitions"][n].items() if k != "when"}
    return _with_transition(doc, index, step, n, transition), Sel("transition", step["key"], n)


@op("remove_transition")
def remove_transition(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    index, step, n = _transition(doc, ctx)
    return _with_transition(doc, index, step, n, None), Sel("step", step["key"])


# -- child tickets ----------------------------------------------------------------------------------

@op("add_spawn")
def add_spawn(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    """A button of the step that opens a child ticket of another process (format 2 ``spawn``).

    The field mapping (child field <- parent field) stays on the step page; check 11 says whether the
    process exists, as on every path.
    """
    index, step = the_step(doc, ctx.text("key"))
    code, label = ctx.text("process"), ctx.text("label")
    if not code:
        raise EditError(["steps", index, "spawn", "process"], N_("choose the child ticket's process"))
    child = {"process": code, "label": label or gettext("Open a child ticket")}
    if ctx.form.get("wait") == "1":
        child["wait"] = True
    return with_flows(doc, index, step, {"spawn": [*(step.get("spawn") or []), child]}), Sel("step", step["key"])


@op("remove_spawn")
def remove_spawn(doc: dict, ctx: Ctx) -> tuple[dict, Sel]:
    index, step = the_step(doc, ctx.text("key"))
    children = list(step.get("spawn") or [])
    at = int(ctx.text("index")) if ctx.text("index").isdigit() else -1
    if not 0 <= at < len(children):
        raise EditError(["steps", index, "spawn", ctx.text("index")], N_("no such child ticket"))
    del children[at]
    return with_flows(doc, index, step, {"spawn": children or None}), Sel("step", step["key"])
