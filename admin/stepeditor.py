"""The visual editor's steps (assignee, transitions built from pickers, switches, SLA) and field matrix.

Transitions and conditional cells are edited as (field, operator, value)
pickers that ``formbuilder.conditions`` turns into JSON Schema; a condition the
pickers cannot express is shown and kept as raw JSON.
"""

from __future__ import annotations

import json

from flask import abort, request, url_for
from flask_admin import expose
from flask_babel import gettext

from formbuilder import conditions, editing, fieldkinds, strictjson
from formbuilder.editing import EditError
from formbuilder.fieldtypes import options_schema
from workflows.people.org import ROLES
from workflows.processes import documents as docs
from workflows.storage.models import Department, User

from . import stepflows
from .editforms import StepForm, options
from .editor import Stale, change, draft_of, ordering, revision
from .matrix import cells_from_form, cells_of, condition_from, picked_when


class StepsMixin:
    """Mixed into the processes view next to :class:`admin.editor.EditorMixin`."""

    @expose("/<code>/add-step", methods=("POST",))
    def add_step(self, code: str):
        key, name = (request.form.get(n, "").strip() for n in ("key", "name"))
        try:
            if not name:
                raise EditError(["steps", "-", "name"], gettext("The step needs a name."))
            problems = change(code, "process.edit", lambda d: editing.add_step(d, key, name, gettext("Done")))
        except (Stale, docs.DocumentError, EditError) as error:
            return self._refused(code, lambda p: self._editor_page(code, p), error)
        return self._done(code, problems, gettext("Step added. Set who handles it and where it leads."),
                          ".edit_step", key=key)

    @expose("/<code>/steps/<key>/<move>", methods=("POST",))
    def step_action(self, code: str, key: str, move: str):
        message = gettext("Step removed.") if move == "delete" else gettext("Steps reordered.")
        return self._arrange(code, move, ordering(key, editing.move_step, editing.remove_step), message)

    @expose("/<code>/steps/<key>", methods=("GET", "POST"))
    def edit_step(self, code: str, key: str):
        _, doc = draft_of(code)
        index = next((i for i, s in enumerate(doc["steps"]) if s.get("key") == key), None)
        if index is None:
            abort(404)
        step = doc["steps"][index]
        form = StepForm(request.form) if request.method == "POST" else StepForm(data=_step_data(doc, step))
        _step_choices(form, doc, len(step.get("transitions", [])) + 1 if request.method == "GET" else 0)
        if request.method == "POST":
            try:
                flows = stepflows.posted(doc, index) if doc.get("format", 1) >= 2 else None
                if flows is not None:
                    stepflows.fill_assignee(form)
                settings, found = self._step_settings(form, doc, index), stepflows.known() if flows else None
                problems = change(code, "process.edit", lambda d: _updated(d, key, settings, flows, found))
                return self._done(code, problems, gettext("Step saved."), ".edit_step", key=key)
            except (Stale, docs.DocumentError, EditError) as error:
                return self._refused(code, lambda p: self._render_step(code, doc, step, form, p), error)
        return self._render_step(code, doc, step, form)

    def _render_step(self, code: str, doc: dict, step: dict, form: StepForm, problems: list | None = None):
        return self.render("admin/editor_step.html", code=code, doc=doc, step=step, form=form, rev=revision(doc),
                           problems=problems or [], candidates=_candidates(),
                           options=field_options(doc), operators=conditions.OPERATORS,
                           **stepflows.context(doc, step, problems or []))

    @staticmethod
    def _step_settings(form: StepForm, doc: dict, index: int) -> dict:
        """The step's new settings; EditError names the first wrong input."""
        base = ["steps", index]
        if not form.validate():
            name, errors = next((n, e) for n, e in form.errors.items())
            raise EditError(base + [name], "%(detail)s", detail=json.dumps(errors, ensure_ascii=False))
        return {"name": form.name.data.strip(), "assignee": _assignee(form, base),
                "transitions": _transitions(form, doc, base), "allow_return": form.allow_return.data,
                "allow_transfer": form.allow_transfer.data,
                "sla": {"minutes": form.sla_minutes.data} if form.sla_minutes.data else None}

    @expose("/<code>/matrix", methods=("GET", "POST"))
    def matrix(self, code: str):
        _, doc = draft_of(code)
        cells = cells_of(doc)
        if request.method == "POST":
            cells, built, errors = cells_from_form(doc, request.form)
            try:
                if errors:
                    raise docs.DocumentError(errors)
                problems = change(code, "process.edit", lambda d: editing.set_cells(d, built))
                return self._done(code, problems, gettext("Field matrix saved."), ".matrix")
            except (Stale, docs.DocumentError, EditError) as error:
                return self._refused(code, lambda p: self._render_matrix(code, doc, cells, p), error)
        return self._render_matrix(code, doc, cells)

    def _render_matrix(self, code: str, doc: dict, cells: dict, problems: list | None = None):
        return self.render("admin/editor_matrix.html", code=code, doc=doc, cells=cells, rev=revision(doc),
                           problems=problems or [], options=field_options(doc), operators=conditions.OPERATORS,
                           modes=editing.MODES, json_url=url_for(".json_view", code=code))


def _updated(doc: dict, key: str, settings: dict, flows: dict | None, found) -> dict:
    """The step's settings, and at format 2 its flow keys (``admin.stepflows``), in one edit."""
    updated = editing.update_step(doc, key, settings)
    return updated if flows is None else stepflows.apply(doc, updated, key, flows, found)


