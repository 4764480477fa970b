"""The step editor's format-2 flow section: countersign, candidates, SLA, timeout, waiting, transfer, children.

Shown for format-2 drafts only (a format-1 draft keeps the step page it had). The form
collects text; :func:`posted` turns it into the keys as the document holds them (input
that is not a number is refused here, at its path), and :func:`apply` writes them through
``formbuilder.editing_flows`` inside the step's one draft edit, so the step's settings and
its flow keys are saved together or not at all.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from formbuilder import editing_flows as flows_edit
from formbuilder.editing_flows import PRIORITIES, FlowError, Known, option_values, typed_pass
from formbuilder.messages import N_, Msg, Problem, pointer
from workflows.calendars import store as calendars
from workflows.people.org import ROLES
from workflows.processes import documents as docs
from workflows.storage.models import Department, Process, ProcessVersion, User

from .editforms import options
from .org import ROLE_CHOICES

PREFIX = "flow"
SIGN_MODES = options([("", _l("No countersign")), ("all", _l("All must pass (会签)")),
                      ("any", _l("One pass is enough (或签)")), ("ratio", _l("A share of signers must pass"))])
SIGNER_TYPES = options([("role", _l("Roles")), ("department", _l("Departments")), ("user", _l("A user")),
                        ("field", _l("The members or department a field holds"))])
TRANSFERS = options([("no", _l("No")), ("within", _l("Within the step's candidates")),
                     ("anyone", _l("To anyone who handles tickets"))])
#: each input's place in the step, where its problems are reported and shown
PATHS = {"assignee_values": ["assignee", "value"], "sign_mode": ["sign", "mode"], "sign_ratio": ["sign", "ratio"],
         "sign_of_type": ["sign", "of", "type"], "sign_of_value": ["sign", "of", "value"],
         "sign_decision": ["sign", "decision"], "sign_pass": ["sign", "pass"], "sla_minutes": ["sla", "minutes"],
         **{f"sla_{p}": ["sla", "minutes", p] for p in PRIORITIES}, "sla_calendar": ["sla", "calendar"],
         "sla_warn": ["sla", "warn"], "sla_escalate": ["sla", "escalate"], "timeout_minutes": ["timeout", "minutes"],
         "timeout_to": ["timeout", "to"], "timeout_label": ["timeout", "label"],
         "timeout_calendar": ["timeout", "calendar"], "allow_transfer": ["allow_transfer"]}


def _boxes(label):
    return SelectMultipleField(label, choices=[], validate_choice=False, widget=ListWidget(prefix_label=False),
                               option_widget=CheckboxInput())


class MapRow(Form):
    child = StringField(_l("Child's field"))
    parent = SelectField(_l("From this ticket's field"), choices=[], validate_choice=False)


class SpawnForm(Form):
    code = SelectField(_l("Process of the child ticket"), choices=[], validate_choice=False)  # "process": Form's
    caption = StringField(_l("Button label"))
    wait = BooleanField(_l("This step waits until its children are closed"))
    remove = BooleanField(_l("Remove"))
    map = FieldList(FormField(MapRow), min_entries=1)


class FlowsForm(Form):
    assignee_values = SelectMultipleField(_l("Several departments or roles together"), choices=[],
                                          validate_choice=False, render_kw={"size": 5})
    sign_mode = SelectField(_l("Countersign"), choices=SIGN_MODES)
    sign_ratio = StringField(_l("Share that must pass (above 0, at most 1, e.g. 0.6)"))
    sign_of_type = SelectField(_l("Signers"), choices=SIGNER_TYPES)
    sign_of_roles = _boxes(_l("Signers' roles"))
    sign_of_departments = SelectMultipleField(_l("Signers' departments, with their sub-departments"), choices=[],
                                              validate_choice=False, render_kw={"size": 5})
    sign_of_user = SelectField(_l("Signing user"), choices=[], validate_choice=False)
    sign_of_field = SelectField(_l("Signers' field"), choices=[], validate_choice=False)
    sign_decision = SelectField(_l("Field holding each signer's decision"), choices=[], validate_choice=False)
    sign_pass = StringField(_l("Decision that passes"))
    sla_minutes = IntegerField(_l("Time limit (minutes), every priority"), [Optional()], render_kw={"min": 1})
    sla_urgent = IntegerField(_l("Urgent"), [Optional()], render_kw={"min": 1})
    sla_high = IntegerField(_l("High"), [Optional()], render_kw={"min": 1})
    sla_normal = IntegerField(_l("Normal"), [Optional()], render_kw={"min": 1})
    sla_low = IntegerField(_l("Low"), [Optional()], render_kw={"min": 1})
    sla_calendar = SelectField(_l("Count working time of the calendar"), choices=[], validate_choice=False)
    sla_warn = StringField(_l("Warn the handler at this percentage of the time used"))
    sla_escalate = SelectField(_l("When the time is exceeded"), choices=[], validate_choice=False)
    timeout_minutes = IntegerField(_l("Timeout after (minutes, waiting included)"), [Optional()], render_kw={"min": 1})
    timeout_to = SelectField(_l("Then move the ticket to"), choices=[], validate_choice=False)
    timeout_label = StringField(_l("Timeout's label (recorded in the history)"))
    timeout_calendar = SelectField(_l("Count working time of the calendar"), choices=[], validate_choice=False)
    allow_wait = BooleanField(_l("The handler may set the ticket pending (等待/挂起)"))
    allow_transfer = SelectField(_l("Can be transferred (转交)"), choices=TRANSFERS)
    spawn = FieldList(FormField(SpawnForm), min_entries=1)


# -- reading the page ----------------------------------------------------------------------------

def form_for(doc: dict, step: dict) -> FlowsForm:
    """The section's form: what was posted, else the step's keys, with an empty row to add with."""
    if request.method == "POST":
        form = FlowsForm(request.form, prefix=PREFIX)
    else:
        form = FlowsForm(data=initial(step), prefix=PREFIX)
        form.spawn.append_entry()
    for entry in form.spawn:
        if request.method == "GET" or not entry.map.entries:
            entry.map.append_entry()
    set_choices(form, doc, step)
    return form


def initial(step: dict) -> dict:
    """The form's values from the step (the inverse of :func:`posted`)."""
    assignee, sign, sla, timeout = (step.get(k) or {} for k in ("assignee", "sign", "sla", "timeout"))
    value, minutes, of = assignee.get("value"), sla.get("minutes"), sign.get("of") or {}
    of_values = of.get("value") if isinstance(of.get("value"), list) else [of.get("value")]
    transfer = step.get("allow_transfer")
    return {"assignee_values": (value if isinstance(value, list) else [value]) if assignee.get("type") in (
                "role", "department") and value else [],
            "sign_mode": sign.get("mode", ""), "sign_ratio": _text(sign.get("ratio")),
            "sign_of_type": of.get("type", "role"), "sign_of_roles": of_values if of.get("type") == "role" else [],
            "sign_of_departments": of_values if of.get("type") == "department" else [],
            "sign_of_user": of.get("value") if of.get("type") == "user" else "",
            "sign_of_field": of.get("value") if of.get("type") == "field" else "",
            "sign_decision": sign.get("decision", ""), "sign_pass": _text(sign.get("pass")),
            "sla_minutes": minutes if isinstance(minutes, int) else None,
            **{f"sla_{p}": minutes.get(p) for p in PRIORITIES if isinstance(minutes, dict)},
            "sla_calendar": sla.get("calendar", ""), "sla_warn": _text(_percent(sla.get("warn"))),
            "sla_escalate": _escalation(sla.get("escalate")), "timeout_minutes": timeout.get("minutes"),
            "timeout_to": timeout.get("to", ""), "timeout_label": timeout.get("label", ""),
            "timeout_calendar": timeout.get("calendar", ""), "allow_wait": bool(step.get("allow_wait")),
            "allow_transfer": "anyone" if transfer == "anyone" else "within" if transfer else "no",
            "spawn": [{"code": s.get("process"), "caption": s.get("label"), "wait": bool(s.get("wait")),
                       "map": [{"child": c, "parent": p} for c, p in (s.get("map") or {}).items()]}
                      for s in step.get("spawn") or []]}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _percent(warn) -> float | None:
    return round(warn * 100, 4) if isinstance(warn, int | float) and not isinstance(warn, bool) else None