def _step_data(doc: dict, step: dict) -> dict:
    assignee = step.get("assignee", {})
    rows = [_transition_row(doc, t) for t in step.get("transitions", [])]
    by_field = assignee.get("type") == "field"
    several = isinstance(assignee.get("value"), list)  # shown in the format-2 section's list
    return {"name": step.get("name"), "assignee_type": assignee.get("type"),
            "assignee_value": None if by_field or several else assignee.get("value"),
            "assignee_field": assignee.get("value") if by_field else "",
            "pick": assignee.get("pick", ""), "allow_return": step.get("allow_return", False),
            "allow_transfer": step.get("allow_transfer", False),
            "sla_minutes": step.get("sla", {}).get("minutes"), "transitions": rows}


def _transition_row(doc: dict, transition: dict) -> dict:
    row = {"to": transition.get("to"), "caption": transition.get("label"), "field": "", "op": "eq", "value": ""}
    row.update(condition_from(doc, transition.get("when")))
    return row


def _step_choices(form: StepForm, doc: dict, rows: int) -> None:
    while len(form.transitions) < rows:
        form.transitions.append_entry()
    targets = [(s["key"], f"{s.get('name', s['key'])} ({s['key']})") for s in doc["steps"]]
    fields = [("", gettext("— always —"))] + [(n, s.get("title") or n) for n, s in
                                                 doc["schema"]["properties"].items()]
    form.assignee_field.choices = options([("", "—"), *people_fields(doc)])
    for entry in form.transitions:
        entry.to.choices = options([("", "—"), *targets, ("$end", gettext("End (close the ticket)"))])
        entry.field.choices = options(fields)


def people_fields(doc: dict) -> list[tuple[str, str]]:
    """The fields a step may be handed by (``assignee.type: "field"``): single members and departments."""
    return [(name, f"{schema.get('title') or name} ({name})") for name, schema in doc["schema"]["properties"].items()
            if fieldkinds.kind_of(schema) in ("user", "department")]


def _assignee(form: StepForm, base: list) -> dict:
    kind, value, pick = form.assignee_type.data, (form.assignee_value.data or "").strip(), form.pick.data
    path = base + ["assignee", "value"]
    if kind == "field":
        return _field_assignee(form, path, pick)
    if kind in ("user", "role", "department") and not value:
        raise EditError(path, gettext("Say which %(kind)s handles this step.", kind=kind))
    if value and not _exists(kind, value):
        raise EditError(path, gettext("No %(kind)s '%(value)s'.", kind=kind, value=value))
    assignee = {"type": kind}
    if value and kind in ("user", "role", "department", "choose"):
        assignee["value"] = value
    if pick and kind in ("role", "department"):
        assignee["pick"] = pick
    return assignee


def _field_assignee(form: StepForm, path: list, pick: str) -> dict:
    """The user a member field holds, or one of the department a department field holds, picked by ``pick``."""
    if not form.assignee_field.data:
        raise EditError(path, gettext("Choose the member or department field that says who handles this step."))
    if form.assignee_field.data not in {choice.value for choice in form.assignee_field.choices}:
        raise EditError(path, gettext("No member or department field '%(value)s'.", value=form.assignee_field.data))
    return {"type": "field", "value": form.assignee_field.data, **({"pick": pick} if pick else {})}


def _exists(kind: str, value: str) -> bool:
    if kind == "user":
        return User.select().where(User.username == value).exists()
    if kind == "department":
        return Department.select().where(Department.code == value).exists()
    if kind == "role":
        return value in ROLES
    return kind != "choose" or value in ROLES or Department.select().where(Department.code == value).exists()


def _transitions(form: StepForm, doc: dict, base: list) -> list[dict]:
    out = []
    for index, entry in enumerate(form.transitions):
        row = entry.data
        if row["remove"] or not (row["to"] or row["caption"]):
            continue
        path = base + ["transitions", len(out)]
        if not row["to"] or not (row["caption"] or "").strip():
            raise EditError(path, gettext("Row %(row)d: choose the next step and give the button a label.",
                                          row=index + 1))
        transition = {"to": row["to"], "label": row["caption"].strip()}
        when = _when(doc, row, path + ["when"])
        if when is not None:
            transition["when"] = when
        out.append(transition)
    return out


def _when(doc: dict, row: dict, path: list) -> dict | None:
    try:
        return picked_when(doc, row["field"], row["op"], row["value"], row["when_json"])
    except json.JSONDecodeError as error:
        raise EditError(path, gettext("Not valid JSON: %(error)s", error=error.msg)) from None
    except strictjson.NotStandardJSON as error:
        raise EditError(path, error.msg.render(gettext)) from None
    except ValueError as error:
        raise EditError(path, gettext("The condition's value: %(detail)s", detail=gettext(str(error)))) from None


def _candidates() -> dict[str, list[tuple[str, str]]]:
    """What the assignee value may name, for the picker's suggestions."""
    return {"user": list(User.select(User.username, User.name).where(User.active).order_by(User.username).tuples()),
            "role": [(role, role) for role in ROLES],
            "department": list(Department.select(Department.code, Department.name).order_by(Department.code).tuples())}


def field_options(doc: dict) -> dict[str, list[str]]:
    """Each field's option labels, suggested in the condition's value box."""
    return {name: [o.get("title") or o["const"] for o in options_schema(schema).get("oneOf", [])]
            for name, schema in doc["schema"]["properties"].items()}