def _escalation(escalate) -> str:
    if not isinstance(escalate, dict):
        return ""
    return "manager" if escalate.get("notify") == "manager" else f"to:{escalate.get('to', '')}"


def set_choices(form: FlowsForm, doc: dict, step: dict) -> None:
    fields = doc["schema"]["properties"]
    steps = [(s["key"], f"{s.get('name', s['key'])} ({s['key']})") for s in doc["steps"]]
    departments = list(Department.select(Department.code, Department.name).order_by(Department.code).tuples())
    cal = [("", "—"), *((c, c) for c in sorted(calendars.codes()))]
    form.assignee_values.choices = options([*((r, f"{r} ({gettext('role')})") for r in ROLES),
                                            *((c, f"{n} ({c})") for c, n in departments)])
    form.sign_of_roles.choices, form.sign_of_departments.choices = list(ROLE_CHOICES), options(
        (c, f"{n} ({c})") for c, n in departments)
    form.sign_of_user.choices = options([("", "—"), *User.select(User.username, User.name).where(
        User.active).order_by(User.username).tuples()])
    form.sign_of_field.choices = options([("", "—"), *((n, f"{s.get('title') or n} ({n})") for n, s in fields.items()
                                                       if s.get("x-widget") in ("user", "department") or (
                                                           s.get("items") or {}).get("x-widget") == "user")])
    form.sign_decision.choices = options([("", "—"), *((n, f"{fields[n].get('title') or n} ({n})")
                                                       for n in step.get("fields", {}) if n in fields)])
    form.sla_calendar.choices = form.timeout_calendar.choices = options(cal)
    form.sla_escalate.choices = options([("", gettext("Nothing more (the ticket is shown overdue)")),
                                         ("manager", gettext("Notify the handler's manager")),
                                         *((f"to:{k}", gettext("Move to the step %(step)s", step=n))
                                           for k, n in steps if k != step["key"])])
    form.timeout_to.choices = options([("", "—"), *steps, ("$end", gettext("End (close the ticket)"))])
    processes = options(Process.select(Process.code, Process.name).order_by(Process.code).tuples())
    for entry in form.spawn:
        entry.code.choices = options([("", "—"), *((p.value, f"{p.label} ({p.value})") for p in processes)])
        for row in entry.map:
            row.parent.choices = options([("", "—"), *((n, f"{s.get('title') or n} ({n})")
                                                       for n, s in fields.items())])


def posted(doc: dict, index: int) -> dict:
    """The flow keys the posted section sets, as the document holds them; DocumentError lists what is not readable."""
    form = FlowsForm(request.form, prefix=PREFIX)
    base, found = ["steps", index], []
    form.validate()
    for name, errors in form.errors.items():
        if name in PATHS:
            found += [Problem(pointer(base + PATHS[name]), Msg("%(detail)s", {"detail": str(e)})) for e in errors]
    step = doc["steps"][index]
    flows = {"assignee_value": _assignee_value(form, step), "sign": sign_of(form, doc, base, found),
             "sla": sla_of(form, base, found), "timeout": timeout_of(form),
             "allow_wait": form.allow_wait.data, "spawn": _spawn(form) or None,
             "allow_transfer": {"within": True, "anyone": "anyone"}.get(form.allow_transfer.data, False)}
    if found:
        raise docs.DocumentError(found)
    return flows


def _assignee_value(form: FlowsForm, step: dict):
    """Several roles or departments: the list; one stays a string (as format 1) unless it was a list."""
    chosen = [v for v in form.assignee_values.data or [] if v]
    if not chosen or request.form.get("assignee_type") not in ("role", "department"):
        return None
    old = (step.get("assignee") or {}).get("value")
    return in_order(chosen, old) if len(chosen) > 1 or isinstance(old, list) else chosen[0]


def in_order(chosen: list, old) -> list:
    """The chosen values, those already listed in their old order first (the page lists them by code)."""
    old = old if isinstance(old, list) else [old]
    return [v for v in old if v in chosen] + [v for v in chosen if v not in old]


def fill_assignee(form) -> None:
    """The step form's one value from the several chosen, so its own check passes; :func:`apply` writes the list."""
    chosen = [v for v in request.form.getlist(f"{PREFIX}-assignee_values") if v]
    if chosen and form.assignee_type.data in ("role", "department"):
        form.assignee_value.data = chosen[0]


def sign_of(form: FlowsForm, doc: dict, base: list, found: list) -> dict | None:
    if not form.sign_mode.data:
        return None
    sign = {"mode": form.sign_mode.data}
    ratio = _float(form.sign_ratio.data, base + ["sign", "ratio"], found)
    if ratio is not None:
        sign["ratio"] = int(ratio) if ratio == 1 else ratio
    kind = form.sign_of_type.data
    value = {"role": form.sign_of_roles.data, "department": form.sign_of_departments.data,
             "user": form.sign_of_user.data, "field": form.sign_of_field.data}.get(kind)
    if isinstance(value, list):
        value = in_order([v for v in value if v], _old_signers(doc, base, kind))
        value = value[0] if len(value) == 1 and not isinstance(_old_signers(doc, base, kind), list) else value
    sign["of"] = {"type": kind, "value": value or None}
    schema = doc["schema"]["properties"].get(form.sign_decision.data)
    sign.update({"decision": form.sign_decision.data,
                 "pass": typed_pass(schema, (form.sign_pass.data or "").strip())})
    return sign


def _old_signers(doc: dict, base: list, kind: str):
    """The step's signers of that kind before: their order is kept, and a list of one stays a list."""
    of = (doc["steps"][base[1]].get("sign") or {}).get("of") or {}
    return of.get("value") if of.get("type") == kind else None


def _float(text: str | None, path: list, found: list) -> float | None:
    text = (text or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        found.append(Problem(pointer(path), Msg(N_("not a number: %(value)s"), {"value": text})))
        return None


def sla_of(form: FlowsForm, base: list, found: list) -> dict | None:
    per = {p: getattr(form, f"sla_{p}").data for p in PRIORITIES if getattr(form, f"sla_{p}").data is not None}
    warn = _float(form.sla_warn.data, base + ["sla", "warn"], found)
    rest = {"calendar": form.sla_calendar.data or None, "warn": None if warn is None else round(warn / 100, 6),
            "escalate": _escalate(form.sla_escalate.data)}
    if per and form.sla_minutes.data is not None:
        found.append(Problem(pointer(base + ["sla", "minutes"]),
                             Msg(N_("give one time limit for every priority, or one per priority, not both"))))
    minutes = per or form.sla_minutes.data
    if minutes is None and not any(v is not None for v in rest.values()):
        return None
    return {"minutes": minutes, **{k: v for k, v in rest.items() if v is not None}}


def _escalate(value: str | None) -> dict | None:
    if not value:
        return None
    return {"notify": "manager"} if value == "manager" else {"to": value.removeprefix("to:")}


def timeout_of(form: FlowsForm) -> dict | None:
    timeout = {"minutes": form.timeout_minutes.data, "to": form.timeout_to.data or None,
               "label": (form.timeout_label.data or "").strip() or None,
               "calendar": form.timeout_calendar.data or None}
    if all(v is None for v in timeout.values()):
        return None
    return {k: v for k, v in timeout.items() if v is not None or k in ("minutes", "to")}


def _spawn(form: FlowsForm) -> list[dict]:
    out = []
    for entry in form.spawn:
        data = entry.data
        if data["remove"] or not (data["code"] or (data["caption"] or "").strip()):
            continue
        child = {"process": data["code"], "label": (data["caption"] or "").strip()}
        mapping = {r["child"].strip(): r["parent"] for r in data["map"] if (r["child"] or "").strip() or r["parent"]}
        if mapping:
            child["map"] = mapping
        if data["wait"]:
            child["wait"] = True
        out.append(child)
    return out


# -- writing --------------------------------------------------------------------------------------

def known() -> Known:
    """The calendars, processes (with the fields of their draft and latest version), and who exists."""
    fields: dict[str, set] = {}
    for code, draft in Process.select(Process.code, Process.draft).tuples():
        fields.setdefault(code, set()).update(((draft or {}).get("schema") or {}).get("properties", {}))
    latest = (ProcessVersion.select(Process.code, ProcessVersion.document).join(Process)
              .where(ProcessVersion.number == Process.latest_version).tuples())
    for code, document in latest:
        fields.setdefault(code, set()).update((document.get("schema") or {}).get("properties", {}))
    return Known(calendars=frozenset(calendars.codes()),
                 processes={code: frozenset(keys) for code, keys in fields.items()}, exists=_exists)


def _exists(kind: str, value: str) -> bool:
    if kind == "role":
        return value in ROLES
    if kind == "department":
        return Department.select().where(Department.code == value).exists()
    return User.select().where(User.username == value).exists()


def apply(before: dict, updated: dict, key: str, flows: dict, found: Known) -> dict:
    """``updated`` (the step's other settings already written) with the flow keys; DocumentError when refused."""
    try:
        return flows_edit.kept_order(before, flows_edit.set_flows(updated, key, flows, found), key)
    except FlowError as error:
        raise docs.DocumentError(error.problems) from None


def errors_at(problems: list[dict], index: int) -> dict[str, list[str]]:
    """The refused change's problems by the input they belong to (a spawn entry's by ``spawn-N``)."""
    by_path = {pointer(["steps", index, *path]): name for name, path in PATHS.items()}
    out: dict[str, list[str]] = {}
    spawn = pointer(["steps", index, "spawn"]) + "/"
    for problem in problems:
        path = problem["path"]
        name = by_path.get(path) or by_path.get(path.rsplit("/", 1)[0] if "/escalate/" in path else "")
        if name is None and path.startswith(spawn):
            name = "spawn-" + path[len(spawn):].split("/")[0]
        if name is not None:
            out.setdefault(name, []).append(problem["text"].split(": ", 1)[-1])
    return out


def context(doc: dict, step: dict, problems: list[dict]) -> dict:
    """What ``_step_flows.html`` needs; empty for a format-1 draft (it has no such section)."""
    if doc.get("format", 1) < 2:
        return {}
    index = next(i for i, s in enumerate(doc["steps"]) if s.get("key") == step.get("key"))
    fields = doc["schema"]["properties"]
    decisions = {n: [str(_text(v)) for v in option_values(fields[n])] for n in step.get("fields", {}) if n in fields}
    return {"flows": form_for(doc, step), "flow_errors": errors_at(problems, index), "decisions": decisions,
            "child_fields": {code: sorted(keys) for code, keys in known().processes.items()}}
